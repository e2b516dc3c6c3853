"""The fund directory over the ledger's gRPC ``GetFund``, as the voucher service's own identity.

A fund is never closed or deleted, so a fund once known is remembered for the life of the
process and the ledger is asked once per fund, not once per voucher. A fund not (yet) known is
asked about again next time: finance may have opened it meanwhile.
"""

from __future__ import annotations

import logging

import grpc

from skillpay.auth import Identity, authenticated_channel
from skillpay.errors import Unavailable
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc

log = logging.getLogger(__name__)

# The ledger answers these when the code is not a fund it has (or could have).
_UNKNOWN = frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT})


class LedgerFundDirectory:
    def __init__(self, target: str, identity: Identity, timeout_s: float = 3.0):
        self._target = target
        self._identity = identity
        self._timeout = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._known: set[str] = set()

    def _stub(self) -> ledger_pb2_grpc.LedgerServiceStub:
        if self._channel is None:  # made on first use, inside the running event loop
            self._channel = authenticated_channel(self._target, self._identity)
        return ledger_pb2_grpc.LedgerServiceStub(self._channel)

    async def is_known(self, fund_code: str) -> bool:
        if fund_code in self._known:
            return True
        try:
            await self._stub().GetFund(ledger_pb2.GetFundRequest(fund_code=fund_code), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _UNKNOWN:
                return False
            # Unreachable, slow, or refusing us (a deployment without the signing key): the
            # question is unanswered, not answered "no"; the caller may retry.
            log.warning("the ledger at %s could not be asked about a fund: %s", self._target, exc.code().name)
            raise Unavailable("the ledger cannot be reached to check fund_source; try again") from None
        self._known.add(fund_code)
        return True

    async def aclose(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

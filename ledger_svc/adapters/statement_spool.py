"""Statement files on their way in (issue 8, reconciliation): spooled to a temporary file.

An uploaded statement (ReconcileStatement's chunks) or the bank's statement file (fetched through
the payment adapter's ``statement_file``) may be hundreds of megabytes: it is written to a
temporary file as it arrives, its size and SHA-256 counted on the way, and read back by the
statement readers from the path, streaming. Memory stays flat; the file is deleted when the
reconciliation is done (or refused).

A file larger than the bound is refused with INVALID_ARGUMENT once its end has arrived: the rest of
an upload is read and dropped, not written, so the client learns the reason rather than a broken
stream (see skillpay.grpc_server._first_message).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from datetime import date
from pathlib import Path

from ledger_svc.service_layer.bank import BankUnavailable, PaymentAdapter, PaymentError
from ledger_svc.service_layer.commands import StatementFile
from ledger_svc.service_layer.reconciliation import MAX_STATEMENT_BYTES
from skillpay.errors import FieldViolation, InvalidArgument, Unavailable


class _Spool:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        fd, name = tempfile.mkstemp(prefix="skillpay-statement-", suffix=".part")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            if not self._file.closed:  # too large: what is left is counted, not kept
                self._file.close()
                self.path.unlink(missing_ok=True)
            return
        self._file.write(data)
        self._digest.update(data)

    def finish(self, field: str) -> StatementFile:
        self._file.close()
        if self.size > self.max_bytes:
            raise InvalidArgument([FieldViolation(field, f"the statement file must be at most {self.max_bytes} "
                                                         f"bytes; {self.size} arrived")])
        if self.size == 0:
            raise InvalidArgument([FieldViolation(field, "the statement file is empty")])
        return StatementFile(self.path, self.size, self._digest.hexdigest())

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def spooled(chunks: AsyncIterable[bytes], max_bytes: int = MAX_STATEMENT_BYTES,
                  field: str = "chunk") -> AsyncIterator[StatementFile]:
    """The chunks as a file on disk, deleted on leaving; INVALID_ARGUMENT naming ``field`` when the
    whole is empty or larger than ``max_bytes`` (every chunk is still read)."""
    spool = _Spool(max_bytes)
    try:
        async for chunk in chunks:
            spool.write(chunk)
        yield spool.finish(field)
    finally:
        spool.discard()


@contextlib.asynccontextmanager
async def bank_statement(adapters: Mapping[str, PaymentAdapter], fund_code: str, day: date,
                         max_bytes: int = MAX_STATEMENT_BYTES) -> AsyncIterator[tuple[str, StatementFile]]:
    """The bank's statement file of ``day`` for ``fund_code`` (its CSV layout, which names each
    line's channel, C7) through the payment adapter, spooled: ("csv", file). The bank's statement
    covers every channel, so one adapter is asked. UNAVAILABLE when the bank cannot give it."""
    if not adapters:
        raise Unavailable("no payment adapter is configured to fetch the bank's statement")
    adapter = adapters[sorted(adapters)[0]]
    try:
        async with spooled(adapter.statement_file(day, "csv", fund_source=fund_code), max_bytes,
                           field="statement") as statement:
            yield "csv", statement
    except (BankUnavailable, PaymentError) as exc:
        # The adapter's messages name the day and the HTTP status only (never payees).
        raise Unavailable(f"the bank's statement could not be fetched: {exc}") from None

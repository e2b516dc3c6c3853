"""Payment adapters: how the ledger pays subsidies through the bank.

The bank (in development and tests: the ``bank_sim`` process, whose HTTP
protocol is documented in :mod:`bank_sim.app`) pays a person either to the
financial account of their social security card (channel ``ssc_card``) or by
bank transfer (channel ``bank_transfer``).  ``payment_id`` is the idempotency
key: submitting the same instruction again never pays twice.

Error model (all derive from :class:`PaymentError`):

- :class:`BankUnavailable`: nothing reached the bank (connection refused,
  connect/pool timeout), or a read-only call (query, statement) failed.  Safe
  to retry.
- :class:`PaymentInDoubt`: a submission may have reached the bank but no
  answer came back (timeout, connection dropped, 5xx, unreadable answer).  The
  outcome is unknown: the caller must :meth:`PaymentAdapter.query` the
  ``payment_id`` (and may resubmit the *identical* instruction only because
  the bank deduplicates on ``payment_id``), never issue a new payment id.
- :class:`PaymentRejected`: the bank refused the payment (HTTP 4xx); nothing
  was paid.  ``reason`` is the bank's error code (``payment_id_conflict``,
  ``invalid_request``, ...), ``violations`` the offending fields.

Resident ID numbers never appear in exception messages, reprs or logs (only
masked: first 6 + 8 asterisks + last 4).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from skillpay import tracing
from skillpay.pii import mask_resident_id

# The port these adapters implement, re-exported for their callers.
from ledger_svc.service_layer.bank import (  # noqa: F401
    CHANNEL_BANK_TRANSFER,
    CHANNEL_SSC_CARD,
    STATES,
    BankUnavailable,
    PaymentAdapter,
    PaymentError,
    PaymentInDoubt,
    PaymentInstruction,
    PaymentRejected,
    PaymentStatus,
    StatementLine,
    Violation,
)

log = logging.getLogger(__name__)



def _scrub(text: str, id_number: str | None) -> str:
    """Belt and braces: never let an ID number echoed by the bank into our messages."""
    if id_number and id_number in text:
        text = text.replace(id_number, mask_resident_id(id_number))
    return text


def _parse_instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("instant must be a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("instant without UTC offset")
    return moment.astimezone(UTC)


def _parse_status(data: Any) -> PaymentStatus:
    if not isinstance(data, dict):
        raise ValueError("payment record must be an object")
    state = data["status"]
    if state not in STATES:
        raise ValueError(f"unknown payment status {state!r}")
    settled_at = data.get("settled_at")
    failure_reason = data.get("failure_reason")
    return PaymentStatus(
        payment_id=str(data["payment_id"]),
        state=state,
        bank_ref=str(data["bank_ref"]),
        failure_reason=None if failure_reason is None else str(failure_reason),
        settled_at=None if settled_at is None else _parse_instant(settled_at),
    )


def _parse_line(data: Any) -> StatementLine:
    if not isinstance(data, dict):
        raise ValueError("statement entry must be an object")
    amount = data["amount_fen"]
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError("amount_fen must be an integer")
    return StatementLine(
        payment_id=str(data["payment_id"]),
        bank_ref=str(data["bank_ref"]),
        channel=str(data["channel"]),
        amount_fen=amount,
        fund_source=str(data["fund_source"]),
        state=str(data["status"]),
        settled_at=_parse_instant(data["settled_at"]),
    )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class BankHttpAdapter(PaymentAdapter):
    """Speaks the bank's HTTP/JSON protocol (see :mod:`bank_sim.app`).

    Concrete channels are the subclasses; ``transport`` lets tests plug in an
    in-process ``httpx.ASGITransport``.
    """

    channel: str = ""

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not self.channel:
            raise TypeError("BankHttpAdapter needs a channel: use SscCardAdapter or BankTransferAdapter")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.base_url = base_url
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # -- submit ---------------------------------------------------------------

    async def submit(self, instr: PaymentInstruction) -> PaymentStatus:
        if instr.channel != self.channel:
            raise ValueError(f"{type(self).__name__} pays channel {self.channel!r}, not {instr.channel!r}")
        pid = instr.payment_id
        body = {
            "payment_id": pid,
            "channel": instr.channel,
            "payee_id_number": instr.payee_id_number,
            "payee_name": instr.payee_name,
            "payee_account": instr.payee_account,
            "amount_fen": instr.amount_fen,
            "fund_source": instr.fund_source,
            "memo": instr.memo,
        }
        try:
            with tracing.http_client_span("POST", "/v1/payments") as headers:
                response = await self._client.post("/v1/payments", json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # No connection was established: the request never left us.
            log.warning("bank unavailable, payment not sent payment_id=%s channel=%s: %s", pid, self.channel, type(exc).__name__)
            raise BankUnavailable(f"bank unreachable; payment {pid} was not sent", payment_id=pid) from exc
        except httpx.TransportError as exc:
            # TimeoutException (read/write), RemoteProtocolError, ReadError, WriteError, ...:
            # the bank may have taken the payment.
            log.warning("payment in doubt payment_id=%s channel=%s: %s", pid, self.channel, type(exc).__name__)
            raise PaymentInDoubt(
                f"no answer from the bank for payment {pid} ({type(exc).__name__}); query it before any retry",
                payment_id=pid,
            ) from exc

        code = response.status_code
        data = _json_or_none(response)
        if code in (200, 201):
            try:
                status = _parse_status(data)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("payment in doubt payment_id=%s: unreadable bank answer", pid)
                raise PaymentInDoubt(f"unreadable bank answer for payment {pid}", payment_id=pid) from exc
            if status.payment_id != pid:
                raise PaymentInDoubt(f"bank answered for another payment than {pid}", payment_id=pid)
            log.info(
                "payment %s payment_id=%s channel=%s amount_fen=%d payee=%s state=%s bank_ref=%s",
                "submitted" if code == 201 else "already known",
                pid,
                self.channel,
                instr.amount_fen,
                mask_resident_id(instr.payee_id_number),
                status.state,
                status.bank_ref,
            )
            return status
        if 400 <= code < 500:
            raise self._rejected(instr, code, data)
        log.warning("payment in doubt payment_id=%s: bank answered HTTP %d", pid, code)
        raise PaymentInDoubt(f"bank answered HTTP {code} for payment {pid}; query it before any retry", payment_id=pid)

    def _rejected(self, instr: PaymentInstruction, code: int, data: Any) -> PaymentRejected:
        pid = instr.payment_id
        reason = f"http_{code}"
        violations: tuple[Violation, ...] = ()
        if isinstance(data, dict):
            if isinstance(data.get("error"), str):
                reason = data["error"]
            raw = data.get("violations")
            if isinstance(raw, list):
                violations = tuple(
                    Violation(
                        field=_scrub(str(v.get("field", "")), instr.payee_id_number),
                        description=_scrub(str(v.get("description", "")), instr.payee_id_number),
                    )
                    for v in raw
                    if isinstance(v, dict)
                )
        detail = "; ".join(f"{v.field}: {v.description}" for v in violations)
        message = f"bank rejected payment {pid}: {reason}" + (f" ({detail})" if detail else "")
        log.warning(
            "payment rejected payment_id=%s channel=%s reason=%s fields=%s",
            pid,
            self.channel,
            reason,
            ",".join(v.field for v in violations) or "-",
        )
        return PaymentRejected(message, reason=reason, payment_id=pid, status_code=code, violations=violations)

    # -- reads ----------------------------------------------------------------

    async def _get(self, path: str, what: str) -> httpx.Response:
        try:
            # The route without its id: span names stay few, and carry no payment id.
            with tracing.http_client_span("GET", path.rsplit("/", 1)[0] + "/{id}") as headers:
                return await self._client.get(path, headers=headers)
        except httpx.TransportError as exc:
            raise BankUnavailable(f"bank unreachable while reading {what} ({type(exc).__name__})") from exc

    async def query(self, payment_id: str) -> PaymentStatus | None:
        response = await self._get(f"/v1/payments/{quote(payment_id, safe='')}", f"payment {payment_id}")
        data = _json_or_none(response)
        if response.status_code == 404 and isinstance(data, dict) and data.get("error") == "not_found":
            return None
        if response.status_code >= 500:
            raise BankUnavailable(f"bank answered HTTP {response.status_code} for payment {payment_id}", payment_id=payment_id)
        if response.status_code != 200:
            # e.g. 404 from a wrong base URL: must not be mistaken for "no such payment".
            raise PaymentError(f"unexpected bank answer HTTP {response.status_code} for payment {payment_id}", payment_id=payment_id)
        try:
            return _parse_status(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise PaymentError(f"unreadable bank answer for payment {payment_id}", payment_id=payment_id) from exc

    async def statement(self, day: date) -> list[StatementLine]:
        """Only this adapter's channel: the bank's statement covers all channels,
        so concatenating the statements of all adapters counts each line once."""
        response = await self._get(f"/v1/statements/{day.isoformat()}", f"statement {day}")
        if response.status_code >= 500:
            raise BankUnavailable(f"bank answered HTTP {response.status_code} for statement {day}")
        if response.status_code != 200:
            raise PaymentError(f"unexpected bank answer HTTP {response.status_code} for statement {day}")
        data = _json_or_none(response)
        try:
            entries = data["entries"]
            if not isinstance(entries, list) or data["count"] != len(entries):
                raise ValueError("statement count does not match its entries")
            lines = [_parse_line(entry) for entry in entries]
        except (KeyError, TypeError, ValueError) as exc:
            raise PaymentError(f"unreadable bank statement for {day}") from exc
        return [line for line in lines if line.channel == self.channel]


class SscCardAdapter(BankHttpAdapter):
    """Pays to the financial account of the payee's social security card (社保卡).

    Rule C7: subsidies to persons are paid through the social security card's
    financial account.  The bank identifies the card by the payee's resident ID
    number (validated by the bank); ``payee_account`` is not used.
    """

    channel = CHANNEL_SSC_CARD


class BankTransferAdapter(BankHttpAdapter):
    """Pays by bank transfer to ``payee_account`` (required)."""

    channel = CHANNEL_BANK_TRANSFER


def build_payment_adapters(bank_url: str, timeout_s: float) -> dict[str, PaymentAdapter]:
    """One adapter per channel, keyed by channel name."""
    adapters: list[PaymentAdapter] = [
        SscCardAdapter(bank_url, timeout_s),
        BankTransferAdapter(bank_url, timeout_s),
    ]
    return {adapter.channel: adapter for adapter in adapters}

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
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import httpx

# The port these adapters implement, re-exported for their callers.
from ledger_svc.service_layer.bank import (  # noqa: F401
    CHANNEL_BANK_TRANSFER,
    CHANNEL_SSC_CARD,
    STATES,
    BankUnavailable,
    BatchRefused,
    BatchResult,
    InstructionOutcome,
    InstructionResult,
    PaymentAdapter,
    PaymentAdapters,
    PaymentBatch,
    PaymentError,
    PaymentInDoubt,
    PaymentInstruction,
    PaymentRejected,
    PaymentStatus,
    StatementLine,
    Violation,
)
from skillpay import tracing
from skillpay.pii import mask_resident_id

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
    returned_at = data.get("returned_at")
    return_reason = data.get("return_reason")
    return PaymentStatus(
        payment_id=str(data["payment_id"]),
        state=state,
        bank_ref=str(data["bank_ref"]),
        failure_reason=None if failure_reason is None else str(failure_reason)[:200],
        settled_at=None if settled_at is None else _parse_instant(settled_at),
        returned_at=None if returned_at is None else _parse_instant(returned_at),
        return_reason=None if return_reason is None else str(return_reason)[:32],
    )


def _instruction_body(instr: PaymentInstruction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "payment_id": instr.payment_id,
        "channel": instr.channel,
        "payee_id_number": instr.payee_id_number,
        "payee_name": instr.payee_name,
        "payee_account": instr.payee_account,
        "amount_fen": instr.amount_fen,
        "fund_source": instr.fund_source,
        "memo": instr.memo,
    }
    # Only when known: the bank digests the body, and older payments were sent without them.
    if instr.payee_card_number:
        body["payee_card_number"] = instr.payee_card_number
    if instr.payee_bank_code:
        body["payee_bank_code"] = instr.payee_bank_code
    return body


def _violations(raw: Any, id_numbers: Iterable[str]) -> tuple[Violation, ...]:
    if not isinstance(raw, list):
        return ()
    ids = [i for i in id_numbers if i]

    def clean(text: str) -> str:
        for id_number in ids:
            text = _scrub(text, id_number)
        return text[:200]

    return tuple(Violation(field=clean(str(v.get("field", ""))), description=clean(str(v.get("description", ""))))
                 for v in raw[:64] if isinstance(v, dict))


def _parse_batch_result(data: Any, batch: PaymentBatch, ids: dict[str, str]) -> BatchResult:
    """The bank's per-instruction answer; every result must name a payment of this batch."""
    if not isinstance(data, dict) or data.get("batch_id") != batch.batch_id:
        raise ValueError("answer for another batch")
    raw = data["results"]
    if not isinstance(raw, list):
        raise TypeError("results must be a list")
    results = []
    for item in raw:
        if not isinstance(item, dict):
            raise TypeError("result must be an object")
        index = item["index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(batch.instructions):
            raise ValueError("result index out of range")
        pid = batch.instructions[index].payment_id
        outcome = InstructionOutcome(item["outcome"])
        if outcome is InstructionOutcome.REJECTED:
            reason = item.get("reason")
            results.append(InstructionResult(pid, outcome, reason=str(reason)[:64] if reason else "rejected",
                                             violations=_violations(item.get("violations"), ids.values())))
            continue
        status = _parse_status(item["payment"])
        if status.payment_id != pid:
            raise ValueError("bank answered for another payment")
        results.append(InstructionResult(pid, outcome, status=status))
    return BatchResult(batch.batch_id, tuple(results))


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

    async def submit_batch(self, batch: PaymentBatch) -> BatchResult:
        if batch.channel != self.channel or any(i.channel != self.channel for i in batch.instructions):
            raise ValueError(f"{type(self).__name__} pays channel {self.channel!r}, not {batch.channel!r}")
        bid = batch.batch_id
        single = batch.payment_ids[0] if len(batch.instructions) == 1 else None
        body = {
            "batch_id": bid,
            "control_count": batch.control_count,
            "control_sum_fen": batch.control_sum_fen,
            "instructions": [_instruction_body(i) for i in batch.instructions],
        }
        try:
            with tracing.http_client_span("POST", "/v1/batches") as headers:
                response = await self._client.post("/v1/batches", json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # No connection was established: the request never left us.
            log.warning("bank unavailable, batch not sent batch_id=%s channel=%s count=%d: %s",
                        bid, self.channel, batch.control_count, type(exc).__name__)
            raise BankUnavailable(f"bank unreachable; batch {bid} was not sent", payment_id=single,
                                  batch_id=bid) from exc
        except httpx.TransportError as exc:
            # TimeoutException (read/write), RemoteProtocolError, ReadError, WriteError, ...:
            # the bank may have taken the payments.
            log.warning("batch in doubt batch_id=%s channel=%s count=%d: %s",
                        bid, self.channel, batch.control_count, type(exc).__name__)
            raise PaymentInDoubt(
                f"no answer from the bank for batch {bid} ({type(exc).__name__}); query its payments "
                "before any retry", payment_id=single, batch_id=bid,
            ) from exc

        code = response.status_code
        data = _json_or_none(response)
        if code == 200:
            try:
                result = _parse_batch_result(data, batch, self._ids(batch))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("batch in doubt batch_id=%s: unreadable bank answer", bid)
                raise PaymentInDoubt(f"unreadable bank answer for batch {bid}", payment_id=single,
                                     batch_id=bid) from exc
            for r in result.results:
                if r.outcome is InstructionOutcome.REJECTED:
                    log.warning("payment rejected payment_id=%s channel=%s reason=%s fields=%s", r.payment_id,
                                self.channel, r.reason, ",".join(v.field for v in r.violations) or "-")
            log.info("batch submitted batch_id=%s channel=%s count=%d sum_fen=%d answers=%d", bid, self.channel,
                     batch.control_count, batch.control_sum_fen, len(result.results))
            return result
        if 400 <= code < 500:
            raise self._refused(batch, code, data)
        log.warning("batch in doubt batch_id=%s: bank answered HTTP %d", bid, code)
        raise PaymentInDoubt(f"bank answered HTTP {code} for batch {bid}; query its payments before any retry",
                             payment_id=single, batch_id=bid)

    @staticmethod
    def _ids(batch: PaymentBatch) -> dict[str, str]:
        """payment id -> payee ID number, to scrub anything the bank echoes."""
        return {i.payment_id: i.payee_id_number for i in batch.instructions}

    def _refused(self, batch: PaymentBatch, code: int, data: Any) -> BatchRefused:
        bid = batch.batch_id
        reason = f"http_{code}"
        violations: tuple[Violation, ...] = ()
        if isinstance(data, dict):
            if isinstance(data.get("error"), str):
                reason = data["error"]
            violations = _violations(data.get("violations"), self._ids(batch).values())
        detail = "; ".join(f"{v.field}: {v.description}" for v in violations)
        log.warning("batch refused batch_id=%s channel=%s reason=%s fields=%s", bid, self.channel, reason,
                    ",".join(v.field for v in violations) or "-")
        return BatchRefused(f"bank refused batch {bid}: {reason}" + (f" ({detail})" if detail else ""),
                            reason=reason, batch_id=bid, status_code=code, violations=violations)

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


    async def statement_file(self, day: date, fmt: str = "csv",
                             fund_source: str | None = None) -> AsyncIterator[bytes]:
        if fmt not in ("csv", "xml"):
            raise ValueError("fmt must be csv or xml")
        params = {} if fund_source is None else {"fund_source": fund_source}
        try:
            with tracing.http_client_span("GET", f"/v1/statements/{{day}}.{fmt}") as headers:
                async with self._client.stream("GET", f"/v1/statements/{day.isoformat()}.{fmt}", params=params,
                                               headers=headers) as response:
                    if response.status_code >= 500:
                        raise BankUnavailable(f"bank answered HTTP {response.status_code} for statement {day}")
                    if response.status_code != 200:
                        raise PaymentError(f"unexpected bank answer HTTP {response.status_code} for statement {day}")
                    async for chunk in response.aiter_bytes():
                        yield chunk
        except httpx.TransportError as exc:
            raise BankUnavailable(f"bank unreachable while reading statement {day} ({type(exc).__name__})") from exc


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


def build_payment_adapters(bank_url: str, timeout_s: float,
                           transport: httpx.AsyncBaseTransport | None = None) -> PaymentAdapters:
    """One adapter per channel, keyed by channel name (``adapter_for(payee)`` picks one)."""
    adapters: list[PaymentAdapter] = [
        SscCardAdapter(bank_url, timeout_s, transport=transport),
        BankTransferAdapter(bank_url, timeout_s, transport=transport),
    ]
    return PaymentAdapters({adapter.channel: adapter for adapter in adapters})

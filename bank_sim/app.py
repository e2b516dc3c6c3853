"""HTTP app of the bank simulator: a stand-in for the bank that pays subsidies.

Protocol (JSON bodies, UTF-8; all instants are ISO 8601 with a UTC offset)
==========================================================================

``POST /v1/payments`` -- submit a payment
    Request body::

        {"payment_id": str,            # idempotency key, 1..64 chars of
                                       #   [A-Za-z0-9._:~-], starting alphanumeric
         "channel": "ssc_card" | "bank_transfer",
         "payee_id_number": str,       # ssc_card: a valid resident ID number
                                       #   (stdnum.cn.ric.is_valid); bank_transfer:
                                       #   any identifier, 1..32 chars
         "payee_name": str,            # 1..100 chars
         "payee_account": str | null,  # bank_transfer: required, 1..64 chars;
                                       #   ssc_card: ignored (treated as null)
         "amount_fen": int,            # integer fen, 1 .. 2**63-1 (no floats)
         "fund_source": str,           # 1..64 chars
         "memo": str,                  # 0..256 chars
         "payee_card_number": str,     # optional, ssc_card: 1..32 of [0-9A-Za-z]
         "payee_bank_code": str}       # optional, bank_transfer: 1..16 of [0-9A-Za-z]
                                       # unknown members are ignored

    The same checks and outcomes as one instruction of a batch (``POST /v1/batches``, which
    the ledger's adapters use), answered per HTTP status; the fault plan does not apply here.

    Responses:

    - ``201`` + payment record: new payment accepted and stored.
    - ``200`` + the stored record: the same ``payment_id`` was already
      submitted with an identical body; nothing is paid twice.
    - ``409`` ``{"error": "payment_id_conflict", "message": str}``: the
      ``payment_id`` was already used for a different body; nothing changes.

    Every ``200`` replay and ``409`` conflict is a refused duplicate: it is
    recorded (payment_id, outcome, instant; see ``GET /v1/duplicates``) and
    logged as one line naming the ``payment_id`` (never the payee's ID number).
    - ``422`` ``{"error": "invalid_request", "violations": [{"field": str,
      "description": str}]}``: invalid body (``field`` is ``"body"`` when the
      body is not a JSON object); nothing is stored.  Descriptions never echo
      submitted values.

    Payment record::

        {"payment_id": str, "channel": str, "amount_fen": int,
         "fund_source": str, "payee_name": str,
         "payee_id_masked": str,        # first 6 + "********" + last 4
         "status": "accepted" | "settled" | "failed",
         "bank_ref": str, "failure_reason": str | null,
         "accepted_at": str, "settled_at": str | null}

         "returned_at": str | null,     # once a returned payment came back
         "return_reason": str | null}   # its ISO reason code (e.g. "AC04")

    A payment is "accepted" first and reaches its outcome ``SETTLE_DELAY_MS``
    after acceptance (``settled_at`` = that instant, also set for failed
    payments).  Simulated failure: a ``payee_name`` starting with ``"FAIL"``
    ends "failed" with ``failure_reason`` ``"account_closed"``.  A payee that
    does not match the bank's card or account registry ends "failed" with the
    registry's reason (``card_frozen``, ``card_cancelled``, ``name_mismatch``,
    ``card_number_mismatch``, ``card_not_found``, ``account_closed``,
    ``account_name_mismatch``, ``bank_code_mismatch``, ``account_not_found``;
    see ``POST /v1/_registry``).  A failed payment moves no money.

``POST /v1/batches`` -- submit a batch of payments with control totals
    Request body::

        {"batch_id": str,              # same form as payment_id; the client's
                                       #   deterministic id of the batch
         "control_count": int,         # number of instructions
         "control_sum_fen": int,       # sum of their amount_fen
         "instructions": [payment body, ...]}   # 1..500, as POST /v1/payments

    Responses:

    - ``200``::

        {"batch_id": str, "accepted": int, "already_known": int, "rejected": int,
         "results": [{"index": int,            # position in "instructions"
                      "payment_id": str | null,
                      "outcome": "accepted" | "already_known" | "rejected",
                      "reason": str | null,    # rejected: invalid_request,
                                               #   payment_id_conflict, or the
                                               #   fault plan's reason
                      "violations": [{"field", "description"}],
                      "payment": payment record | null}]}

      One result per instruction, in order ("already_known": the payment id was
      submitted before with an identical body; ``payment`` is its record, i.e.
      its first result as it stands now).  A fault-injected duplicate answer
      lists a result twice.
    - ``422`` ``{"error": "control_totals_mismatch", "violations": [...]}``:
      ``control_count`` or ``control_sum_fen`` does not match the instructions
      (the sum counts the integer amounts); nothing is accepted.
    - ``422`` ``invalid_request``: the batch itself is malformed (``batch_id``,
      ``control_count``, ``control_sum_fen``, ``instructions``); nothing is accepted.
    - ``409`` ``{"error": "batch_id_conflict"}``: the ``batch_id`` was used for a
      batch with other content; nothing is accepted.

    The batch is stored in one transaction.

``GET /v1/payments/{payment_id}``
    ``200`` + payment record, or ``404`` ``{"error": "not_found"}``.

``GET /v1/statements/{YYYY-MM-DD}``
    The day's statement, by Asia/Shanghai calendar day of ``settled_at``::

        {"date": "YYYY-MM-DD",
         "entries": [{"payment_id", "bank_ref", "channel", "amount_fen",
                      "fund_source", "status", "settled_at"}],
         "count": int, "total_fen": int}

    Entries are ordered by ``settled_at`` then ``payment_id``; settled and
    failed payments appear, ``total_fen`` sums the settled ones only.
    A malformed date gives ``422`` (``invalid_request``, field ``"date"``).

``GET /v1/statements/{YYYY-MM-DD}.csv`` and ``.xml`` (optionally ``?fund_source=``)
    The day's booked lines per fund account, streamed: the CSV layout and ISO 20022
    camt.053.001.08 documented in :mod:`bank_sim.statements` and
    ``docs/bank_statement_formats.md``.  Payouts that settled that day are DBIT lines,
    settled payments that came back that day CRDT lines with their return reason; failed
    payments are not listed.

``GET /v1/duplicates``
    Every refused duplicate submission since the database was created::

        {"duplicates": [{"payment_id": str,
                         "replayed": int,      # identical resubmissions (200)
                         "conflicting": int}], # different bodies (409)
         "total_replayed": int, "total_conflicting": int}

    One entry per ``payment_id`` submitted more than once, in the order of its
    first repeat; the totals sum the entries.  ``200`` always.

``GET /healthz``
    ``200`` ``{"status": "ok"}``.

``POST /v1/_faults`` -- fault injection (test control plane)
    Body ``{"hold_responses_ms": int >= 0}``.  While non-zero, every
    ``POST /v1/payments`` is processed and stored as usual but its HTTP response
    is held back that long (so a client with a shorter timeout does not learn
    that the bank took the payment: the "in doubt" case).  ``0`` clears it.
    ``{"close_accounts": bool}``: while true, every new payment ends "failed"
    with ``account_closed`` (a payee's account closed, later corrected).  Either
    key or both; the settings are in memory only.  Response ``200`` with both
    current settings ``{"hold_responses_ms": int, "close_accounts": bool}``.

``POST /v1/_fault_plan`` -- fault injection by rule (test control plane)
    Body ``{"seed": int, "rules": [{"mode": "reject" | "delay" | "timeout" | "drop" |
    "duplicate" | "double_booking" | "return", "payment_ids": [str], "fraction": float, ...}]}`` replaces the
    plan (``{"rules": []}`` clears it); see :mod:`bank_sim.faults` for each mode, its
    parameters and the reproducible choice of a fraction.  ``200`` + the plan;
    ``GET /v1/_fault_plan`` shows it.  In memory only.

``POST /v1/_registry`` -- the bank's card and account registries (test control plane)
    Body ``{"mode": "open" | "strict",
            "cards": [{"id_number": str, "card_number": str, "name": str,
                       "status": "active" | "frozen" | "cancelled"}],
            "accounts": [{"account_number": str, "account_name": str, "bank_code": str,
                          "status": "open" | "closed"}]}``
    (any key may be left out; entries are added or replaced, at most 10,000 of each).  In
    ``open`` mode (the default) a payee the registry does not hold is paid.  Resident ID
    numbers are kept only as a keyed digest and their masked form.  ``200``
    ``{"mode": str, "cards": int, "accounts": int}``; ``GET /v1/_registry`` shows it.

Any other path gives ``404`` ``{"error": "unknown_endpoint"}`` (distinct from
``not_found`` so that a wrong base URL is never mistaken for "no such payment").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from stdnum.cn import ric

from bank_sim import statements
from bank_sim.faults import FaultPlan, parse_plan
from bank_sim.settings import BankSimSettings
from bank_sim.store import (
    ACCOUNT_STATUSES,
    CARD_STATUSES,
    CHANNELS,
    FAILURE_ACCOUNT_CLOSED,
    REGISTRY_MODES,
    AccountEntry,
    BatchConflict,
    CardEntry,
    Effects,
    PaymentRecord,
    PaymentRequest,
    PaymentStore,
    SubmitOutcome,
    mask_id_number,
    utc_now,
)

log = logging.getLogger("bank_sim")

MAX_BODY_BYTES = 4 * 1024 * 1024  # a batch of 500, a registry of 10,000
MAX_AMOUNT_FEN = 2**63 - 1
MAX_HOLD_MS = 10 * 60 * 1000
MAX_BATCH = 500
MAX_REGISTRY_ENTRIES = 10_000
PAYMENT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,63}")
CODE_RE = re.compile(r"[0-9A-Za-z]+")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

Violations = list[dict[str, str]]


def _invalid(violations: Violations, error: str = "invalid_request") -> JSONResponse:
    return JSONResponse({"error": error, "violations": violations}, status_code=422)


async def _json_object(request: Request) -> tuple[dict[str, Any] | None, Violations]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None, [{"field": "body", "description": "must be a JSON object"}]
    if not isinstance(body, dict):
        return None, [{"field": "body", "description": "must be a JSON object"}]
    return body, []


def _check_str(
    body: dict[str, Any], field: str, violations: Violations, *, min_len: int = 1, max_len: int,
    pattern: re.Pattern[str] | None = None, required: bool = True,
) -> str | None:
    value = body.get(field)
    if field not in body or value is None:
        if required:
            violations.append({"field": field, "description": "is required"})
    elif not isinstance(value, str):
        violations.append({"field": field, "description": "must be a string"})
    elif not min_len <= len(value) <= max_len:
        violations.append(
            {"field": field, "description": f"must be {min_len}..{max_len} characters long"}
        )
    elif pattern is not None and not pattern.fullmatch(value):
        violations.append({"field": field, "description": "must use only letters and digits"})
    else:
        return value
    return None


def _check_int(body: dict[str, Any], field: str, violations: Violations, low: int, high: int) -> int | None:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        violations.append({"field": field, "description": f"must be an integer between {low} and {high}"})
        return None
    return value


def validate_payment(body: dict[str, Any]) -> tuple[PaymentRequest | None, Violations]:
    """Check a submission body; violations never contain submitted values."""
    violations: Violations = []

    payment_id = _check_str(body, "payment_id", violations, max_len=64)
    if payment_id is not None and not PAYMENT_ID_RE.fullmatch(payment_id):
        violations.append(
            {
                "field": "payment_id",
                "description": "must use only A-Z a-z 0-9 . _ : ~ - and start alphanumeric",
            }
        )
        payment_id = None

    channel = body.get("channel")
    if channel not in CHANNELS:
        violations.append(
            {"field": "channel", "description": "must be one of: " + ", ".join(CHANNELS)}
        )
        channel = None

    id_number = _check_str(body, "payee_id_number", violations, max_len=32)
    if id_number is not None and channel == "ssc_card" and not ric.is_valid(id_number):
        violations.append(
            {"field": "payee_id_number", "description": "is not a valid resident ID number"}
        )
        id_number = None

    payee_name = _check_str(body, "payee_name", violations, max_len=100)

    payee_account: str | None = None
    card_number: str | None = None
    bank_code: str | None = None
    if channel == "bank_transfer":
        payee_account = _check_str(body, "payee_account", violations, max_len=64)
        bank_code = _check_str(body, "payee_bank_code", violations, max_len=16, pattern=CODE_RE, required=False)
    elif channel == "ssc_card":
        card_number = _check_str(body, "payee_card_number", violations, max_len=32, pattern=CODE_RE,
                                 required=False)

    amount = body.get("amount_fen")
    if isinstance(amount, bool) or not isinstance(amount, int):
        violations.append({"field": "amount_fen", "description": "must be an integer (fen)"})
        amount = None
    elif not 0 < amount <= MAX_AMOUNT_FEN:
        violations.append(
            {"field": "amount_fen", "description": f"must be between 1 and {MAX_AMOUNT_FEN}"}
        )
        amount = None

    fund_source = _check_str(body, "fund_source", violations, max_len=64)
    memo = _check_str(body, "memo", violations, min_len=0, max_len=256)

    if violations:
        return None, violations
    assert payment_id and channel and id_number and payee_name and fund_source
    assert amount is not None and memo is not None
    return (
        PaymentRequest(
            payment_id=payment_id,
            channel=channel,
            payee_id_number=id_number,
            payee_name=payee_name,
            payee_account=payee_account,
            amount_fen=amount,
            fund_source=fund_source,
            memo=memo,
            payee_card_number=card_number,
            payee_bank_code=bank_code,
        ),
        [],
    )


def _integer_amount(instruction: Any) -> int:
    amount = instruction.get("amount_fen") if isinstance(instruction, dict) else None
    return amount if isinstance(amount, int) and not isinstance(amount, bool) else 0


def validate_registry(body: dict[str, Any]) -> tuple[tuple[str | None, list[CardEntry], list[AccountEntry]] | None,
                                                     Violations]:
    violations: Violations = []
    mode = body.get("mode")
    if mode is not None and mode not in REGISTRY_MODES:
        violations.append({"field": "mode", "description": "must be one of: " + ", ".join(REGISTRY_MODES)})
    cards: list[CardEntry] = []
    accounts: list[AccountEntry] = []
    for key in ("cards", "accounts"):
        raw = body.get(key, [])
        if not isinstance(raw, list) or len(raw) > MAX_REGISTRY_ENTRIES:
            violations.append({"field": key, "description": f"must be a list of at most {MAX_REGISTRY_ENTRIES}"})
            continue
        for i, entry in enumerate(raw):
            where = f"{key}[{i}]"
            if not isinstance(entry, dict):
                violations.append({"field": where, "description": "must be an object"})
                continue
            found: Violations = []
            if key == "cards":
                id_number = _check_str(entry, "id_number", found, max_len=18)
                if id_number is not None and not ric.is_valid(id_number):
                    found.append({"field": "id_number", "description": "is not a valid resident ID number"})
                card_number = _check_str(entry, "card_number", found, max_len=32, pattern=CODE_RE)
                name = _check_str(entry, "name", found, max_len=100)
                status = entry.get("status", "active")
                if status not in CARD_STATUSES:
                    found.append({"field": "status", "description": "must be one of: " + ", ".join(CARD_STATUSES)})
                if not found:
                    cards.append(CardEntry(id_number, card_number, name, status))  # type: ignore[arg-type]
            else:
                number = _check_str(entry, "account_number", found, max_len=64)
                name = _check_str(entry, "account_name", found, max_len=100)
                bank_code = _check_str(entry, "bank_code", found, max_len=16, pattern=CODE_RE)
                status = entry.get("status", "open")
                if status not in ACCOUNT_STATUSES:
                    found.append({"field": "status", "description": "must be one of: " + ", ".join(ACCOUNT_STATUSES)})
                if not found:
                    accounts.append(AccountEntry(number, name, bank_code, status))  # type: ignore[arg-type]
            violations.extend({"field": f"{where}.{v['field']}", "description": v["description"]} for v in found)
    if not {"mode", "cards", "accounts"} & set(body):
        violations.append({"field": "body", "description": "set mode, cards or accounts"})
    if violations:
        return None, violations
    return (mode, cards, accounts), []


class DroppedResponse(Response):
    """Starts an answer and never finishes it: the server closes the connection, so the client
    gets no answer at all (the request was processed)."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"1024"), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        # Returning without the rest: uvicorn closes the connection.


def _result(index: int, payment_id: str | None, outcome: str, *, reason: str | None = None,
            violations: Violations | None = None, record: PaymentRecord | None = None) -> dict[str, Any]:
    return {"index": index, "payment_id": payment_id, "outcome": outcome, "reason": reason,
            "violations": violations or [], "payment": None if record is None else record.to_json()}


def build_app(settings: BankSimSettings, clock: Callable[[], datetime] = utc_now) -> Starlette:
    """Build the ASGI app.  The store is opened here (so the app also works
    in-process without a lifespan) and closed on lifespan shutdown.  ``clock`` (UTC, aware)
    lets tests move the bank's time (delays, returns days later)."""
    store = PaymentStore(settings.database_path, timedelta(milliseconds=settings.settle_delay_ms), clock)
    faults = {"hold_responses_ms": 0, "close_accounts": False}
    plan: dict[str, FaultPlan] = {"plan": FaultPlan()}

    def _log_outcome(outcome: SubmitOutcome, record: PaymentRecord, request: PaymentRequest) -> None:
        if outcome is SubmitOutcome.CREATED:
            log.info(
                "payment accepted payment_id=%s channel=%s amount_fen=%d payee=%s bank_ref=%s",
                record.payment_id,
                record.channel,
                record.amount_fen,
                mask_id_number(request.payee_id_number),
                record.bank_ref,
            )
        elif outcome is SubmitOutcome.REPLAYED:
            log.info(
                "duplicate payment refused payment_id=%s outcome=replayed bank_ref=%s status=%s "
                "(identical resubmission; the stored record is returned, nothing is paid again)",
                record.payment_id,
                record.bank_ref,
                record.status,
            )
        else:
            log.warning(
                "duplicate payment refused payment_id=%s outcome=conflict "
                "(payment_id already used for a different payment; nothing changes)",
                record.payment_id,
            )

    def _effects(effects: Effects | None = None) -> Effects:
        effects = effects or Effects()
        if faults["close_accounts"]:
            effects = Effects(effects.extra_delay, effects.duplicate, effects.return_after_days,
                              effects.return_reason, FAILURE_ACCOUNT_CLOSED, effects.double_booking)
        return effects

    async def _hold(extra_ms: int = 0) -> None:
        hold_ms = max(faults["hold_responses_ms"], extra_ms)
        if hold_ms:
            log.info("fault injection: holding the response for %d ms", hold_ms)
            await asyncio.sleep(hold_ms / 1000)

    async def submit_payment(request: Request) -> JSONResponse:
        body, violations = await _json_object(request)
        payment = None
        if body is not None:
            payment, violations = validate_payment(body)
        if payment is None:
            log.info("payment rejected: invalid request (%d violations)", len(violations))
            response = _invalid(violations)
        else:
            result = await asyncio.to_thread(store.submit_batch, None, [(payment, _effects())])
            outcome, record = result.results[0]
            _log_outcome(outcome, record, payment)
            if outcome is SubmitOutcome.CREATED:
                response = JSONResponse(record.to_json(), status_code=201)
            elif outcome is SubmitOutcome.REPLAYED:
                response = JSONResponse(record.to_json(), status_code=200)
            else:
                response = JSONResponse(
                    {
                        "error": "payment_id_conflict",
                        "message": f"payment_id {record.payment_id} was already used "
                        "for a different payment",
                    },
                    status_code=409,
                )
        await _hold()
        return response

    async def submit_batch(request: Request) -> Response:
        body, violations = await _json_object(request)
        if body is None:
            return _invalid(violations)
        batch_id = _check_str(body, "batch_id", violations, max_len=64)
        if batch_id is not None and not PAYMENT_ID_RE.fullmatch(batch_id):
            violations.append({"field": "batch_id",
                               "description": "must use only A-Z a-z 0-9 . _ : ~ - and start alphanumeric"})
        count = _check_int(body, "control_count", violations, 0, MAX_BATCH)
        total = _check_int(body, "control_sum_fen", violations, 0, MAX_AMOUNT_FEN * MAX_BATCH)
        instructions = body.get("instructions")
        if not isinstance(instructions, list) or not 1 <= len(instructions) <= MAX_BATCH:
            violations.append({"field": "instructions", "description": f"must be a list of 1..{MAX_BATCH} payments"})
            instructions = None
        if violations:
            log.info("batch refused: invalid request (%d violations)", len(violations))
            return _invalid(violations)
        assert instructions is not None and batch_id is not None
        actual_sum = sum(_integer_amount(i) for i in instructions)
        if count != len(instructions):
            violations.append({"field": "control_count",
                               "description": f"does not match the {len(instructions)} instructions"})
        if total != actual_sum:
            violations.append({"field": "control_sum_fen",
                               "description": "does not match the sum of the instructions' amount_fen"})
        if violations:
            log.warning("batch refused batch_id=%s: control totals do not match its content; nothing accepted",
                        batch_id)
            return _invalid(violations, "control_totals_mismatch")

        current = plan["plan"]
        results: list[dict[str, Any] | None] = [None] * len(instructions)
        to_store: list[tuple[int, PaymentRequest]] = []
        effects: list[tuple[PaymentRequest, Effects]] = []
        hold_ms, drop = 0, False
        for index, raw in enumerate(instructions):
            if not isinstance(raw, dict):
                results[index] = _result(index, None, "rejected", reason="invalid_request",
                                         violations=[{"field": "body", "description": "must be a JSON object"}])
                continue
            payment, found = validate_payment(raw)
            if payment is None:
                pid = raw.get("payment_id")
                pid = pid if isinstance(pid, str) and PAYMENT_ID_RE.fullmatch(pid) else None
                results[index] = _result(index, pid, "rejected", reason="invalid_request", violations=found)
                continue
            decision = current.decide(payment.payment_id)
            if decision.reject_reason is not None:
                log.info("fault injection: payment rejected payment_id=%s reason=%s",
                         payment.payment_id, decision.reject_reason)
                results[index] = _result(index, payment.payment_id, "rejected", reason=decision.reject_reason)
                continue
            hold_ms, drop = max(hold_ms, decision.hold_ms), drop or decision.drop
            to_store.append((index, payment))
            effects.append((payment, _effects(decision.effects)))

        canonical = json.dumps([count, total, instructions], sort_keys=True, ensure_ascii=False,
                               separators=(",", ":")).encode()
        meta = (batch_id, store.digest_bytes(canonical), len(instructions), actual_sum)
        try:
            stored = await asyncio.to_thread(store.submit_batch, meta, effects)
        except BatchConflict:
            log.warning("batch refused batch_id=%s: batch_id already used for other content; nothing accepted",
                        batch_id)
            return JSONResponse({"error": "batch_id_conflict",
                                 "message": f"batch_id {batch_id} was already used for another batch"},
                                status_code=409)
        answers: list[dict[str, Any]] = []
        tally = {"accepted": 0, "already_known": 0, "rejected": 0}
        by_index = {i: (payment, result) for (i, payment), result in zip(to_store, stored.results, strict=True)}
        for index in range(len(instructions)):
            if index in by_index:
                payment, (outcome, record) = by_index[index]
                _log_outcome(outcome, record, payment)
                if outcome is SubmitOutcome.CREATED:
                    answer = _result(index, record.payment_id, "accepted", record=record)
                elif outcome is SubmitOutcome.REPLAYED:
                    answer = _result(index, record.payment_id, "already_known", record=record)
                else:
                    answer = _result(index, record.payment_id, "rejected", reason="payment_id_conflict")
                answers.append(answer)
                tally[answer["outcome"]] += 1
                if record.duplicate and outcome is not SubmitOutcome.CONFLICT:
                    log.info("fault injection: answering twice payment_id=%s", record.payment_id)
                    answers.append(answer)
            else:
                answer = results[index]
                assert answer is not None
                answers.append(answer)
                tally["rejected"] += 1
        log.info("batch batch_id=%s count=%d accepted=%d already_known=%d rejected=%d",
                 batch_id, len(instructions), tally["accepted"], tally["already_known"], tally["rejected"])
        if drop:
            log.warning("fault injection: dropping the answer to batch_id=%s", batch_id)
            return DroppedResponse()
        await _hold(hold_ms)
        return JSONResponse({"batch_id": batch_id, **tally, "results": answers})

    async def get_payment(request: Request) -> JSONResponse:
        record = await asyncio.to_thread(store.get, request.path_params["payment_id"])
        if record is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(record.to_json())

    async def get_statement(request: Request) -> Response:
        raw = request.path_params["day"]
        fmt = "json"
        for suffix in ("csv", "xml"):
            if raw.endswith("." + suffix):
                raw, fmt = raw[: -len(suffix) - 1], suffix
        try:
            if not DATE_RE.fullmatch(raw):
                raise ValueError(raw)
            day = date.fromisoformat(raw)
        except ValueError:
            return _invalid([{"field": "date", "description": "must be a calendar date YYYY-MM-DD"}])
        fund_source = request.query_params.get("fund_source")
        if fund_source is not None and not 1 <= len(fund_source) <= 64:
            return _invalid([{"field": "fund_source", "description": "must be 1..64 characters long"}])
        if fmt == "csv":
            lines = store.iter_booked(day, fund_source)
            return StreamingResponse(statements.csv_chunks(lines), media_type="text/csv; charset=utf-8")
        if fmt == "xml":
            as_of = store.now()
            summaries = await asyncio.to_thread(store.account_summaries, day, fund_source, as_of)
            lines = store.iter_booked(day, fund_source, as_of)
            return StreamingResponse(statements.camt053_chunks(day, summaries, lines, as_of),
                                     media_type="application/xml")
        records = await asyncio.to_thread(store.statement, day)
        entries = [record.to_statement_entry() for record in records
                   if fund_source is None or record.fund_source == fund_source]
        return JSONResponse(
            {
                "date": day.isoformat(),
                "entries": entries,
                "count": len(entries),
                "total_fen": sum(e["amount_fen"] for e in entries if e["status"] == "settled"),
            }
        )

    async def get_duplicates(request: Request) -> JSONResponse:
        summaries = await asyncio.to_thread(store.duplicates)
        return JSONResponse(
            {
                "duplicates": [s.to_json() for s in summaries],
                "total_replayed": sum(s.replayed for s in summaries),
                "total_conflicting": sum(s.conflicting for s in summaries),
            }
        )

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def set_faults(request: Request) -> JSONResponse:
        body, violations = await _json_object(request)
        if body is not None:
            hold = body.get("hold_responses_ms", faults["hold_responses_ms"])
            close = body.get("close_accounts", faults["close_accounts"])
            violations = []
            if not {"hold_responses_ms", "close_accounts"} & set(body):
                violations.append({"field": "body", "description": "set hold_responses_ms or close_accounts"})
            if isinstance(hold, bool) or not isinstance(hold, int) or not 0 <= hold <= MAX_HOLD_MS:
                violations.append({
                    "field": "hold_responses_ms",
                    "description": f"must be an integer between 0 and {MAX_HOLD_MS}",
                })
            if not isinstance(close, bool):
                violations.append({"field": "close_accounts", "description": "must be true or false"})
            if not violations:
                faults.update(hold_responses_ms=hold, close_accounts=close)
                log.warning("fault injection: hold_responses_ms=%d close_accounts=%s", hold, close)
                return JSONResponse(dict(faults))
        return _invalid(violations)

    async def fault_plan(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse(plan["plan"].to_json())
        body, violations = await _json_object(request)
        if body is not None:
            new, violations = parse_plan(body)
            if new is not None:
                plan["plan"] = new
                log.warning("fault injection: plan of %d rule(s), seed %d (%s)", len(new.rules), new.seed,
                            ", ".join(rule.mode for rule in new.rules) or "none")
                return JSONResponse(new.to_json())
        return _invalid(violations)

    async def registry(request: Request) -> JSONResponse:
        if request.method == "POST":
            body, violations = await _json_object(request)
            parsed = None
            if body is not None:
                parsed, violations = validate_registry(body)
            if parsed is None:
                return _invalid(violations)
            mode, cards, accounts = parsed
            await asyncio.to_thread(store.update_registry, mode, cards, accounts)
            log.info("registry updated: %d card(s), %d account(s)%s", len(cards), len(accounts),
                     f", mode {mode}" if mode else "")
        return JSONResponse(await asyncio.to_thread(store.registry_counts))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            # Deliberately not "not_found": clients read that as "no such payment".
            return JSONResponse({"error": "unknown_endpoint"}, status_code=404)
        return JSONResponse(
            {"error": "http_error", "message": exc.detail}, status_code=exc.status_code
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info(
            "bank simulator listening on http://%s:%d (database=%s, settle_delay_ms=%d)",
            settings.host,
            settings.port,
            settings.database_path,
            settings.settle_delay_ms,
        )
        try:
            yield
        finally:
            store.close()
            log.info("bank simulator stopped")

    app = Starlette(
        routes=[
            Route("/v1/payments", submit_payment, methods=["POST"]),
            Route("/v1/batches", submit_batch, methods=["POST"]),
            Route("/v1/payments/{payment_id}", get_payment, methods=["GET"]),
            Route("/v1/statements/{day}", get_statement, methods=["GET"]),
            Route("/v1/duplicates", get_duplicates, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/_faults", set_faults, methods=["POST"]),
            Route("/v1/_fault_plan", fault_plan, methods=["GET", "POST"]),
            Route("/v1/_registry", registry, methods=["GET", "POST"]),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.store = store
    app.state.faults = faults
    return app


def main() -> None:
    """Run the simulator with uvicorn (SIGTERM / SIGINT shut it down gracefully).

    ``BANK_SIM_PORT=0`` picks a free port; ``SKILLPAY_READY_FILE`` receives the bound address.
    """
    from skillpay.ready import run_uvicorn

    from skillpay import tracing
    from skillpay.grpc_server import configure_logging
    from skillpay.settings import CommonSettings

    common = CommonSettings()
    configure_logging(common.log_level, "bank", common.log_format)
    tracing.configure_from(common, "bank")
    settings = BankSimSettings()
    app = build_app(settings)
    run_uvicorn(
        app,
        settings.host,
        settings.port,
        "bank simulator",
        lifespan="on",
        log_level="info",
        log_config=None,  # uvicorn's lines through our formatter
        # Held (fault-injected) responses must not delay a shutdown for long.
        timeout_graceful_shutdown=5,
    )

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
         "memo": str}                  # 0..256 chars
                                       # unknown members are ignored

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

    A payment is "accepted" first and reaches its outcome ``SETTLE_DELAY_MS``
    after acceptance (``settled_at`` = that instant, also set for failed
    payments).  Simulated failure: a ``payee_name`` starting with ``"FAIL"``
    ends "failed" with ``failure_reason`` ``"account_closed"``.

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

Any other path gives ``404`` ``{"error": "unknown_endpoint"}`` (distinct from
``not_found`` so that a wrong base URL is never mistaken for "no such payment").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from stdnum.cn import ric

from bank_sim.settings import BankSimSettings
from bank_sim.store import CHANNELS, PaymentRequest, PaymentStore, SubmitOutcome, mask_id_number

log = logging.getLogger("bank_sim")

MAX_BODY_BYTES = 64 * 1024
MAX_AMOUNT_FEN = 2**63 - 1
MAX_HOLD_MS = 10 * 60 * 1000
PAYMENT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,63}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

Violations = list[dict[str, str]]


def _invalid(violations: Violations) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "violations": violations}, status_code=422)


async def _json_object(request: Request) -> tuple[dict[str, Any] | None, Violations]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None, [{"field": "body", "description": "must be a JSON object"}]
    if not isinstance(body, dict):
        return None, [{"field": "body", "description": "must be a JSON object"}]
    return body, []


def _check_str(
    body: dict[str, Any], field: str, violations: Violations, *, min_len: int = 1, max_len: int
) -> str | None:
    value = body.get(field)
    if field not in body or value is None:
        violations.append({"field": field, "description": "is required"})
    elif not isinstance(value, str):
        violations.append({"field": field, "description": "must be a string"})
    elif not min_len <= len(value) <= max_len:
        violations.append(
            {"field": field, "description": f"must be {min_len}..{max_len} characters long"}
        )
    else:
        return value
    return None


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
    if channel == "bank_transfer":
        payee_account = _check_str(body, "payee_account", violations, max_len=64)

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
        ),
        [],
    )


def build_app(settings: BankSimSettings) -> Starlette:
    """Build the ASGI app.  The store is opened here (so the app also works
    in-process without a lifespan) and closed on lifespan shutdown."""
    store = PaymentStore(settings.database_path, timedelta(milliseconds=settings.settle_delay_ms))
    faults = {"hold_responses_ms": 0, "close_accounts": False}

    async def submit_payment(request: Request) -> JSONResponse:
        body, violations = await _json_object(request)
        payment = None
        if body is not None:
            payment, violations = validate_payment(body)
        if payment is None:
            log.info("payment rejected: invalid request (%d violations)", len(violations))
            response = _invalid(violations)
        else:
            outcome, record = await asyncio.to_thread(store.submit, payment, faults["close_accounts"])
            if outcome is SubmitOutcome.CREATED:
                log.info(
                    "payment accepted payment_id=%s channel=%s amount_fen=%d payee=%s bank_ref=%s",
                    record.payment_id,
                    record.channel,
                    record.amount_fen,
                    mask_id_number(payment.payee_id_number),
                    record.bank_ref,
                )
                response = JSONResponse(record.to_json(), status_code=201)
            elif outcome is SubmitOutcome.REPLAYED:
                log.info(
                    "duplicate payment refused payment_id=%s outcome=replayed bank_ref=%s status=%s "
                    "(identical resubmission; the stored record is returned, nothing is paid again)",
                    record.payment_id,
                    record.bank_ref,
                    record.status,
                )
                response = JSONResponse(record.to_json(), status_code=200)
            else:
                log.warning(
                    "duplicate payment refused payment_id=%s outcome=conflict "
                    "(payment_id already used for a different payment; nothing changes)",
                    record.payment_id,
                )
                response = JSONResponse(
                    {
                        "error": "payment_id_conflict",
                        "message": f"payment_id {record.payment_id} was already used "
                        "for a different payment",
                    },
                    status_code=409,
                )
        hold_ms = faults["hold_responses_ms"]
        if hold_ms:
            log.info("fault injection: holding the response for %d ms", hold_ms)
            await asyncio.sleep(hold_ms / 1000)
        return response

    async def get_payment(request: Request) -> JSONResponse:
        record = await asyncio.to_thread(store.get, request.path_params["payment_id"])
        if record is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(record.to_json())

    async def get_statement(request: Request) -> JSONResponse:
        raw = request.path_params["day"]
        try:
            if not DATE_RE.fullmatch(raw):
                raise ValueError(raw)
            day = date.fromisoformat(raw)
        except ValueError:
            return _invalid([{"field": "date", "description": "must be a calendar date YYYY-MM-DD"}])
        records = await asyncio.to_thread(store.statement, day)
        entries = [record.to_statement_entry() for record in records]
        return JSONResponse(
            {
                "date": day.isoformat(),
                "entries": entries,
                "count": len(entries),
                "total_fen": sum(r.amount_fen for r in records if r.status == "settled"),
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
            Route("/v1/payments/{payment_id}", get_payment, methods=["GET"]),
            Route("/v1/statements/{day}", get_statement, methods=["GET"]),
            Route("/v1/duplicates", get_duplicates, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/_faults", set_faults, methods=["POST"]),
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

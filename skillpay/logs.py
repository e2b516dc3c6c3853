"""Log lines every SkillPay process writes: escaped, bounded, redacted, and (by default) JSON.

``SKILLPAY_LOG_FORMAT=json`` (the default) writes one JSON object per line::

    {"time": "2026-05-01T08:00:00.123+00:00", "level": "INFO", "service": "voucher",
     "request_id": "redeem-42", "trace_id": "4bf9…", "span_id": "00f0…", "logger": "skillpay.grpc_server",
     "message": "rpc /skillpay.voucher.v1.VoucherService/RedeemVoucher code=OK ms=12.3 request_id=redeem-42",
     "rpc_method": "/skillpay.voucher.v1.VoucherService/RedeemVoucher", "code": "OK", "ms": 12.3}

``text`` writes ``time level logger: message``. Either way a line is one line whatever callers
send (control characters escaped), a message is cut after MAX_LOG_MESSAGE_CHARS, and anything
shaped like a resident ID number is replaced before the line is written: IDs must never be
logged (V1), and this is the last guard should some code path forget.

The request id and the trace come from context variables, so every line written while a call or
an event is handled carries them without the code that logs passing them along.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from datetime import datetime, timezone

from skillpay import tracing

# Set per RPC by the gRPC server interceptor, per event by the Kafka consumer ("event:<id>").
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

MAX_LOG_MESSAGE_CHARS = 2_000
MAX_FIELD_CHARS = 500
MAX_EXCEPTION_CHARS = 20_000
MAX_FIELDS = 30

# 17 digits and a digit or X (GB 11643), not part of a longer run of digits. Over-matching (an
# 18-digit run inside a hex id) is the cheap side to err on.
_RESIDENT_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
REDACTED = "[id redacted]"

# The attributes every LogRecord has; anything else on a record came from ``extra={...}``.
# (uvicorn's color_message repeats the message with terminal colours.)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName", "color_message"}

_service = ""


def set_service(name: str) -> None:
    global _service
    _service = name


def redact(text: str) -> str:
    return _RESIDENT_ID.sub(REDACTED, text)


def escape(text: str) -> str:
    """Non-printable characters (CR, LF, ANSI escapes, bidi overrides) as Python escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more)"


def safe_text(text: str, limit: int = MAX_LOG_MESSAGE_CHARS) -> str:
    """Escaped, redacted and bounded: what may go into a log line from anywhere."""
    return _bounded(redact(escape(text)), limit)


def _safe_value(value, depth: int = 0):
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        # An 18-digit integer may be an ID number without its X.
        return value if abs(value) < 10**17 or not _RESIDENT_ID.fullmatch(str(value)) else REDACTED
    if isinstance(value, (list, tuple, set, frozenset)) and depth < 3:
        return [_safe_value(v, depth + 1) for v in list(value)[:MAX_FIELDS]]
    if isinstance(value, dict) and depth < 3:
        return {safe_text(str(k), 100): _safe_value(v, depth + 1) for k, v in list(value.items())[:MAX_FIELDS]}
    return safe_text(str(value), MAX_FIELD_CHARS)


@contextlib.contextmanager
def request_context(request_id: str):
    """Log lines written inside carry this request id (an event's is ``event:<event id>``)."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


class SafeFormatter(logging.Formatter):
    """One log line per message, whatever callers send: control characters in the message are
    escaped (a request id with CR/LF or ANSI escapes cannot forge lines or colour a terminal),
    resident IDs are redacted and a message longer than MAX_LOG_MESSAGE_CHARS is cut.
    Tracebacks keep their lines."""

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord({**record.__dict__, "msg": safe_text(record.getMessage()), "args": None})
        return redact(super().format(safe))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, request_id, trace_id, span_id, logger,
    message, the record's ``extra`` fields, and ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
        }
        if _service:
            line["service"] = _service
        request_id = request_id_var.get()
        if request_id != "-":
            line["request_id"] = safe_text(request_id, 200)
        trace_id, span_id = tracing.current_ids()
        if trace_id:
            line["trace_id"], line["span_id"] = trace_id, span_id
        line["logger"] = record.name
        line["message"] = safe_text(record.getMessage())
        extras = [(k, v) for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")]
        for key, value in extras[:MAX_FIELDS]:
            if key not in line:  # a field never overwrites the line's own keys
                line[key] = _safe_value(value)
        # Tracebacks keep their newlines: JSON encodes them, and ensure_ascii escapes the rest.
        if record.exc_info:
            line["exception"] = _bounded(redact(self.formatException(record.exc_info)), MAX_EXCEPTION_CHARS)
        elif record.exc_text:
            line["exception"] = _bounded(redact(record.exc_text), MAX_EXCEPTION_CHARS)
        if record.stack_info:
            line["stack"] = _bounded(redact(record.stack_info), MAX_EXCEPTION_CHARS)
        # ASCII only: no raw control, invisible or reordering character reaches a terminal or a log shipper.
        return json.dumps(line, ensure_ascii=True, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "text":
        return SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_format == "json":
        return JsonFormatter()
    raise ValueError(f"SKILLPAY_LOG_FORMAT must be 'json' or 'text', not {log_format[:20]!r}")

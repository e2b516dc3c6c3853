"""JSON log lines: one object per line, with the call's request id and trace, never a resident ID."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from skillpay import logs, tracing
from skillpay.logs import REDACTED, JsonFormatter, SafeFormatter, formatter_for, request_context

pytestmark = pytest.mark.unit

RESIDENT_ID = "11010519491231002X"


def _record(msg: str, *args, exc_info=None, extra: dict | None = None, level=logging.INFO) -> logging.LogRecord:
    logger = logging.getLogger("skillpay.test")
    return logger.makeRecord("skillpay.test", level, __file__, 1, msg, args, exc_info, extra=extra)


def _line(record: logging.LogRecord) -> tuple[str, dict]:
    text = JsonFormatter().format(record)
    return text, json.loads(text)


@pytest.fixture(autouse=True)
def _service_name():
    logs.set_service("voucher")
    yield
    logs.set_service("")


def test_a_line_has_time_level_service_logger_message_and_the_extra_fields():
    text, line = _line(_record("rpc %s code=%s", "/x/Y", "OK", extra={"code": "OK", "ms": 1.5, "count": 3,
                                                                      "nested": {"a": [1, "b"]}}))
    assert list(line)[:5] == ["time", "level", "service", "logger", "message"]
    assert line["level"] == "INFO" and line["service"] == "voucher" and line["logger"] == "skillpay.test"
    assert line["message"] == "rpc /x/Y code=OK"
    assert (line["code"], line["ms"], line["count"], line["nested"]) == ("OK", 1.5, 3, {"a": [1, "b"]})
    assert line["time"].endswith("+00:00") and "T" in line["time"]  # ISO 8601, timezone-aware
    assert "request_id" not in line and "trace_id" not in line  # outside a call, tracing off


def test_a_field_cannot_overwrite_the_lines_own_keys():
    _, line = _line(_record("hello", extra={"service": "forged", "request": "r"}))
    assert line["service"] == "voucher" and line["request"] == "r"


def test_newlines_and_control_characters_stay_inside_one_escaped_line():
    text, line = _line(_record("request_id=%s", "abc\r\nINFO forged admin login\x1b[31m\u202e"))
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u202e" not in text
    assert text.isascii()
    assert line["message"] == "request_id=abc\\r\\nINFO forged admin login\\x1b[31m\\u202e"


def test_a_huge_message_and_a_huge_field_are_cut():
    text, line = _line(_record("id=%s", "x" * 100_000, extra={"big": "y" * 100_000}))
    assert len(text) < logs.MAX_LOG_MESSAGE_CHARS + logs.MAX_FIELD_CHARS + 400
    assert line["message"].endswith("more)") and line["big"].endswith("more)")


def test_a_resident_id_is_redacted_in_the_message_the_fields_and_the_traceback():
    try:
        raise ValueError(f"bad holder {RESIDENT_ID}")
    except ValueError:
        record = _record("issuing for %s", RESIDENT_ID.lower(), exc_info=sys.exc_info(),
                         extra={"holder": RESIDENT_ID, "ids": [RESIDENT_ID], "number": 110105194912310021})
    text, line = _line(record)
    assert RESIDENT_ID not in text and RESIDENT_ID.lower() not in text and "110105194912310021" not in text
    assert line["message"] == f"issuing for {REDACTED}"
    assert line["holder"] == REDACTED and line["ids"] == [REDACTED] and line["number"] == REDACTED
    assert f"ValueError: bad holder {REDACTED}" in line["exception"]
    assert "\n" in line["exception"]  # the traceback keeps its lines inside the JSON string


def test_numbers_that_are_not_resident_ids_are_left_alone():
    _, line = _line(_record("amount=%d offset=%d ts=%s", 150000, 1234567890123456789, "20260501080000123456",
                            extra={"fen": 150000}))
    assert line["message"] == "amount=150000 offset=1234567890123456789 ts=20260501080000123456"
    assert line["fen"] == 150000


def test_the_text_format_redacts_too():
    text = SafeFormatter("%(levelname)s %(message)s").format(_record("id %s", RESIDENT_ID))
    assert text == f"INFO id {REDACTED}"


def test_the_request_id_comes_from_the_context_of_the_call_or_event():
    with request_context("event:1234-abcd"):
        _, line = _line(_record("applied"))
    assert line["request_id"] == "event:1234-abcd"
    _, after = _line(_record("later"))
    assert "request_id" not in after


def test_the_trace_and_span_ids_come_from_the_current_span():
    tracing.configure("voucher", "memory")
    try:
        with tracing.server_span("/skillpay.voucher.v1.VoucherService/RedeemVoucher", ()) as span:
            _, line = _line(_record("inside"))
            ctx = span.get_span_context()
        assert line["trace_id"] == format(ctx.trace_id, "032x") and len(line["trace_id"]) == 32
        assert line["span_id"] == format(ctx.span_id, "016x")
        _, outside = _line(_record("outside"))
        assert "trace_id" not in outside
    finally:
        tracing.shutdown()


def test_the_format_is_chosen_by_name():
    assert isinstance(formatter_for("json"), JsonFormatter)
    assert isinstance(formatter_for("text"), SafeFormatter)
    with pytest.raises(ValueError):
        formatter_for("xml")

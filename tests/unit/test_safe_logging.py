"""Log lines cannot be forged or flooded by what callers send."""

from __future__ import annotations

import logging

import pytest

from skillpay.grpc_server import MAX_LOG_MESSAGE_CHARS, SafeFormatter

pytestmark = pytest.mark.unit


def _format(msg: str, *args, exc_info=None) -> str:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)
    return SafeFormatter("%(levelname)s %(message)s").format(record)


def test_a_request_id_with_newlines_and_ansi_escapes_stays_on_one_line():
    line = _format("rpc done request_id=%s", "abc\r\nINFO forged admin login\x1b[31m")
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line == "INFO rpc done request_id=abc\\r\\nINFO forged admin login\\x1b[31m"


def test_a_huge_message_is_cut_and_says_how_much():
    line = _format("id=%s", "x" * 100_000)
    assert len(line) < MAX_LOG_MESSAGE_CHARS + 100 and "more)" in line


def test_tracebacks_keep_their_lines():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = _format("failed", exc_info=sys.exc_info())
    assert line.startswith("INFO failed\nTraceback") and "ValueError: boom" in line


def test_the_edge_names_every_bad_string_field_of_a_request_at_any_depth():
    from skillpay.grpc_server import MAX_ANY_TEXT, request_violations
    from skillpay.voucher.v1 import voucher_pb2 as pb

    ok = pb.RegisterInstitutionRequest(request_id="r-1", name="南阳职业培训学校", address="卧龙区 1号",
                                       occupation_codes=["6-31-01-03"])
    assert request_violations(ok) == []
    bad = pb.RegisterInstitutionRequest(request_id="r\x00", name="A\u202eB", address="x" * (MAX_ANY_TEXT + 1),
                                        occupation_codes=["ok", "line\nbreak", "\ufeffbom"])
    assert [v.field for v in request_violations(bad)] == [
        "request_id", "name", "address", "occupation_codes[1]", "occupation_codes[2]"]

"""Reading bank statements (issue 8): the CSV layout and camt.053.001.08, streamed, amounts to the fen,
every malformed line named by number and field without its value, DTDs and entities refused."""

from __future__ import annotations

import io
from datetime import date

import pytest

from bench.statements import camt053_entry, line, write_camt053, write_csv
from ledger_svc.adapters.statement_files import (
    CAMT053_NS,
    CSV_HEADER,
    MAX_REPORTED,
    StatementFormatError,
    read_camt053,
    read_csv,
)
from ledger_svc.domain.reconciliation import CRDT, StatementLine

pytestmark = pytest.mark.unit
DAY = date(2026, 5, 6)
HEADER = ",".join(CSV_HEADER) + "\r\n"
LINES = [
    line(2, DAY, "po_a", 1, bank_ref="BK1"),
    line(3, DAY, "po_b", 123_456_789_01, bank_ref="BK2", channel="bank_transfer"),
    line(4, DAY, "po_c", 29, cd=CRDT, reason="AC04", bank_ref="BK3"),
]


def _csv(lines=LINES) -> bytes:
    out = io.StringIO(newline="")
    write_csv(lines, out)
    return out.getvalue().encode()


def _camt(lines=LINES, fund="ESF") -> bytes:
    out = io.StringIO()
    write_camt053(fund, DAY, lines, out)
    return out.getvalue().encode()


def _refused(reader, content) -> tuple[list[StatementLine], list[tuple[str, str]]]:
    """What a reader yielded before it refused the file, and the violations it named."""
    read = []
    with pytest.raises(StatementFormatError) as refused:
        for item in reader(content):
            read.append(item)
    return read, [(v.field, v.description) for v in refused.value.violations]


# -- CSV --------------------------------------------------------------------------------------

@pytest.mark.policy("F3")
def test_F3_csv_lines_come_back_with_every_field_and_exact_fen(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(_csv())
    for source in (path, str(path), io.BytesIO(_csv()), _csv(), io.StringIO(_csv().decode(), newline="")):
        assert list(read_csv(source)) == LINES


def test_csv_with_a_byte_order_mark_is_read():
    assert list(read_csv(b"\xef\xbb\xbf" + _csv())) == LINES


def test_csv_with_another_header_is_refused_at_once():
    read, problems = _refused(read_csv, _csv().replace(b"amount_fen", b"amount"))
    assert read == [] and problems == [("line 1: header", "must be exactly " + ",".join(CSV_HEADER))]
    assert _refused(read_csv, b"")[1][0][0] == "line 1: header"


def test_every_malformed_csv_line_is_named_by_line_and_field_and_good_lines_still_stream():
    secret = "110105199001011234"  # a resident ID in a field must never come back in a message
    rows = [
        "2026-05-06,2026-05-06,BK1,po_a,ESF,ssc_card,DBIT,100,BOOK,",  # line 2: good
        "2026-02-30,20260506,BK2,po_b,ESF,ssc_card,DBIT,0,BOOK,",  # 3: two dates, zero fen
        f"2026-05-06,2026-05-06,{'X' * 100_000},po_c,ESF,ssc_card,DBIT,12.5,PDNG,",  # 4: huge ref, decimal, status
        f"2026-05-06,2026-05-06,BK4,{secret} ,E SF,SSC,DEBIT,-5,BOOK,",  # 5
        "2026-05-06,2026-05-06,BK5,po_e,ESF,ssc_card,DBIT,100,BOOK,AC04",  # 6: reason on a debit
        "2026-05-06,2026-05-06,BK6,po_f,ESF,ssc_card,CRDT,100,BOOK,",  # 7: return without a reason
        "2026-05-06,2026-05-06,BK7,po_g,ESF,ssc_card,DBIT,100",  # 8: fields missing
        "",  # a blank line is tolerated
        "2026-05-06,2026-05-06,BK8,po_h,ESF,ssc_card,DBIT,\uff11\uff12,BOOK,",  # 10: full-width digits
        "2026-05-06,2026-05-06,BK9,po_i,ESF,ssc_card,CRDT,77,BOOK,MD07",  # 11: good
    ]
    content = (HEADER + "\r\n".join(rows) + "\r\n").encode()
    read, problems = _refused(read_csv, content)
    assert [(s.line, s.payment_id, s.amount_fen) for s in read] == [(2, "po_a", 100), (11, "po_i", 77)]
    assert problems == [
        ("line 3: booking_date", "must be a date YYYY-MM-DD"),
        ("line 3: value_date", "must be a date YYYY-MM-DD"),
        ("line 3: amount_fen", "must be a positive whole number of fen (digits only)"),
        ("line 4: bank_ref", "must be 1-64 letters, digits or '_.:/-'"),
        ("line 4: amount_fen", "must be a positive whole number of fen (digits only)"),
        ("line 4: status", "must be BOOK"),
        ("line 5: payment_id", "must be 1-64 letters, digits or '_.:/-'"),
        ("line 5: fund_source", "must be 1-64 letters, digits, '_', '.' or '-'"),
        ("line 5: channel", "must be 1-32 lower-case letters, digits or '_'"),
        ("line 5: amount_fen", "must be a positive whole number of fen (digits only)"),
        ("line 5: credit_debit", "must be DBIT or CRDT"),
        ("line 6: return_reason", "must be empty on a DBIT line"),
        ("line 7: return_reason", "must be a 4-character ISO return reason code on a CRDT line"),
        ("line 8: line", "has 8 fields; 10 are expected"),
        ("line 10: amount_fen", "must be a positive whole number of fen (digits only)"),
    ]
    with pytest.raises(StatementFormatError) as refused:
        list(read_csv(content))
    message = str(refused.value)
    assert secret not in message and "XXXX" not in message and len(message) < 2_000


def test_bytes_that_are_not_utf8_are_named_and_reading_goes_on():
    content = _csv()[:-2] + b"\r\n" + b"2026-05-06,2026-05-06,BK\xff,po_x,ESF,ssc_card,DBIT,5,BOOK,\r\n"
    read, problems = _refused(read_csv, content)
    assert len(read) == 3 and problems == [("line 5: bank_ref", "must be 1-64 letters, digits or '_.:/-'")]


def test_a_file_of_bad_lines_names_the_first_hundred_and_counts_the_rest():
    content = (HEADER + "bad\r\n" * 150).encode()
    _, problems = _refused(read_csv, content)
    assert len(problems) == MAX_REPORTED + 1
    assert problems[0] == ("line 2: line", "has 1 fields; 10 are expected")
    assert problems[-1] == ("statement", "50 more problems are not listed")


class _CountingStream(io.RawIOBase):
    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self._data.readinto(buffer)
        self.read_bytes += n
        return n


@pytest.mark.parametrize("fmt", ["csv", "camt053"])
def test_readers_stream_the_first_line_comes_before_the_file_is_read(fmt):
    lines = [line(i + 2, DAY, f"po_{i}", 100 + i) for i in range(50_000)]
    data = _csv(lines) if fmt == "csv" else _camt(lines)
    stream = _CountingStream(data)
    reader = read_csv(io.BufferedReader(stream)) if fmt == "csv" else read_camt053(io.BufferedReader(stream))
    first = next(reader)
    assert first.payment_id == "po_0" and stream.read_bytes < len(data) / 4
    assert sum(1 for _ in reader) == 49_999


# -- camt.053 ---------------------------------------------------------------------------------

@pytest.mark.policy("F3")
def test_F3_camt053_entries_come_back_as_the_csv_lines_do():
    # camt.053 carries no channel; a line's number is its entry's ordinal.
    assert [s._replace(channel="", line=i + 1) for i, s in enumerate(LINES)] == list(read_camt053(_camt()))


@pytest.mark.parametrize("yuan, fen", [("0.01", 1), ("0.29", 29), ("12.3", 1_230), ("12", 1_200),
                                       ("1.10", 110), ("9999999999.99", 999_999_999_999),
                                       ("4503599627370.49", None), ("12.345", None), ("-1.00", None),
                                       ("1e2", None), ("0.00", None), (" 12.00", None), ("12,00", None),
                                       ("", None), ("\uff11.00", None)])
def test_camt053_amounts_are_parsed_to_fen_exactly(yuan, fen):
    entry = camt053_entry(line(1, DAY, "po_a", 100)).replace(">1.00<", f">{yuan}<")
    content = _wrap(entry)
    if fen is None:
        assert _refused(read_camt053, content)[1] == [
            ("entry 1: Amt", "must be a positive amount in yuan with at most two decimals")]
    else:
        assert [s.amount_fen for s in read_camt053(content)] == [fen]


def _wrap(entries: str, fund: str = "ESF", prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<Document xmlns="{CAMT053_NS}"><BkToCstmrStmt>'
            f"<Stmt><Acct><Id><Othr><Id>{fund}</Id></Othr></Id></Acct>{entries}</Stmt>"
            f"</BkToCstmrStmt></Document>").encode()


def test_every_malformed_camt053_entry_is_named_and_good_entries_still_stream():
    good = camt053_entry(line(1, DAY, "po_a", 100))
    entries = [
        good,
        good.replace('Ccy="CNY"', 'Ccy="USD"').replace("<CdtDbtInd>DBIT", "<CdtDbtInd>DEBIT"),
        good.replace("<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>").replace("<Dt>2026-05-06</Dt></BookgDt>",
                                                               "<Dt>2026-13-01</Dt></BookgDt>"),
        good.replace("<EndToEndId>po_a</EndToEndId>", "<EndToEndId>" + "Y" * 5_000 + "</EndToEndId>")
            .replace("<AcctSvcrRef>BR000000001</AcctSvcrRef>", ""),
        good.replace("</Refs>", "</Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>"),
        good.replace("DBIT", "CRDT"),
        good.replace("<NtryDtls><TxDtls>", "<NtryDtls><TxDtls></TxDtls><TxDtls>"),
        camt053_entry(line(8, DAY, "po_h", 250, cd=CRDT, reason="MD07")),
    ]
    read, problems = _refused(read_camt053, _wrap("".join(entries)))
    assert [(s.line, s.payment_id, s.credit_debit, s.return_reason) for s in read] == [
        (1, "po_a", "DBIT", ""), (8, "po_h", "CRDT", "MD07")]
    assert problems == [
        ("entry 2: Amt/@Ccy", "must be CNY"),
        ("entry 2: CdtDbtInd", "must be DBIT or CRDT"),
        ("entry 3: Sts/Cd", "must be BOOK"),
        ("entry 3: BookgDt", "must hold a date (Dt YYYY-MM-DD)"),
        ("entry 4: AcctSvcrRef", "must be 1-64 letters, digits or '_.:/-'"),
        ("entry 4: NtryDtls/TxDtls/Refs/EndToEndId", "must be 1-64 letters, digits or '_.:/-'"),
        ("entry 5: NtryDtls/TxDtls/RtrInf", "must be absent on a DBIT entry"),
        ("entry 6: NtryDtls/TxDtls/RtrInf/Rsn/Cd", "must be a 4-character ISO return reason code on a CRDT entry"),
        ("entry 7: NtryDtls/TxDtls", "must hold exactly one transaction"),
    ]


def test_camt053_booking_time_with_an_offset_is_a_shanghai_day():
    entry = camt053_entry(line(1, DAY, "po_a", 100)).replace(
        "<BookgDt><Dt>2026-05-06</Dt></BookgDt>", "<BookgDt><DtTm>2026-05-05T17:30:00Z</DtTm></BookgDt>")
    assert [s.booking_date for s in read_camt053(_wrap(entry))] == [DAY]


def test_camt053_without_a_fund_account_or_of_another_version_is_refused():
    entry = camt053_entry(line(1, DAY, "po_a", 100))
    _, problems = _refused(read_camt053, _wrap(entry, fund="bad fund!"))
    assert problems == [
        ("statement 1: Acct/Id/Othr/Id", "must be the fund source (1-64 letters, digits, '_', '.' or '-')"),
        ("entry 1: Stmt/Acct/Id/Othr/Id", "the entry's statement names no valid fund source account")]
    older = _wrap(entry).replace(b"camt.053.001.08", b"camt.053.001.02")
    assert _refused(read_camt053, older) == ([], [
        ("document", f"must be an ISO 20022 Document in {CAMT053_NS}")])
    assert _refused(read_camt053, b"<Document") == ([], [("document", "is not well-formed XML (line 1)")])
    assert _refused(read_camt053, b"") == ([], [("document", "is not well-formed XML (line 1)")])


REFUSED = [("document", "must not declare a DTD, entities or external references")]


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',  # a bomb
    '<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>',  # an external entity
    '<!DOCTYPE Document SYSTEM "http://127.0.0.1:1/camt.dtd">',  # an external DTD
    "<!DOCTYPE Document>",  # any DTD at all
    "<!--" + "x" * 200_000 + "-->" + '<!DOCTYPE Document [<!ENTITY a "b">]>',  # past the first chunks
])
def test_a_dtd_or_an_entity_is_refused_before_anything_is_read(prolog):
    entry = camt053_entry(line(1, DAY, "po_a", 100)).replace("po_a", "po_a&b;" if "ENTITY b" in prolog else "po_a")
    assert _refused(read_camt053, _wrap(entry, prolog=prolog)) == ([], REFUSED)


def test_an_undeclared_entity_in_the_body_is_not_expanded():
    entry = camt053_entry(line(1, DAY, "po_a", 100)).replace("po_a", "po_a&x;")
    _, problems = _refused(read_camt053, _wrap(entry))
    assert problems[0][0] == "document" and problems[0][1].startswith("is not well-formed XML")

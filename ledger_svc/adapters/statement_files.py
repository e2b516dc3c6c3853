"""Reading the bank's daily statement: the CSV layout and ISO 20022 camt.053.001.08 (issue 8).

Both readers stream: they yield :class:`StatementLine` values one by one and hold no more than one
line (or one XML entry) in memory. A malformed line is not yielded; the readers go on to the end
and then raise :class:`StatementFormatError` naming every problem by line (CSV) or entry (camt.053)
and field, never echoing the value (the file comes from outside; a field may be megabytes long).
At most :data:`MAX_REPORTED` problems are named, then how many more there were.

Amounts become integer fen exactly: CSV carries fen; camt.053 carries yuan with at most two
decimals, split at the point as text, never through a float. The XML is parsed with defusedxml:
a document type declaration or an entity is refused before anything is read (the file is
untrusted). The layouts are documented in docs/bank_statement_formats.md.

The camt.053 reader feeds the standard library's C parser in chunks and hands out each complete
entry of a statement, dropping it from the tree once read.
A document type declaration can only stand before the root element, so defusedxml's parser reads
the document up to its root element's start and refuses any DTD, entity declaration or external
reference there; once the root element has started none can follow, and the rest is parsed by
the standard library's C parser alone (defusedxml's own parser is pure Python, about three times
slower: a million entries took 26 s instead of 9 s).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import BinaryIO, TextIO
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ledger_svc.domain.reconciliation import BOOKED, CRDT, DBIT, StatementLine
from skillpay.clock import SHANGHAI
from skillpay.errors import FieldViolation, InvalidArgument

CSV_HEADER = ("booking_date", "value_date", "bank_ref", "payment_id", "fund_source", "channel", "credit_debit",
              "amount_fen", "status", "return_reason")
CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
MAX_REPORTED = 100

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}")  # bank_ref and payment_id: up to 64 characters
_FUND = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")  # as skillpay.fields.FUND_CODE
_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,31}")
_FEN = re.compile(r"[1-9][0-9]{0,13}")  # 1 fen up to below 10**14 (skillpay.fields.ALLOCATION_FEN)
_YUAN = re.compile(r"(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,2}))?")  # at most two decimals: fen exactly
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_REASON = re.compile(r"[A-Z0-9]{4}")  # ISO 20022 ExternalReturnReason1Code (AC04, MD07, ...)


class StatementFormatError(InvalidArgument):
    """The statement has malformed lines; nothing of it should be applied. One violation per problem."""


class _Problems:
    """Collects what is wrong, bounded: the first MAX_REPORTED by name, then a count."""

    def __init__(self, where: str):
        self.where = where  # "line" (CSV) or "entry" (camt.053)
        self.violations: list[FieldViolation] = []
        self.more = 0

    def add(self, number: int | None, field: str, description: str) -> None:
        if len(self.violations) >= MAX_REPORTED:
            self.more += 1
            return
        name = f"{self.where} {number}: {field}" if number is not None else field
        self.violations.append(FieldViolation(name, description))

    def raise_if_any(self) -> None:
        if self.violations:
            violations = list(self.violations)
            if self.more:
                violations.append(FieldViolation("statement", f"{self.more} more problems are not listed"))
            raise StatementFormatError(violations)


class _Dates:
    """YYYY-MM-DD to date; a statement has few distinct dates, so they are parsed once each."""

    def __init__(self):
        self._seen: dict[str, date] = {}

    def __call__(self, text: str | None) -> date | None:
        known = self._seen.get(text)
        if known is not None or text is None:
            return known
        if not _DATE.fullmatch(text):
            return None
        try:
            value = date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            return None
        if len(self._seen) < 10_000:
            self._seen[text] = value
        return value


def _text_stream(source) -> tuple[TextIO, bool]:
    if isinstance(source, (str, os.PathLike)):
        return open(source, encoding="utf-8-sig", errors="replace", newline=""), True
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    if isinstance(source, io.TextIOBase):
        return source, False
    # Bad bytes become U+FFFD, which no field allows: the line is reported, reading goes on.
    return io.TextIOWrapper(source, encoding="utf-8-sig", errors="replace", newline=""), False


def read_csv(source: str | os.PathLike | BinaryIO | TextIO | bytes) -> Iterator[StatementLine]:
    """The statement lines of a CSV statement (UTF-8, RFC 4180, the header of CSV_HEADER).

    Yields each well-formed line; at the end raises StatementFormatError if any line was not.
    """
    stream, owned = _text_stream(source)
    problems = _Problems("line")
    try:
        reader = csv.reader(stream, strict=True)
        try:
            header = next(reader, None)
        except csv.Error:
            header = None
        if header is None or tuple(header) != CSV_HEADER:
            problems.add(1, "header", "must be exactly " + ",".join(CSV_HEADER))
            problems.raise_if_any()
        parse_date = _Dates()
        ref_ok, fund_ok, channel_ok, fen_ok = _REF.fullmatch, _FUND.fullmatch, _CHANNEL.fullmatch, _FEN.fullmatch
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                problems.add(reader.line_num, "line", "is not RFC 4180 CSV (a quote or field size problem)")
                continue
            n = reader.line_num
            if len(row) != 10:
                if row:  # a blank line is tolerated
                    problems.add(n, "line", f"has {len(row)} fields; 10 are expected")
                continue
            booking, value, bank_ref, payment_id, fund, channel, cd, amount, status, reason = row
            booking_date = parse_date(booking)
            value_date = parse_date(value)
            if (booking_date is not None and value_date is not None and ref_ok(bank_ref) and ref_ok(payment_id)
                    and fund_ok(fund) and channel_ok(channel) and fen_ok(amount) and status == BOOKED
                    and ((cd == DBIT and not reason) or (cd == CRDT and _REASON.fullmatch(reason)))):
                yield StatementLine(n, booking_date, value_date, bank_ref, payment_id, fund, channel, cd,
                                    int(amount), status, reason)
                continue
            # The slow path: name every field that is wrong.
            if booking_date is None:
                problems.add(n, "booking_date", "must be a date YYYY-MM-DD")
            if value_date is None:
                problems.add(n, "value_date", "must be a date YYYY-MM-DD")
            if not ref_ok(bank_ref):
                problems.add(n, "bank_ref", "must be 1-64 letters, digits or '_.:/-'")
            if not ref_ok(payment_id):
                problems.add(n, "payment_id", "must be 1-64 letters, digits or '_.:/-'")
            if not fund_ok(fund):
                problems.add(n, "fund_source", "must be 1-64 letters, digits, '_', '.' or '-'")
            if not channel_ok(channel):
                problems.add(n, "channel", "must be 1-32 lower-case letters, digits or '_'")
            if not fen_ok(amount):
                problems.add(n, "amount_fen", "must be a positive whole number of fen (digits only)")
            if status != BOOKED:
                problems.add(n, "status", "must be BOOK")
            if cd not in (DBIT, CRDT):
                problems.add(n, "credit_debit", "must be DBIT or CRDT")
            elif cd == DBIT and reason:
                problems.add(n, "return_reason", "must be empty on a DBIT line")
            elif cd == CRDT and not _REASON.fullmatch(reason):
                problems.add(n, "return_reason", "must be a 4-character ISO return reason code on a CRDT line")
    finally:
        if owned:
            stream.close()
    problems.raise_if_any()


def _yuan_to_fen(text: str | None) -> int | None:
    """'1234.5' -> 123450; exactly, by splitting the text (never a float). None if not an amount."""
    if text is None:
        return None
    m = _YUAN.fullmatch(text)
    if not m:
        return None
    whole, part = m.groups()
    fen = int(whole) * 100 + (int(part.ljust(2, "0")) if part else 0)
    return fen or None


class _RootSeen:
    """The target of the defusedxml gate: notes that the root element has started."""

    started = False

    def start(self, tag, attrib):
        self.started = True

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return None


CHUNK = 1 << 16


class _WrongDocument(Exception):
    pass


def _statement_children(stream: BinaryIO, tags: "_CamtTags") -> Iterator[tuple[int, Element]]:
    """(statement number, element) for each complete child of a Stmt (its Acct, each Ntry, ...), in
    document order, each dropped from the tree once handed out: memory stays flat.

    The C parser builds the tree with no Python call per element but the factory's; after each
    chunk, all children of a statement but its last (which may still be open) are complete. DTDs,
    entities and external references are refused by the defusedxml gate before the root element.
    """
    gate_target = _RootSeen()
    gate = DefusedXMLParser(target=gate_target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    open_statements: list[tuple[int, Element]] = []
    first_tag: list[str] = []

    def element(tag, attrib):
        made = Element(tag, attrib)
        if tag == tags.stmt:
            open_statements.append((len(open_statements) + done_statements[0] + 1, made))
        elif not first_tag:
            first_tag.append(tag)
        return made

    done_statements = [0]
    parser = XMLParser(target=TreeBuilder(element_factory=element))

    def harvest(final: bool) -> Iterator[tuple[int, Element]]:
        while open_statements:
            number, stmt = open_statements[0]
            last = len(open_statements) == 1 and not final  # only the newest statement may be open
            ready = len(stmt) - 1 if last else len(stmt)
            if ready > 0:
                children = stmt[:ready]
                del stmt[:ready]
                for child in children:
                    yield number, child
            if last:
                return
            open_statements.pop(0)
            done_statements[0] += 1

    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if not gate_target.started:
            gate.feed(chunk)  # raises on a DTD, an entity or an external reference before the root
        parser.feed(chunk)
        if first_tag and first_tag[0] != tags.document:
            raise _WrongDocument
        yield from harvest(final=False)
    if not gate_target.started:
        gate.close()
    root = parser.close()
    if root.tag != tags.document:
        raise _WrongDocument
    yield from harvest(final=True)


def read_camt053(source: str | os.PathLike | BinaryIO | bytes) -> Iterator[StatementLine]:
    """The statement lines of an ISO 20022 camt.053.001.08 document, one per Ntry.

    The fund source is the statement's account (Stmt/Acct/Id/Othr/Id, before its entries as the
    schema orders them); a line's number is its entry's ordinal in the file. Yields each
    well-formed entry; at the end raises StatementFormatError if any was not. A DTD or an entity
    declaration is refused (defusedxml).
    """
    owned = isinstance(source, (str, os.PathLike))
    if owned:
        stream = open(source, "rb")  # noqa: SIM115 - closed below, the generator may stop anywhere
    elif isinstance(source, (bytes, bytearray, memoryview)):
        stream = io.BytesIO(source)
    else:
        stream = source
    tags = _CamtTags("{" + CAMT053_NS + "}")
    problems = _Problems("entry")
    dates = _Dates()
    fund: str | None = None
    statement = entries = 0
    try:
        for number, elem in _statement_children(stream, tags):
            if number != statement:
                statement, fund = number, None
            tag = elem.tag
            if tag == tags.ntry:
                entries += 1
                line = _camt_entry(elem, entries, fund, tags, dates, problems)
                if line is not None:
                    yield line
            elif tag == tags.acct:
                othr = elem.find(tags.id)
                othr = othr.find(tags.othr) if othr is not None else None
                text = othr.findtext(tags.id) if othr is not None else None
                fund = text if text is not None and _FUND.fullmatch(text) else None
                if fund is None:
                    problems.add(None, f"statement {number}: Acct/Id/Othr/Id",
                                 "must be the fund source (1-64 letters, digits, '_', '.' or '-')")
    except DefusedXmlException:
        problems.add(None, "document", "must not declare a DTD, entities or external references")
    except ParseError as exc:
        problems.add(None, "document", f"is not well-formed XML (line {exc.position[0]})")
    except _WrongDocument:
        problems.add(None, "document", f"must be an ISO 20022 Document in {CAMT053_NS}")
    finally:
        if owned:
            stream.close()
    problems.raise_if_any()


class _CamtTags:
    def __init__(self, ns: str):
        for name in ("Document", "Stmt", "Acct", "Ntry", "Id", "Othr", "Amt", "CdtDbtInd", "Sts", "Cd", "BookgDt",
                     "ValDt", "Dt", "DtTm", "AcctSvcrRef", "NtryDtls", "TxDtls", "Refs", "EndToEndId", "RtrInf",
                     "Rsn"):
            setattr(self, name.lower(), ns + name)


def _camt_date(parent, tags: _CamtTags, dates: _Dates) -> date | None:
    """<Dt>YYYY-MM-DD</Dt>, or <DtTm> with an offset, as an Asia/Shanghai day."""
    if parent is None:
        return None
    text = parent.findtext(tags.dt)
    if text is not None:
        return dates(text)
    stamp = parent.findtext(tags.dttm)
    if stamp is None or len(stamp) > 40:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment.astimezone(SHANGHAI).date() if moment.tzinfo else None


def _camt_entry(ntry, n: int, fund: str | None, tags: _CamtTags, dates: _Dates,
                problems: _Problems) -> StatementLine | None:
    """One Ntry as a statement line, or None after naming each of its problems."""
    before = len(problems.violations) + problems.more
    # Only direct children by tag (done in C); no ElementPath expressions, a million entries are read.
    child = {c.tag: c for c in ntry}
    amt = child.get(tags.amt)
    fen = _yuan_to_fen(amt.text if amt is not None else None)
    if fen is None:
        problems.add(n, "Amt", "must be a positive amount in yuan with at most two decimals")
    elif amt.get("Ccy") != "CNY":
        problems.add(n, "Amt/@Ccy", "must be CNY")
    cd = child.get(tags.cdtdbtind)
    cd = cd.text if cd is not None else None
    if cd not in (DBIT, CRDT):
        problems.add(n, "CdtDbtInd", "must be DBIT or CRDT")
    status = child.get(tags.sts)
    status = status.findtext(tags.cd) if status is not None else None
    if status != BOOKED:
        problems.add(n, "Sts/Cd", "must be BOOK")
    booking = _camt_date(child.get(tags.bookgdt), tags, dates)
    if booking is None:
        problems.add(n, "BookgDt", "must hold a date (Dt YYYY-MM-DD)")
    value = _camt_date(child.get(tags.valdt), tags, dates)
    if value is None:
        problems.add(n, "ValDt", "must hold a date (Dt YYYY-MM-DD)")
    bank_ref = child.get(tags.acctsvcrref)
    bank_ref = bank_ref.text if bank_ref is not None else None
    if bank_ref is None or not _REF.fullmatch(bank_ref):
        problems.add(n, "AcctSvcrRef", "must be 1-64 letters, digits or '_.:/-'")
    details = child.get(tags.ntrydtls)
    txs = details.findall(tags.txdtls) if details is not None else ()
    payment_id = reason = None
    if len(txs) != 1:
        problems.add(n, "NtryDtls/TxDtls", "must hold exactly one transaction")
    else:
        refs = txs[0].find(tags.refs)
        payment_id = refs.findtext(tags.endtoendid) if refs is not None else None
        if payment_id is None or not _REF.fullmatch(payment_id):
            problems.add(n, "NtryDtls/TxDtls/Refs/EndToEndId", "must be 1-64 letters, digits or '_.:/-'")
        returned = txs[0].find(tags.rtrinf)
        if returned is not None:
            rsn = returned.find(tags.rsn)
            reason = rsn.findtext(tags.cd) if rsn is not None else ""
        if cd == DBIT and returned is not None:
            problems.add(n, "NtryDtls/TxDtls/RtrInf", "must be absent on a DBIT entry")
        elif cd == CRDT and (reason is None or not _REASON.fullmatch(reason)):
            problems.add(n, "NtryDtls/TxDtls/RtrInf/Rsn/Cd",
                         "must be a 4-character ISO return reason code on a CRDT entry")
    if fund is None:
        problems.add(n, "Stmt/Acct/Id/Othr/Id", "the entry's statement names no valid fund source account")
    if len(problems.violations) + problems.more != before:
        return None
    return StatementLine(n, booking, value, bank_ref, payment_id, fund, "", cd, fen, status, reason or "")

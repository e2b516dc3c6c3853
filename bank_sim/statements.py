"""The bank simulator's statement files: the documented CSV layout and ISO 20022 camt.053.

Both writers take the day's booked lines (:meth:`bank_sim.store.PaymentStore.iter_booked`, in
fund source, instant, payment id order) and yield the file in chunks, so a day of a million
lines is served without being held in memory.  The layouts are documented in
``docs/bank_statement_formats.md``; in short:

CSV (UTF-8, ``\\r\\n`` line ends, RFC 4180 quoting), header exactly::

    booking_date,value_date,bank_ref,payment_id,fund_source,channel,credit_debit,amount_fen,status,return_reason

- ``booking_date`` / ``value_date``: ``YYYY-MM-DD``, Asia/Shanghai;
- ``credit_debit``: ``DBIT`` for a payout leaving the fund's account, ``CRDT`` for money coming
  back (a return);
- ``amount_fen``: positive integer; ``status``: ``BOOK``;
- ``return_reason``: the ISO reason code (``AC04`` closed account, ``AC06`` blocked, ``MD07``
  deceased, ...) on CRDT returns only, else empty;
- ``payment_id`` is the payout id (our EndToEndId).  A rejected or failed payment moved no money
  and is not listed.

camt.053 (``urn:iso:std:iso:20022:tech:xsd:camt.053.001.08``): one ``Stmt`` per fund account
(``Acct/Id/Othr/Id`` = fund source) with opening (``OPBD``) and closing (``CLBD``) balances,
a ``TxsSummry``, and one ``Ntry`` per line: ``Amt Ccy="CNY"`` in yuan with exactly two decimals,
``CdtDbtInd``, ``Sts/Cd`` ``BOOK``, ``BookgDt/Dt``, ``ValDt/Dt``, ``AcctSvcrRef`` = bank_ref,
``BkTxCd/Prtry/Cd`` = channel, ``NtryDtls/TxDtls/Refs/EndToEndId`` = payment id and, for
returns, ``NtryDtls/TxDtls/RtrInf/Rsn/Cd`` = reason code.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from xml.sax.saxutils import escape, quoteattr

from bank_sim.store import SHANGHAI, AccountSummary, StatementEntry

CSV_HEADER = (
    "booking_date", "value_date", "bank_ref", "payment_id", "fund_source", "channel",
    "credit_debit", "amount_fen", "status", "return_reason",
)
CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CHUNK_LINES = 2000


def yuan(fen: int) -> str:
    """Integer fen as yuan with exactly two decimals (never through a float)."""
    if fen < 0:
        raise ValueError("amounts in a statement are non-negative")
    return f"{fen // 100}.{fen % 100:02d}"


def csv_chunks(entries: Iterable[StatementEntry], chunk_lines: int = CHUNK_LINES) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for n, e in enumerate(entries, 1):
        writer.writerow((
            e.booking_date.isoformat(), e.value_date.isoformat(), e.bank_ref, e.payment_id, e.fund_source,
            e.channel, e.credit_debit, e.amount_fen, "BOOK", e.return_reason or "",
        ))
        if n % chunk_lines == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _t(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


def _amount(tag: str, fen: int) -> str:
    return f'<{tag} Ccy="CNY">{yuan(fen)}</{tag}>'


def _balance(code: str, signed_fen: int, day: date) -> str:
    indicator = "CRDT" if signed_fen >= 0 else "DBIT"
    return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>{_amount('Amt', abs(signed_fen))}"
            f"<CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>")


def _statement_open(day: date, summary: AccountSummary, created: str) -> str:
    # Stmt/Id is at most 35 characters: the day and a digest of the fund source.
    fund_hash = hashlib.sha256(summary.fund_source.encode()).hexdigest()[:16].upper()
    start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    net = summary.credit_fen - summary.debit_fen
    return (
        "<Stmt>"
        + _t("Id", f"{day:%Y%m%d}-{fund_hash}")
        + _t("CreDtTm", created)
        + "<FrToDt>" + _t("FrDtTm", start.isoformat())
        + _t("ToDtTm", start.replace(hour=23, minute=59, second=59).isoformat()) + "</FrToDt>"
        + "<Acct><Id><Othr>" + _t("Id", summary.fund_source) + "</Othr></Id><Ccy>CNY</Ccy></Acct>"
        + _balance("OPBD", summary.opening_fen, day)
        + _balance("CLBD", summary.closing_fen, day)
        + "<TxsSummry><TtlNtries>"
        + _t("NbOfNtries", str(summary.credit_count + summary.debit_count))
        + _t("Sum", yuan(summary.credit_fen + summary.debit_fen))
        + "<TtlNetNtry>" + _t("Amt", yuan(abs(net)))
        + _t("CdtDbtInd", "CRDT" if net >= 0 else "DBIT") + "</TtlNetNtry></TtlNtries>"
        + "<TtlCdtNtries>" + _t("NbOfNtries", str(summary.credit_count)) + _t("Sum", yuan(summary.credit_fen))
        + "</TtlCdtNtries>"
        + "<TtlDbtNtries>" + _t("NbOfNtries", str(summary.debit_count)) + _t("Sum", yuan(summary.debit_fen))
        + "</TtlDbtNtries></TxsSummry>"
    )


def _entry(e: StatementEntry) -> str:
    tx = "<Refs>" + _t("EndToEndId", e.payment_id) + "</Refs>"
    if e.credit_debit == "CRDT" and e.return_reason:
        tx += "<RtrInf><Rsn>" + _t("Cd", e.return_reason) + "</Rsn></RtrInf>"
    return (
        "<Ntry>" + _amount("Amt", e.amount_fen) + _t("CdtDbtInd", e.credit_debit)
        + "<Sts><Cd>BOOK</Cd></Sts>"
        + "<BookgDt>" + _t("Dt", e.booking_date.isoformat()) + "</BookgDt>"
        + "<ValDt>" + _t("Dt", e.value_date.isoformat()) + "</ValDt>"
        + _t("AcctSvcrRef", e.bank_ref)
        + "<BkTxCd><Prtry>" + _t("Cd", e.channel) + "</Prtry></BkTxCd>"
        + "<NtryDtls><TxDtls>" + tx + "</TxDtls></NtryDtls></Ntry>\n"
    )


def camt053_chunks(day: date, summaries: Iterable[AccountSummary], entries: Iterable[StatementEntry],
                   created_at: datetime, chunk_lines: int = CHUNK_LINES) -> Iterator[bytes]:
    """The day's statement as one camt.053 document, one ``Stmt`` per fund account in
    ``summaries`` (sorted by fund source, as ``entries`` are)."""
    created = created_at.isoformat(timespec="seconds")
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Document xmlns={quoteattr(CAMT053_NS)}><BkToCstmrStmt>"
        "<GrpHdr>" + _t("MsgId", f"BSIM-{day:%Y%m%d}-{created_at:%H%M%S}") + _t("CreDtTm", created) + "</GrpHdr>\n"
    ).encode()
    pending = iter(entries)
    carried: StatementEntry | None = next(pending, None)
    for summary in summaries:
        parts = [_statement_open(day, summary, created), "\n"]
        while carried is not None and carried.fund_source == summary.fund_source:
            parts.append(_entry(carried))
            if len(parts) >= chunk_lines:
                yield "".join(parts).encode()
                parts = []
            carried = next(pending, None)
        parts.append("</Stmt>\n")
        yield "".join(parts).encode()
    yield b"</BkToCstmrStmt></Document>\n"

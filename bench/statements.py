"""Bank statement files for tests and bench/reconcile.py: the ledger reads them, this writes them.

Writes the two layouts of docs/bank_statement_formats.md (CSV and camt.053.001.08) from
StatementLine values, streaming, and makes a deterministic day of payouts with a statement that
has every kind of difference in it (:func:`scenario`).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator
from datetime import date
from typing import IO, TextIO
from xml.sax.saxutils import escape

from ledger_svc.adapters.statement_files import CAMT053_NS, CSV_HEADER
from ledger_svc.domain.reconciliation import CRDT, DBIT, LedgerPayout, StatementLine


def write_csv(lines: Iterable[StatementLine], out: TextIO) -> int:
    """The CSV layout (``out`` opened with newline=''); returns the number of lines written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    n = 0
    for s in lines:
        writer.writerow((s.booking_date.isoformat(), s.value_date.isoformat(), s.bank_ref, s.payment_id,
                         s.fund_source, s.channel, s.credit_debit, s.amount_fen, s.status, s.return_reason))
        n += 1
    return n


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def camt053_entry(s: StatementLine) -> str:
    reason = (f"<RtrInf><Rsn><Cd>{escape(s.return_reason)}</Cd></Rsn></RtrInf>" if s.return_reason else "")
    return (f"<Ntry><Amt Ccy=\"CNY\">{yuan(s.amount_fen)}</Amt><CdtDbtInd>{s.credit_debit}</CdtDbtInd>"
            f"<Sts><Cd>{escape(s.status)}</Cd></Sts><BookgDt><Dt>{s.booking_date.isoformat()}</Dt></BookgDt>"
            f"<ValDt><Dt>{s.value_date.isoformat()}</Dt></ValDt><AcctSvcrRef>{escape(s.bank_ref)}</AcctSvcrRef>"
            f"<NtryDtls><TxDtls><Refs><EndToEndId>{escape(s.payment_id)}</EndToEndId></Refs>{reason}</TxDtls>"
            f"</NtryDtls></Ntry>\n")


def write_camt053(fund_source: str, day: date, lines: Iterable[StatementLine], out: IO[str]) -> int:
    """One camt.053.001.08 statement of ``fund_source``'s account; returns the number of entries."""
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{CAMT053_NS}"><BkToCstmrStmt>'
              f"<GrpHdr><MsgId>STMT-{escape(fund_source)}-{day.isoformat()}</MsgId>"
              f"<CreDtTm>{day.isoformat()}T23:59:59+08:00</CreDtTm></GrpHdr>"
              f"<Stmt><Id>{escape(fund_source)}-{day.isoformat()}</Id>"
              f"<Acct><Id><Othr><Id>{escape(fund_source)}</Id></Othr></Id><Ccy>CNY</Ccy></Acct>\n")
    n = 0
    for s in lines:
        out.write(camt053_entry(s))
        n += 1
    out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return n


def line(n: int, day: date, payment_id: str, amount_fen: int, fund: str = "ESF", cd: str = DBIT,
         reason: str = "", channel: str = "ssc_card", bank_ref: str | None = None) -> StatementLine:
    return StatementLine(n, day, day, bank_ref or f"BR{n:09d}", payment_id, fund, channel, cd, amount_fen, "BOOK",
                         reason)


def scenario(payouts: int, lines: int, seed: int, day: date, fund: str = "ESF"
             ) -> tuple[list[LedgerPayout], Iterator[StatementLine]]:
    """``payouts`` settled or in-doubt payouts and a statement of ``lines`` lines for them.

    Most lines match; about 1 in 1,000 each is 1 fen off, a duplicate, a return, or unknown to the
    ledger; the payouts left without a line are in the ledger but not the statement. Deterministic
    for a seed. The lines are generated lazily (a million need not be held twice).
    """
    rng = random.Random(seed)
    ledger = [LedgerPayout(f"po_{i:012d}", fund, rng.randrange(1_000, 500_000),
                           "in_doubt" if i % 50 == 0 else "settled", f"BR{i:012d}", "ssc_card")
              for i in range(payouts)]

    def statement() -> Iterator[StatementLine]:
        lrng = random.Random(seed + 1)
        for n in range(lines):
            i = n if n < payouts else lrng.randrange(payouts) if payouts else 0
            kind = lrng.randrange(1_000)
            if n >= payouts or not payouts or kind == 0:
                yield line(n + 2, day, f"zz_{n:012d}", lrng.randrange(1_000, 500_000), fund)  # not ours
                continue
            p = ledger[i]
            if kind == 1:
                yield line(n + 2, day, p.payout_id, p.amount_fen + 1, fund)  # 1 fen off
            elif kind == 2:
                twice = ledger[max(i - 1, 0)]
                yield line(n + 2, day, twice.payout_id, twice.amount_fen, fund)  # a duplicate
            elif kind == 3:
                yield line(n + 2, day, p.payout_id, p.amount_fen, fund, CRDT, "AC04")  # a return
            else:
                yield line(n + 2, day, p.payout_id, p.amount_fen, fund)

    return ledger, statement()

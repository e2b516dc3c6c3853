"""Payouts move on the transfer engine (issue 8, F1-F3, C7, C8, X2).

- payments: ``pending`` is now ``queued`` (the state's stored value is renamed); the payee's
  card number, account number and bank code are stored (sent to the bank); ``live_claim_line``
  holds the claim line a payout pays while it is live (not failed or returned): unique, so one
  claim line never has two live payouts, even when two attempts race.
- The pre-engine journal (``accounts``, ``journal_entries``, ``postings``) is kept (C8: nothing
  deleted) but no longer written. Each fund's balances in it are carried into the engine:
  ``appropriation -> available`` for what was allocated, ``available -> disbursed`` for what was
  paid out (code CORRECTION, ids derived from fund + "opening" + role), and every payout still in
  flight gets the transfers it would have had on the engine, under their usual ids (queued: its
  pending commitment; submitted or in doubt: the commitment posted and the amount in clearing),
  so the worker carries on with them. A payable balance the in-flight payouts do not explain (it
  never should) is carried as a posted ``available -> payables`` CORRECTION and reported.
- Funds opened before migration 0005 get their engine accounts.

Self-contained: ids are computed here as ``ledger_svc.domain.transfers.transfer_id`` does, from
``skillpay.ids.derived_id`` (whose output never changes: every money id depends on it).

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from skillpay.ids import derived_id

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLES = ("appropriation", "available", "payables", "clearing", "disbursed", "returned", "recovered")
GUARDED = {"available", "payables", "clearing", "disbursed"}  # debits must not exceed credits
PENDING, POST, LINKED = 2, 4, 1
COMMITMENT, SUBMISSION, CORRECTION = 2, 3, 8
OPENING_NOTE = "opening balance (migration 0006)"


def _tid(kind: str, *facts) -> str:
    return derived_id("tr", kind, *facts)


def upgrade() -> None:
    op.add_column("payments", sa.Column("payee_card_number", sa.String(32), nullable=False, server_default=""))
    op.add_column("payments", sa.Column("payee_account_number", sa.String(32), nullable=False, server_default=""))
    op.add_column("payments", sa.Column("payee_bank_code", sa.String(12), nullable=False, server_default=""))
    op.add_column("payments", sa.Column("live_claim_line", sa.String(100), nullable=True))
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE payments SET state = 'queued' WHERE state = 'pending'"))

    # One live payout per claim line: the oldest keeps it (should old data hold two, which the
    # ledger never allowed knowingly, the other stays as it is and is reported).
    rows = conn.execute(sa.text(
        "SELECT p.payment_id, r.ref_value FROM payments p JOIN payment_references r "
        "ON r.payment_id = p.payment_id AND r.ref_key = 'claim_line_id' "
        "WHERE p.state NOT IN ('failed', 'returned') ORDER BY p.created_at, p.payment_id")).all()
    seen: set[str] = set()
    for payment_id, line in rows:
        if line in seen:
            print(f"migration 0006: claim line {line} has more than one live payout; {payment_id} not marked")
            continue
        seen.add(line)
        conn.execute(sa.text("UPDATE payments SET live_claim_line = :line WHERE payment_id = :pid"),
                     {"line": line, "pid": payment_id})
    op.create_index("uq_payments_live_claim_line", "payments", ["live_claim_line"], unique=True)
    _carry_balances(conn)


def _carry_balances(conn) -> None:
    now = datetime.now(timezone.utc)
    funds = [r[0] for r in conn.execute(sa.text("SELECT fund_code FROM funds ORDER BY fund_code"))]
    for fund in funds:
        ids = {role: f"{fund}:{role}" for role in ROLES}
        have = {r[0] for r in conn.execute(sa.text("SELECT id FROM ledger_accounts WHERE ledger = :f"), {"f": fund})}
        for role in ROLES:
            if ids[role] not in have:
                conn.execute(sa.text(
                    "INSERT INTO ledger_accounts (id, ledger, role, flags, debits_pending, debits_posted, "
                    "credits_pending, credits_posted, created_at) VALUES (:id, :ledger, :role, :flags, 0, 0, 0, 0, :now)"),
                    {"id": ids[role], "ledger": fund, "role": role, "flags": 1 if role in GUARDED else 0, "now": now})
        opening_id = _tid("opening", fund, "available")
        if conn.execute(sa.text("SELECT 1 FROM transfers WHERE id = :id"), {"id": opening_id}).first():
            continue  # carried already
        old = {r[0]: (r[1], r[2]) for r in conn.execute(sa.text(
            "SELECT role, debits_posted, credits_posted FROM accounts WHERE fund_code = :f"), {"f": fund})}
        allocated = old.get("budget", (0, 0))[0]
        payable = old.get("payable", (0, 0))[1] - old.get("payable", (0, 0))[0]
        disbursed = old.get("disbursed", (0, 0))[1] - old.get("disbursed", (0, 0))[0]
        rows: list[dict] = []
        totals = {i: [0, 0, 0, 0] for i in ids.values()}  # debits_pending, debits_posted, credits_pending, posted

        def add(tid, debit, credit, amount, code, flags=0, pending_id=None, user_data=OPENING_NOTE, posted=True,
                pending=False):
            rows.append(dict(id=tid, debit=ids[debit], credit=ids[credit], amount=amount, ledger=fund, code=code,
                             flags=flags, pending_id=pending_id, user_data=user_data, ts=now))
            if pending:
                totals[ids[debit]][0] += amount
                totals[ids[credit]][2] += amount
            elif posted:
                totals[ids[debit]][1] += amount
                totals[ids[credit]][3] += amount

        if allocated:
            add(opening_id, "appropriation", "available", allocated, CORRECTION)
        if disbursed:
            add(_tid("opening", fund, "disbursed"), "available", "disbursed", disbursed, CORRECTION)
        in_flight = 0
        for pid, amount, state in conn.execute(sa.text(
                "SELECT payment_id, amount_fen, state FROM payments WHERE fund_code = :f "
                "AND state IN ('queued', 'submitted', 'in_doubt') ORDER BY payment_id"), {"f": fund}):
            in_flight += amount
            # As payout_transfers.commitment / submission make them.
            if state == "queued":
                add(_tid("commitment", pid), "available", "payables", amount, COMMITMENT, PENDING, user_data=pid,
                    pending=True)
            else:
                add(_tid("commitment", pid), "available", "payables", amount, COMMITMENT, PENDING, user_data=pid,
                    posted=False)  # posted right below: counts as its post
                add(_tid("commitment-posted", pid), "available", "payables", amount, SUBMISSION, POST | LINKED,
                    pending_id=_tid("commitment", pid), user_data=pid)
                add(_tid("submission", pid), "payables", "clearing", amount, SUBMISSION, user_data=pid)
        if payable > in_flight:
            print(f"migration 0006: fund {fund}: {payable - in_flight} fen payable without a payout in flight; "
                  "carried as a CORRECTION to payables")
            add(_tid("opening", fund, "payables"), "available", "payables", payable - in_flight, CORRECTION)
        elif payable < in_flight:
            print(f"migration 0006: fund {fund}: payouts in flight exceed the old payable balance by "
                  f"{in_flight - payable} fen; their commitments are carried in full")
        if not rows:
            continue
        conn.execute(sa.text(
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, "
            "user_data, timestamp) VALUES (:id, :debit, :credit, :amount, :ledger, :code, :flags, :pending_id, "
            ":user_data, :ts)"), rows)
        for account, (dp, dpo, cp, cpo) in sorted(totals.items()):
            if dp or dpo or cp or cpo:
                conn.execute(sa.text(
                    "UPDATE ledger_accounts SET debits_pending = debits_pending + :dp, "
                    "debits_posted = debits_posted + :dpo, credits_pending = credits_pending + :cp, "
                    "credits_posted = credits_posted + :cpo WHERE id = :id"),
                    {"dp": dp, "dpo": dpo, "cp": cp, "cpo": cpo, "id": account})


def downgrade() -> None:
    # The transfers carried are history now (X2: nothing deleted); only the schema steps back.
    op.drop_index("uq_payments_live_claim_line", "payments")
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE payments SET state = 'pending' WHERE state = 'queued'"))
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("live_claim_line")
        batch.drop_column("payee_bank_code")
        batch.drop_column("payee_account_number")
        batch.drop_column("payee_card_number")

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from claim_svc.adapters.tables import claim_lines, claims, payout_outcomes, pending_top_ups, pending_withdrawals
from claim_svc.domain.model import Claim, ClaimKind, ClaimLine, ClaimState, LineKind, LineState, Payee, PayeeKind
from claim_svc.service_layer.unit_of_work import PayoutOutcome, PendingTopUp, PendingWithdrawal
from skillpay.clock import aware
from skillpay.db import ConcurrentUpdate


class SqlClaimRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, c: Claim) -> None:
        self._track(c, new=True)
        await self._conn.execute(insert(claims).values(**self._values(c), version=0))
        await self._write_lines(c)

    async def get(self, claim_id: str, for_update: bool = False) -> Claim | None:
        query = select(claims).where(claims.c.claim_id == claim_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        if row is None:
            return None
        return self._track((await self._with_lines([row]))[0])

    async def save(self, c: Claim) -> None:
        result = await self._conn.execute(
            update(claims).where(claims.c.claim_id == c.claim_id, claims.c.version == c.version)
            .values(**self._values(c), version=c.version + 1))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"claim {c.claim_id} changed concurrently")
        c.version += 1
        # Lines belong to their claim: the claim's version check above serialises them. Lines are
        # never removed from a claim; a new one (a later top-up) is inserted.
        for i, line in enumerate(c.lines):
            values = self._line_values(c, i, line)
            result = await self._conn.execute(
                update(claim_lines).where(claim_lines.c.line_id == line.line_id).values(**values))
            if result.rowcount == 0:
                await self._conn.execute(insert(claim_lines).values(**values))

    async def list(self, after: str | None, limit: int, voucher_id: str = "",
                   state: ClaimState | None = None) -> list[Claim]:
        query = select(claims).order_by(claims.c.claim_id).limit(limit)
        if after:
            query = query.where(claims.c.claim_id > after)
        if voucher_id:
            query = query.where(claims.c.voucher_id == voucher_id)
        if state is not None:
            query = query.where(claims.c.state == state.value)
        return await self._with_lines((await self._conn.execute(query)).all())

    async def _write_lines(self, c: Claim) -> None:
        await self._conn.execute(insert(claim_lines), [self._line_values(c, i, line) for i, line in enumerate(c.lines)])

    @staticmethod
    def _line_values(c: Claim, position: int, line: ClaimLine) -> dict:
        return dict(line_id=line.line_id, claim_id=c.claim_id, position=position, kind=line.kind.value,
                    amount_fen=line.amount_fen, state=line.state.value, attempt=line.attempt,
                    failure_reason=line.failure_reason, paid_at=line.paid_at, rule=line.rule,
                    rate_percent=line.rate_percent, redemption_id=line.redemption_id or None,
                    withdrawal_reason=line.withdrawal_reason)

    async def _with_lines(self, rows) -> list[Claim]:
        if not rows:
            return []
        lines: dict[str, list[ClaimLine]] = {}
        for r in (await self._conn.execute(
                select(claim_lines).where(claim_lines.c.claim_id.in_([row.claim_id for row in rows]))
                .order_by(claim_lines.c.claim_id, claim_lines.c.position))).all():
            lines.setdefault(r.claim_id, []).append(ClaimLine(
                r.line_id, LineKind(r.kind), r.amount_fen, LineState(r.state), r.attempt, r.failure_reason,
                aware(r.paid_at), r.rule, r.rate_percent, r.redemption_id or "", r.withdrawal_reason))
        return [self._from_row(row, lines.get(row.claim_id, [])) for row in rows]

    @staticmethod
    def _values(c: Claim) -> dict:
        return dict(
            claim_id=c.claim_id, kind=c.kind.value, voucher_id=c.voucher_id or None, payee_kind=c.payee.kind.value,
            payee_name=c.payee.name, payee_id_masked=c.payee.id_masked, payee_id_sealed=c.payee.id_sealed,
            payee_id_lookup=c.payee.id_lookup, institution_id=c.institution_id, occupation_code=c.occupation_code,
            level=c.level, amount_fen=c.amount_fen, fund_source=c.fund_source, state=c.state.value,
            created_at=c.created_at, approved_at=c.approved_at, paid_at=c.paid_at, payment_id=c.payment_id,
            failure_reason=c.failure_reason, standard_fen=c.standard_fen)

    @staticmethod
    def _from_row(r, lines: list[ClaimLine]) -> Claim:
        payee = Payee(PayeeKind(r.payee_kind), r.payee_name, r.payee_id_masked, r.payee_id_sealed, r.payee_id_lookup)
        return Claim(
            claim_id=r.claim_id, kind=ClaimKind(r.kind), voucher_id=r.voucher_id or "", payee=payee,
            institution_id=r.institution_id, occupation_code=r.occupation_code, level=r.level,
            fund_source=r.fund_source, created_at=aware(r.created_at), lines=lines, state=ClaimState(r.state),
            approved_at=aware(r.approved_at), paid_at=aware(r.paid_at), payment_id=r.payment_id,
            failure_reason=r.failure_reason, standard_fen=r.standard_fen, version=r.version)


class SqlPayoutOutcomeRepository:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def record(self, o: PayoutOutcome) -> bool:
        known = (await self._conn.execute(select(payout_outcomes.c.payout_request_id).where(
            payout_outcomes.c.payout_request_id == o.payout_request_id))).first()
        if known is not None:
            return False
        await self._conn.execute(insert(payout_outcomes).values(
            payout_request_id=o.payout_request_id, claim_id=o.claim_id, settled=int(o.settled), reason=o.reason,
            occurred_at=o.occurred_at))
        return True

    async def for_claim(self, claim_id: str) -> list[PayoutOutcome]:
        rows = await self._conn.execute(select(payout_outcomes).where(payout_outcomes.c.claim_id == claim_id)
                                        .order_by(payout_outcomes.c.occurred_at))
        return [PayoutOutcome(r.payout_request_id, r.claim_id, bool(r.settled), r.reason, aware(r.occurred_at))
                for r in rows]


class SqlPendingTopUpRepository:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def add(self, t: PendingTopUp) -> bool:
        known = (await self._conn.execute(select(pending_top_ups.c.top_up_id).where(
            pending_top_ups.c.top_up_id == t.top_up_id))).first()
        if known is not None:
            return False
        await self._conn.execute(insert(pending_top_ups).values(
            top_up_id=t.top_up_id, voucher_id=t.voucher_id, claim_id=t.claim_id, value_fen=t.value_fen,
            top_up_fen=t.top_up_fen, occurred_at=t.occurred_at))
        return True

    async def for_claim(self, claim_id: str) -> list[PendingTopUp]:
        rows = await self._conn.execute(select(pending_top_ups).where(pending_top_ups.c.claim_id == claim_id)
                                        .order_by(pending_top_ups.c.occurred_at))
        return [PendingTopUp(r.top_up_id, r.voucher_id, r.claim_id, r.value_fen, r.top_up_fen, aware(r.occurred_at))
                for r in rows]


class SqlPendingWithdrawalRepository:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def add(self, w: PendingWithdrawal) -> bool:
        known = (await self._conn.execute(select(pending_withdrawals.c.claim_id).where(
            pending_withdrawals.c.voucher_id == w.voucher_id,
            pending_withdrawals.c.redemption_id == w.redemption_id))).first()
        if known is not None:
            return False
        await self._conn.execute(insert(pending_withdrawals).values(
            voucher_id=w.voucher_id, redemption_id=w.redemption_id, claim_id=w.claim_id, reason=w.reason,
            occurred_at=w.occurred_at))
        return True

    async def for_claim(self, claim_id: str) -> list[PendingWithdrawal]:
        rows = await self._conn.execute(select(pending_withdrawals)
                                        .where(pending_withdrawals.c.claim_id == claim_id)
                                        .order_by(pending_withdrawals.c.occurred_at))
        return [PendingWithdrawal(r.voucher_id, r.redemption_id, r.claim_id, r.reason, aware(r.occurred_at))
                for r in rows]

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from claim_svc.adapters.tables import claims
from claim_svc.domain.model import Claim, ClaimKind, ClaimState, Payee, PayeeKind
from skillpay.clock import aware
from skillpay.db import ConcurrentUpdate


class ClaimRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, c: Claim) -> None:
        self._track(c)
        await self._conn.execute(insert(claims).values(**self._values(c), version=0))

    async def get(self, claim_id: str, for_update: bool = False) -> Claim | None:
        return await self._one(claims.c.claim_id == claim_id, for_update)

    async def get_by_voucher(self, voucher_id: str, for_update: bool = False) -> Claim | None:
        return await self._one(claims.c.voucher_id == voucher_id, for_update)

    async def _one(self, condition, for_update: bool) -> Claim | None:
        query = select(claims).where(condition)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return self._track(self._from_row(row)) if row else None

    async def save(self, c: Claim) -> None:
        result = await self._conn.execute(
            update(claims).where(claims.c.claim_id == c.claim_id, claims.c.version == c.version)
            .values(**self._values(c), version=c.version + 1))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"claim {c.claim_id} changed concurrently")
        c.version += 1

    async def list(self, after: str | None, limit: int, voucher_id: str = "", state: ClaimState | None = None) -> list[Claim]:
        query = select(claims).order_by(claims.c.claim_id).limit(limit)
        if after:
            query = query.where(claims.c.claim_id > after)
        if voucher_id:
            query = query.where(claims.c.voucher_id == voucher_id)
        if state is not None:
            query = query.where(claims.c.state == state.value)
        return [self._from_row(r) for r in (await self._conn.execute(query)).all()]

    @staticmethod
    def _values(c: Claim) -> dict:
        return dict(
            claim_id=c.claim_id, kind=c.kind.value, voucher_id=c.voucher_id, payee_kind=c.payee.kind.value,
            payee_name=c.payee.name, payee_id_masked=c.payee.id_masked, payee_id_sealed=c.payee.id_sealed,
            payee_id_lookup=c.payee.id_lookup, institution_id=c.institution_id, occupation_code=c.occupation_code,
            level=c.level, amount_fen=c.amount_fen, fund_source=c.fund_source, state=c.state.value,
            created_at=c.created_at, approved_at=c.approved_at, paid_at=c.paid_at, payment_id=c.payment_id,
            failure_reason=c.failure_reason)

    @staticmethod
    def _from_row(r) -> Claim:
        payee = Payee(PayeeKind(r.payee_kind), r.payee_name, r.payee_id_masked, r.payee_id_sealed, r.payee_id_lookup)
        return Claim(
            claim_id=r.claim_id, kind=ClaimKind(r.kind), voucher_id=r.voucher_id, payee=payee,
            institution_id=r.institution_id, occupation_code=r.occupation_code, level=r.level,
            amount_fen=r.amount_fen, fund_source=r.fund_source, created_at=aware(r.created_at),
            state=ClaimState(r.state), approved_at=aware(r.approved_at), paid_at=aware(r.paid_at),
            payment_id=r.payment_id, failure_reason=r.failure_reason, version=r.version)

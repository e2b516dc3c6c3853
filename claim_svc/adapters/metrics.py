"""The claim service's own gauges for /metrics (skillpay.metrics reads them when scraped)."""

from sqlalchemy import func, select

from claim_svc.adapters.tables import claim_lines, claims
from claim_svc.domain.model import ClaimState, LineState
from skillpay.metrics import Sample, grouped


async def gauges(conn) -> list[Sample]:
    lines = await conn.execute(select(claim_lines.c.state, func.count()).group_by(claim_lines.c.state))
    by_claim = await conn.execute(select(claims.c.state, func.count()).group_by(claims.c.state))
    return [
        *grouped("skillpay_claim_lines", "Claim lines by payout state", "state", lines, [s.value for s in LineState]),
        *grouped("skillpay_claims", "Claims by state", "state", by_claim, [s.value for s in ClaimState]),
    ]

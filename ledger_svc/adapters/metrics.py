"""The ledger's own gauges for /metrics (skillpay.metrics reads them when scraped)."""

from sqlalchemy import func, select

from ledger_svc.adapters.tables import payments
from ledger_svc.domain.model import PaymentState
from skillpay.metrics import Sample, grouped


async def gauges(conn) -> list[Sample]:
    by_state = await conn.execute(select(payments.c.state, func.count()).group_by(payments.c.state))
    refused = (await conn.execute(select(func.coalesce(func.sum(payments.c.duplicate_requests), 0)))).scalar()
    return [
        *grouped("skillpay_ledger_payments", "Payments (payouts) by state", "state", by_state,
                 [s.value for s in PaymentState]),
        # Counted on each payment when the same payout request arrives again (restores, replays).
        Sample("skillpay_ledger_refused_duplicate_payout_requests",
               "Payout requests refused because their payment already existed", int(refused)),
    ]

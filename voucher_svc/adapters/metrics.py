"""The voucher service's own gauges for /metrics (skillpay.metrics reads them when scraped)."""

from sqlalchemy import func, select

from skillpay.metrics import Sample, grouped
from voucher_svc.adapters.tables import vouchers
from voucher_svc.domain.model import VoucherState


async def gauges(conn) -> list[Sample]:
    by_state = await conn.execute(select(vouchers.c.state, func.count()).group_by(vouchers.c.state))
    return grouped("skillpay_vouchers", "Vouchers by state", "state", by_state, [s.value for s in VoucherState])

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from skillpay.settings import ServiceSettings


DEFAULT_UNKNOWN_FUND_HOLD = timedelta(minutes=15)


class LedgerSettings(ServiceSettings):
    """Environment: LEDGER_GRPC_LISTEN, LEDGER_METRICS_LISTEN, LEDGER_DATABASE_URL, LEDGER_BANK_URL, ... plus the shared ones."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")
    service_name: str = "ledger"
    grpc_listen: str = "127.0.0.1:50053"
    metrics_listen: str = "127.0.0.1:9153"
    bank_url: str = "http://127.0.0.1:8070"
    bank_timeout_s: float = 5.0
    payout_poll_interval_s: float = 0.1
    # How long a payout from a fund this ledger does not know waits for finance to open it before it
    # fails with that reason (see handlers._try_commit_funds for why it does not fail at once).
    unknown_fund_hold_s: float = Field(default=DEFAULT_UNKNOWN_FUND_HOLD.total_seconds(), ge=0, le=30 * 24 * 3600)
    # The largest bank statement file ReconcileStatement / ReconcileFromBank accept (512 MiB: a
    # million camt.053 entries are about 300 MB); larger ones are refused with INVALID_ARGUMENT.
    statement_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1, le=512 * 1024 * 1024)

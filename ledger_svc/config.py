from pydantic_settings import SettingsConfigDict

from skillpay.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    """Environment: LEDGER_GRPC_LISTEN, LEDGER_METRICS_LISTEN, LEDGER_DATABASE_URL, LEDGER_BANK_URL, ... plus the shared ones."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")
    service_name: str = "ledger"
    grpc_listen: str = "127.0.0.1:50053"
    metrics_listen: str = "127.0.0.1:9153"
    bank_url: str = "http://127.0.0.1:8070"
    bank_timeout_s: float = 5.0
    payout_poll_interval_s: float = 0.1

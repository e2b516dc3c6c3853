from pydantic import Field
from pydantic_settings import SettingsConfigDict

from skillpay.settings import ServiceSettings


class VoucherSettings(ServiceSettings):
    """Environment: VOUCHER_GRPC_LISTEN, VOUCHER_METRICS_LISTEN, VOUCHER_DATABASE_URL, VOUCHER_LEDGER_ADDR,
    VOUCHER_PRESENTATION_TTL_S, plus the shared KAFKA_*/SKILLPAY_* ones."""

    model_config = SettingsConfigDict(env_prefix="VOUCHER_", extra="ignore")
    service_name: str = "voucher"
    grpc_listen: str = "127.0.0.1:50051"
    # Where the ledger is: a batch's fund source is checked there when vouchers are issued.
    ledger_addr: str = "127.0.0.1:50053"
    ledger_timeout_s: float = 3.0
    metrics_listen: str = "127.0.0.1:9151"
    # V2: how long a holder's presentation token (QR) stays valid; short, since it is shown on a screen.
    presentation_ttl_s: int = Field(default=300, ge=30, le=3600)

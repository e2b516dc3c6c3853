from pydantic_settings import SettingsConfigDict

from skillpay.settings import ServiceSettings


class ClaimSettings(ServiceSettings):
    """Environment: CLAIM_GRPC_LISTEN, CLAIM_METRICS_LISTEN, CLAIM_DATABASE_URL, CLAIM_AUTO_APPROVE, plus the shared ones."""

    model_config = SettingsConfigDict(env_prefix="CLAIM_", extra="ignore")
    service_name: str = "claim"
    grpc_listen: str = "127.0.0.1:50052"
    metrics_listen: str = "127.0.0.1:9152"
    auto_approve: bool = True

from pydantic_settings import SettingsConfigDict

from skillpay.settings import ServiceSettings


class VoucherSettings(ServiceSettings):
    """Environment: VOUCHER_GRPC_LISTEN, VOUCHER_METRICS_LISTEN, VOUCHER_DATABASE_URL, plus the shared KAFKA_*/SKILLPAY_* ones."""

    model_config = SettingsConfigDict(env_prefix="VOUCHER_", extra="ignore")
    service_name: str = "voucher"
    grpc_listen: str = "127.0.0.1:50051"
    metrics_listen: str = "127.0.0.1:9151"

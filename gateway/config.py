from pydantic_settings import SettingsConfigDict

from skillpay.settings import CommonSettings


class GatewaySettings(CommonSettings):
    """Environment: GATEWAY_HOST, GATEWAY_PORT, GATEWAY_VOUCHER_ADDR, GATEWAY_CLAIM_ADDR, GATEWAY_LEDGER_ADDR."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    host: str = "127.0.0.1"
    port: int = 8080
    voucher_addr: str = "127.0.0.1:50051"
    claim_addr: str = "127.0.0.1:50052"
    ledger_addr: str = "127.0.0.1:50053"
    rpc_timeout_s: float = 5.0

"""Configuration shared by every SkillPay process, read from environment variables.

Each service extends :class:`ServiceSettings` with its own prefix (``VOUCHER_``, ``CLAIM_``,
``LEDGER_``); the few settings every process needs have no prefix.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # Empty means "no broker configured": `skillpay up` then starts the embedded one.
    kafka_bootstrap_servers: str = Field(default="", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    data_dir: Path = Field(default=Path("var"), validation_alias="SKILLPAY_DATA_DIR")
    # Base64 32-byte keys. Unset: a key file under data_dir/keys is created once and reused.
    pii_key: str = Field(default="", validation_alias="SKILLPAY_PII_KEY")
    lookup_key: str = Field(default="", validation_alias="SKILLPAY_LOOKUP_KEY")
    log_level: str = Field(default="INFO", validation_alias="SKILLPAY_LOG_LEVEL")
    # One JSON object per line (the default), or "text" for reading at a terminal (skillpay.logs).
    log_format: Literal["json", "text"] = Field(default="json", validation_alias="SKILLPAY_LOG_FORMAT")
    # off | otlp | file | console; empty: otlp when OTEL_EXPORTER_OTLP_ENDPOINT is set, else off
    # (skillpay.tracing). "file" appends JSON lines to traces_file (default data_dir/logs/traces.jsonl).
    traces: str = Field(default="", validation_alias="SKILLPAY_TRACES")
    traces_file: Path | None = Field(default=None, validation_alias="SKILLPAY_TRACES_FILE")
    # PEM text. Services need the public key, issuers (gateway, CLI) the private one. Unset: a key
    # pair under data_dir/keys is created once and shared by the processes of that data directory.
    auth_private_key: str = Field(default="", validation_alias="SKILLPAY_AUTH_PRIVATE_KEY")
    auth_public_key: str = Field(default="", validation_alias="SKILLPAY_AUTH_PUBLIC_KEY")

    def key_bytes(self, which: str) -> bytes:
        configured = self.pii_key if which == "pii" else self.lookup_key
        if configured:
            return base64.b64decode(configured)
        if not self.keys_may_live_in_data_dir():
            # Sealed IDs travel between services: a key made up per host would make them unreadable.
            raise RuntimeError("SKILLPAY_PII_KEY and SKILLPAY_LOOKUP_KEY must be set when the database is not "
                               "a local SQLite file")
        return load_or_create_key(self.data_dir / "keys" / f"{which}.key")

    def keys_may_live_in_data_dir(self) -> bool:
        """Only the one-machine default keeps its keys in the data directory."""
        return True

    def signing_key(self):
        from skillpay import auth

        if self.auth_private_key:
            return auth.load_private_key(self.auth_private_key)
        if not self.keys_may_live_in_data_dir():
            raise RuntimeError("SKILLPAY_AUTH_PRIVATE_KEY must be set when the database is not a local SQLite file")
        return auth.load_or_create_private_key(self.data_dir / "keys" / "actor_signing.pem")

    def token_issuer(self):
        from skillpay import auth

        return auth.TokenIssuer(self.signing_key())

    def token_verifier(self):
        from skillpay import auth

        if self.auth_public_key:
            return auth.TokenVerifier(auth.load_public_key(self.auth_public_key))
        if self.auth_private_key or self.keys_may_live_in_data_dir():
            return auth.TokenVerifier(self.signing_key().public_key())
        raise RuntimeError("SKILLPAY_AUTH_PUBLIC_KEY must be set when the database is not a local SQLite file")


class ServiceSettings(CommonSettings):
    """What every gRPC service needs; subclasses set env_prefix and defaults."""

    service_name: str = "service"
    grpc_listen: str = "127.0.0.1:50050"
    database_url: str = ""
    relay_poll_interval_s: float = 0.2
    # Events applied per consumer transaction (see skillpay.kafka.InboxConsumer).
    consumer_batch_size: int = Field(default=100, ge=1, le=1000, validation_alias="SKILLPAY_CONSUMER_BATCH_SIZE")
    topic_partitions: int = 3
    # 1 suits one broker; set 3 on a production cluster.
    topic_replication: int = Field(default=1, validation_alias="SKILLPAY_TOPIC_REPLICATION")
    # "all": this one instance reads every partition (one machine). "group": replicas of the
    # service share the partitions as a Kafka consumer group (deployments that scale out).
    consumer_assignment: Literal["all", "group"] = Field(default="all", validation_alias="SKILLPAY_CONSUMER_ASSIGNMENT")
    # An event whose handler keeps failing (not a transient outage) is tried this many times, the
    # waits doubling from the first delay up to the maximum, then parked (see skillpay.dead_letters).
    event_max_attempts: int = Field(default=5, ge=1, le=1000, validation_alias="SKILLPAY_EVENT_MAX_ATTEMPTS")
    event_retry_delay_s: float = Field(default=1.0, gt=0, le=3600, validation_alias="SKILLPAY_EVENT_RETRY_DELAY_S")
    event_retry_max_delay_s: float = Field(default=30.0, gt=0, le=3600,
                                           validation_alias="SKILLPAY_EVENT_RETRY_MAX_DELAY_S")
    # Prometheus /metrics over HTTP (host:port; port 0: any free port; empty: off). Each service
    # sets its own default (VOUCHER_METRICS_LISTEN, ...).
    metrics_listen: str = ""
    # Readiness (gRPC health, the gateway's /readyz): see skillpay.readiness.
    ready_interval_s: float = Field(default=1.0, gt=0, le=60, validation_alias="SKILLPAY_READY_INTERVAL_S")
    ready_check_timeout_s: float = Field(default=2.0, gt=0, le=60, validation_alias="SKILLPAY_READY_CHECK_TIMEOUT_S")
    ready_max_outbox_backlog: int = Field(default=10_000, ge=0, validation_alias="SKILLPAY_READY_MAX_OUTBOX_BACKLOG")
    ready_max_outbox_age_s: float = Field(default=300.0, ge=0, validation_alias="SKILLPAY_READY_MAX_OUTBOX_AGE_S")
    ready_max_consumer_lag: int = Field(default=10_000, ge=0, validation_alias="SKILLPAY_READY_MAX_CONSUMER_LAG")

    def keys_may_live_in_data_dir(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.sqlite3').resolve()}"


def load_or_create_key(path: Path) -> bytes:
    """A 32-byte key kept in a file readable only by its owner; created on first use."""
    try:
        return base64.b64decode(path.read_text().strip())
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(key).decode())
        try:
            # Two processes racing to create the key: the first one wins, the other reads it.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return base64.b64decode(path.read_text().strip())

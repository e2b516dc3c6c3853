"""Configuration of the bank simulator (environment variables, prefix ``BANK_SIM_``).

- ``BANK_SIM_HOST``: interface to listen on (default ``127.0.0.1``)
- ``BANK_SIM_PORT``: TCP port (default ``8070``)
- ``BANK_SIM_DATABASE_PATH``: SQLite file holding every payment (default below)
- ``BANK_SIM_SETTLE_DELAY_MS``: milliseconds between "accepted" and
  "settled"/"failed" (default ``200``)

The database defaults to ``$SKILLPAY_DATA_DIR/bank_sim.sqlite3`` where
``SKILLPAY_DATA_DIR`` defaults to ``./var``; the parent directory is created
when the store is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_path() -> Path:
    data_dir = os.environ.get("SKILLPAY_DATA_DIR") or "./var"
    return Path(data_dir) / "bank_sim.sqlite3"


class BankSimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BANK_SIM_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8070, ge=0, le=65535)
    database_path: Path = Field(default_factory=default_database_path)
    settle_delay_ms: int = Field(default=200, ge=0)

from __future__ import annotations

import base64

import pytest

from skillpay.settings import ServiceSettings, load_or_create_key

pytestmark = pytest.mark.unit


def test_key_file_is_created_once_and_reused(tmp_path):
    first = load_or_create_key(tmp_path / "keys" / "pii.key")
    assert len(first) == 32 and load_or_create_key(tmp_path / "keys" / "pii.key") == first
    assert (tmp_path / "keys" / "pii.key").stat().st_mode & 0o077 == 0  # owner only


@pytest.mark.policy("V1")
def test_shared_database_refuses_to_make_up_its_own_pii_key(tmp_path):
    settings = ServiceSettings(SKILLPAY_DATA_DIR=str(tmp_path), database_url="postgresql+asyncpg://db/voucher")
    with pytest.raises(RuntimeError, match="SKILLPAY_PII_KEY"):
        settings.key_bytes("pii")
    assert not (tmp_path / "keys").exists()


def test_configured_key_wins_and_sqlite_default_uses_the_data_dir(tmp_path):
    key = bytes(range(32))
    configured = ServiceSettings(SKILLPAY_PII_KEY=base64.b64encode(key).decode(),
                                 database_url="postgresql+asyncpg://db/x")
    assert configured.key_bytes("pii") == key
    local = ServiceSettings(SKILLPAY_DATA_DIR=str(tmp_path))
    assert local.key_bytes("lookup") == load_or_create_key(tmp_path / "keys" / "lookup.key")


def test_consumer_assignment_defaults_to_one_instance_and_rejects_unknown_modes(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.delenv("SKILLPAY_CONSUMER_ASSIGNMENT", raising=False)
    assert ServiceSettings().consumer_assignment == "all"
    monkeypatch.setenv("SKILLPAY_CONSUMER_ASSIGNMENT", "group")
    assert ServiceSettings().consumer_assignment == "group"
    monkeypatch.setenv("SKILLPAY_CONSUMER_ASSIGNMENT", "everyone")
    with pytest.raises(ValidationError, match="SKILLPAY_CONSUMER_ASSIGNMENT"):
        ServiceSettings()

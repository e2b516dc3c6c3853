"""Signed identities: EdDSA tokens that name an actor, verified with the public key only."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from skillpay.actors import Actor, ActorKind
from skillpay.auth import (
    TokenIssuer,
    TokenVerifier,
    bearer,
    load_or_create_private_key,
    load_public_key,
    public_pem,
)
from skillpay.errors import Unauthenticated

pytestmark = pytest.mark.unit

KEY = Ed25519PrivateKey.generate()
T0 = 1_800_000_000.0


def _verifier() -> TokenVerifier:
    return TokenVerifier(load_public_key(public_pem(KEY)))  # the public half only, as a service has it


def test_a_token_names_its_actor_and_verifies_with_the_public_key_alone():
    token = TokenIssuer(KEY).issue(ActorKind.INSTITUTION, "ins_42")
    assert _verifier().verify(token) == Actor(ActorKind.INSTITUTION, "ins_42")


@pytest.mark.parametrize("make", [
    lambda: TokenIssuer(Ed25519PrivateKey.generate()).issue(ActorKind.ADMIN, "x"),  # a key nobody trusts
    lambda: TokenIssuer(KEY, clock=lambda: 1_000_000_000.0).issue(ActorKind.ADMIN, "x"),  # expired in 2001
    lambda: jwt.encode({"sub": "x", "kind": "admin", "aud": "other", "iss": "skillpay", "iat": 0, "exp": 2**40},
                       KEY, algorithm="EdDSA"),  # meant for someone else
    lambda: jwt.encode({"sub": "x", "kind": "emperor", "aud": "skillpay", "iss": "skillpay", "iat": 0,
                        "exp": 2**40}, KEY, algorithm="EdDSA"),  # no such kind of actor
    lambda: jwt.encode({"sub": "x", "kind": "admin", "aud": "skillpay", "iss": "skillpay", "iat": 0,
                        "exp": 2**40}, "s" * 32, algorithm="HS256"),  # another algorithm
    lambda: "not.a.token",
    lambda: "",
    lambda: "a" * 5000,
])
def test_anything_else_is_unauthenticated_without_echoing_the_token(make):
    token = make()
    with pytest.raises(Unauthenticated) as err:
        _verifier().verify(token)
    assert token[:20] not in str(err.value) or not token


def test_bearer_reads_only_the_authorization_metadata():
    assert bearer((("x-other", "Bearer no"), ("authorization", "Bearer abc"))) == "abc"
    assert bearer((("authorization", "Basic abc"),)) == ""
    assert bearer(None) == ""


def test_the_signing_key_is_created_once_and_kept_private(tmp_path):
    path = tmp_path / "keys" / "actor_signing.pem"
    first = load_or_create_private_key(path)
    again = load_or_create_private_key(path)
    assert public_pem(first) == public_pem(again)
    assert path.stat().st_mode & 0o077 == 0


def test_cli_token_prints_a_token_the_services_accept(tmp_path):
    from skillpay.cli.main import app

    result = CliRunner().invoke(app, ["token", "finance", "fin-1", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    key = load_or_create_private_key(tmp_path / "keys" / "actor_signing.pem")
    assert TokenVerifier(key.public_key()).verify(result.output.strip()) == Actor(ActorKind.FINANCE, "fin-1")
    refused = CliRunner().invoke(app, ["token", "emperor", "x", "--data-dir", str(tmp_path)])
    assert refused.exit_code != 0


def test_keygen_prints_a_one_line_pair_that_signs_and_verifies():
    from skillpay.auth import load_private_key
    from skillpay.cli.main import app

    result = CliRunner().invoke(app, ["keygen"])
    assert result.exit_code == 0, result.output
    env = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    issuer = TokenIssuer(load_private_key(env["SKILLPAY_AUTH_PRIVATE_KEY"]))
    verifier = TokenVerifier(load_public_key(env["SKILLPAY_AUTH_PUBLIC_KEY"]))
    assert verifier.verify(issuer.issue(ActorKind.REVIEWER, "r-1")) == Actor(ActorKind.REVIEWER, "r-1")
    with pytest.raises(Unauthenticated):  # another pair's public key does not verify it
        _verifier().verify(issuer.issue(ActorKind.REVIEWER, "r-1"))


def test_a_token_expires_on_the_verifiers_clock_even_from_the_cache():
    now = [T0]
    issuer = TokenIssuer(KEY, ttl_s=60, clock=lambda: now[0])
    verifier = TokenVerifier(KEY.public_key(), leeway_s=0, clock=lambda: now[0])
    token = issuer.issue(ActorKind.ADMIN, "a")
    assert verifier.verify(token) == Actor(ActorKind.ADMIN, "a")
    now[0] += 30
    assert verifier.verify(token) == Actor(ActorKind.ADMIN, "a")  # from the cache
    now[0] += 31
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)
    with pytest.raises(Unauthenticated, match="expired"):  # and not back in the cache either
        verifier.verify(token)
    early = TokenIssuer(KEY, clock=lambda: now[0] + 3600).issue(ActorKind.ADMIN, "a")
    with pytest.raises(Unauthenticated, match="not valid yet"):
        verifier.verify(early)


@pytest.mark.policy("V1")
def test_cli_token_for_a_person_names_the_look_up_hash_never_the_id(tmp_path, monkeypatch):
    from skillpay.cli import sample_data
    from skillpay.cli.main import app
    from skillpay.pii import person_subject
    from skillpay.settings import CommonSettings

    monkeypatch.delenv("SKILLPAY_LOOKUP_KEY", raising=False)
    resident_id = sample_data.resident_id()
    result = CliRunner().invoke(app, ["token", "person", resident_id, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    key = load_or_create_private_key(tmp_path / "keys" / "actor_signing.pem")
    lookup_key = CommonSettings(SKILLPAY_DATA_DIR=str(tmp_path)).key_bytes("lookup")
    actor = TokenVerifier(key.public_key()).verify(result.output.strip())
    assert actor == Actor(ActorKind.PERSON, person_subject(resident_id, lookup_key)) and resident_id not in result.output
    refused = CliRunner().invoke(app, ["token", "person", "not-an-id", "--data-dir", str(tmp_path)])
    assert refused.exit_code != 0

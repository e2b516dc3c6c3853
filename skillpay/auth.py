"""Signed identities between processes: short-lived EdDSA tokens carried as gRPC metadata.

An issuer (the gateway, the CLI and demo, the tests) holds the Ed25519 private key and signs a
token naming the actor; every service holds only the public key and verifies it. The embedded
default keeps the key pair under ``<data_dir>/keys/`` like the PII keys; deployments set
``SKILLPAY_AUTH_PRIVATE_KEY`` (issuers) and ``SKILLPAY_AUTH_PUBLIC_KEY`` (services): PEM text or
base64 of the raw key (``skillpay keygen`` prints a pair).
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from skillpay.actors import Actor, ActorKind
from skillpay.errors import Unauthenticated

ALGORITHM = "EdDSA"
AUDIENCE = "skillpay"
ISSUER = "skillpay"
DEFAULT_TTL_S = 300
METADATA_KEY = "authorization"
_MAX_TOKEN_CHARS = 4096  # an honest token is a few hundred characters


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """The signing key of a one-machine installation, created once (owner-only file)."""
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        try:
            os.link(tmp, path)  # two processes racing: the first key wins, the other reads it
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """PEM, or base64 of the raw 32 bytes (one line, easy to keep in an .env file)."""
    if text.lstrip().startswith("-----BEGIN"):
        return serialization.load_pem_public_key(text.encode())
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def load_private_key(text: str) -> Ed25519PrivateKey:
    """PEM, or base64 of the raw 32 bytes."""
    if text.lstrip().startswith("-----BEGIN"):
        return serialization.load_pem_private_key(text.encode(), password=None)
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def raw_base64(key: Ed25519PrivateKey) -> tuple[str, str]:
    """(private, public) as one-line base64, for SKILLPAY_AUTH_PRIVATE_KEY / SKILLPAY_AUTH_PUBLIC_KEY."""
    private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


class TokenIssuer:
    def __init__(self, private_key: Ed25519PrivateKey, ttl_s: int = DEFAULT_TTL_S, clock=time.time):
        self._key = private_key
        self._ttl = ttl_s
        self._clock = clock

    @property
    def ttl_s(self) -> int:
        return self._ttl

    def issue(self, kind: ActorKind, subject: str) -> str:
        now = int(self._clock())
        claims = {"sub": subject, "kind": kind.value, "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                  "exp": now + self._ttl}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies tokens; a token seen before is answered from a small cache until it expires.

    A client sends the same token with every call for minutes, and a signature check per call
    costs more than the rest of a cheap RPC; the cache keeps only tokens that verified.
    """

    def __init__(self, public_key: Ed25519PublicKey, leeway_s: int = 5, cache_size: int = 1024,
                 clock=time.time):
        self._key = public_key
        self._leeway = leeway_s
        self._cache: dict[str, tuple[Actor, float]] = {}
        self._cache_size = cache_size
        self._clock = clock

    def verify(self, token: str) -> Actor:
        """The actor a valid token names; Unauthenticated otherwise (never echoing the token)."""
        if not token or len(token) > _MAX_TOKEN_CHARS:
            raise Unauthenticated("a bearer token is required")
        cached = self._cache.get(token)
        if cached is not None:
            if self._clock() <= cached[1] + self._leeway:
                return cached[0]
            del self._cache[token]
        actor, expires = self._verify_signature(token)
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))  # the oldest entry
        self._cache[token] = (actor, expires)
        return actor

    def _verify_signature(self, token: str) -> tuple[Actor, float]:
        try:
            # Times are checked below against our own (injectable) clock, like the cache does.
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub"], "verify_exp": False,
                                         "verify_iat": False, "verify_nbf": False})
            kind = ActorKind(claims["kind"])
            expires, issued = float(claims["exp"]), float(claims["iat"])
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
            raise Unauthenticated("the token is not valid") from None
        now = self._clock()
        if now > expires + self._leeway:
            raise Unauthenticated("the token has expired")
        if issued > now + self._leeway:
            raise Unauthenticated("the token is not valid yet")
        subject = claims["sub"]
        if not isinstance(subject, str) or not 0 < len(subject) <= 128:
            raise Unauthenticated("the token is not valid")
        return Actor(kind, subject), expires


def bearer(metadata) -> str:
    """The token of ``authorization: Bearer <token>`` in call metadata, or ''."""
    for key, value in metadata or ():
        if key == METADATA_KEY and isinstance(value, str) and value.startswith("Bearer "):
            return value[len("Bearer "):]
    return ""


class Identity:
    """A client-side identity: a fresh token whenever the last one is close to expiry."""

    def __init__(self, issuer: TokenIssuer, kind: ActorKind, subject: str):
        self._issuer = issuer
        self.kind = kind
        self.subject = subject
        self._token = ""
        self._expires = 0.0

    def metadata(self) -> tuple[tuple[str, str], ...]:
        if time.monotonic() > self._expires:
            self._token = self._issuer.issue(self.kind, self.subject)
            self._expires = time.monotonic() + self._issuer.ttl_s / 2
        return ((METADATA_KEY, f"Bearer {self._token}"),)


class _AttachIdentity(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds the channel's identity to every call that does not name one of its own."""

    def __init__(self, identity: Identity):
        self._identity = identity

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        metadata = list(client_call_details.metadata or ())
        if not any(k == METADATA_KEY for k, _ in metadata):
            metadata.extend(self._identity.metadata())
        details = client_call_details._replace(metadata=grpc.aio.Metadata(*metadata))
        return await continuation(details, request)


class _AttachIdentityToStreams(grpc.aio.StreamStreamClientInterceptor):
    """The same for bidirectional streams (a batch's chunks)."""

    def __init__(self, identity: Identity):
        self._identity = identity

    async def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        metadata = list(client_call_details.metadata or ())
        if not any(k == METADATA_KEY for k, _ in metadata):
            metadata.extend(self._identity.metadata())
        details = client_call_details._replace(metadata=grpc.aio.Metadata(*metadata))
        return await continuation(details, request_iterator)


class _AttachIdentityToServerStreams(grpc.aio.UnaryStreamClientInterceptor):
    """The same for server streams (a report's file in chunks)."""

    def __init__(self, identity: Identity):
        self._identity = identity

    async def intercept_unary_stream(self, continuation, client_call_details, request):
        metadata = list(client_call_details.metadata or ())
        if not any(k == METADATA_KEY for k, _ in metadata):
            metadata.extend(self._identity.metadata())
        details = client_call_details._replace(metadata=grpc.aio.Metadata(*metadata))
        return await continuation(details, request)


class _AttachIdentityToClientStreams(grpc.aio.StreamUnaryClientInterceptor):
    """The same for client streams (an uploaded file)."""

    def __init__(self, identity: Identity):
        self._identity = identity

    async def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        metadata = list(client_call_details.metadata or ())
        if not any(k == METADATA_KEY for k, _ in metadata):
            metadata.extend(self._identity.metadata())
        details = client_call_details._replace(metadata=grpc.aio.Metadata(*metadata))
        return await continuation(details, request_iterator)


def authenticated_channel(target: str, identity: Identity, options=None) -> grpc.aio.Channel:
    from skillpay import tracing

    # Tracing adds its interceptor only when it is on (configure it before making channels).
    return grpc.aio.insecure_channel(target, options=options, interceptors=[
        *tracing.client_interceptors(), _AttachIdentity(identity), _AttachIdentityToStreams(identity),
        _AttachIdentityToServerStreams(identity), _AttachIdentityToClientStreams(identity)])

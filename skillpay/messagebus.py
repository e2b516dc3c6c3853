"""The message bus: the one way into a service's use cases.

Entrypoints (gRPC servicers, Kafka consumers) translate what arrives into a command and hand it
to :meth:`MessageBus.handle`. The bus checks the actor's role against the service's declared
permission table, applies request-id idempotency (AIP-155: the same id with the same command
returns the first answer, with another command fails with ALREADY_EXISTS), runs the command's
handler, retries it on lost races, and afterwards hands the domain events the handler's
aggregates recorded to the service's own event handlers.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError

from skillpay.actors import Actor, ActorKind
from skillpay.db import with_retries
from skillpay.errors import AlreadyExists, FieldViolation, InvalidArgument, PermissionDenied
from skillpay.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)
R = TypeVar("R")

MAX_REQUEST_ID_CHARS = 128


@dataclass(frozen=True, kw_only=True)
class Command:
    """Base of every command: plain data, plus who asks for it."""

    actor: Actor


def command_name(command: Command) -> str:
    """The name the permission table, the audit trail and the idempotency store know it by."""
    return type(command).__name__


Handler = Callable[[Command, AbstractUnitOfWork], Awaitable[Any]]
EventHandler = Callable[[object, AbstractUnitOfWork], Awaitable[None]]
Permissions = Mapping[str, frozenset[ActorKind]]


@dataclass(frozen=True)
class Reply(Generic[R]):
    """How a command's result becomes the answer that a retried request gets back verbatim."""

    build: Callable[[Any], R]
    encode: Callable[[R], bytes]
    parse: Callable[[bytes], R]

    @classmethod
    def protobuf(cls, message_type, build: Callable[[Any], R]) -> "Reply[R]":
        return cls(build, lambda message: message.SerializeToString(), message_type.FromString)


def inject(handler: Callable, dependencies: Mapping[str, Any]) -> Handler:
    """Bind the dependencies a handler names (``clock``, ``vault``, ...) by parameter name."""
    wanted = inspect.signature(handler).parameters
    bound = {name: dep for name, dep in dependencies.items() if name in wanted}

    async def with_dependencies(command, uow):
        return await handler(command, uow, **bound)

    with_dependencies.__name__ = handler.__name__
    return with_dependencies


def build_bus(uow_factory: Callable[[], AbstractUnitOfWork], handlers: Mapping[type, Callable],
              permissions: Permissions, service_name: str, dependencies: Mapping[str, Any],
              fingerprint_key: bytes = b"") -> MessageBus:
    """A service's bus: its handlers with their dependencies injected, its permission table."""
    return MessageBus(uow_factory, {command: inject(handler, dependencies) for command, handler in handlers.items()},
                      permissions, fingerprint_key=fingerprint_key,
                      service_actor=Actor(ActorKind.SERVICE, service_name))


def authorize(permissions: Permissions, actor: Actor, what: str) -> None:
    """PERMISSION_DENIED unless the declared table lets this kind of actor do ``what``."""
    allowed = permissions.get(what)
    if allowed is None:
        raise PermissionDenied(f"{what} is not open to any role")
    if actor.kind not in allowed:
        raise PermissionDenied(f"a {actor.kind.value} may not {what}")


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


class MessageBus:
    def __init__(self, uow_factory: Callable[[], AbstractUnitOfWork], command_handlers: Mapping[type, Handler],
                 permissions: Permissions, event_handlers: Mapping[type, list[EventHandler]] | None = None,
                 fingerprint_key: bytes = b"", service_actor: Actor | None = None):
        self._uow_factory = uow_factory
        self._handlers = dict(command_handlers)
        self._event_handlers = dict(event_handlers or {})
        self._permissions = permissions
        self._fingerprint_key = fingerprint_key
        self._service_actor = service_actor
        missing = [c.__name__ for c in self._handlers if c.__name__ not in permissions]
        if missing:
            raise ValueError(f"commands without a permission entry: {missing}")

    def authorize(self, actor: Actor | None, what: str) -> Actor:
        if actor is None:
            raise PermissionDenied("the caller is not identified")
        authorize(self._permissions, actor, what)
        return actor

    async def handle(self, command: Command, *, reply: Reply[R] | None = None,
                     uow: AbstractUnitOfWork | None = None):
        """Run the command's handler; returns its result, or the built reply when ``reply`` is given.

        With ``uow``, the handler joins that open unit of work (a consumer's batch): the caller
        commits, and dispatches the events afterwards.
        """
        self.authorize(command.actor, command_name(command))
        handler = self._handlers[type(command)]
        if uow is not None:
            return await self._run(handler, command, uow)
        request_id = command.actor.request_id
        if request_id or reply is not None:
            # A caller's request (it wants a reply) always names itself, so a retry can be recognised.
            _check_request_id(request_id)
        if reply is not None:
            result, events = await self._once_per_request_id(handler, command, reply)
        else:
            result, events = await with_retries(lambda: self._run_alone(handler, command))
            if reply is not None:
                result = reply.build(result)
        await self.dispatch(events)
        return result

    async def dispatch(self, events: list) -> None:
        """Hand committed domain events to this service's own handlers, each in its own unit of work."""
        queue = list(events)
        while queue:
            event = queue.pop(0)
            for handler in self._event_handlers.get(type(event), ()):
                async def attempt(handler=handler):
                    uow = self._uow_factory()
                    async with uow:
                        with uow.acting(self._service_actor, type(event).__name__):
                            await handler(event, uow)
                            # The handler's own commit only joins this unit of work; this one commits it.
                            await uow.commit()
                    return uow.collect_new_events()
                queue.extend(await with_retries(attempt))

    @staticmethod
    async def _run(handler: Handler, command: Command, uow: AbstractUnitOfWork):
        with uow.acting(command.actor, command_name(command)):
            return await handler(command, uow)

    async def _run_alone(self, handler: Handler, command: Command):
        uow = self._uow_factory()
        result = await self._run(handler, command, uow)
        return result, uow.collect_new_events()

    def fingerprint(self, command: Command) -> str:
        """A keyed hash of the command without its request id: the same id must come with the same command.

        Keyed, because commands carry personal data (resident IDs) that a plain hash would let
        anyone with the table confirm by guessing.
        """
        fields = {f.name: getattr(command, f.name) for f in dataclasses.fields(command) if f.name != "actor"}
        canonical = json.dumps({"command": command_name(command), "actor": [command.actor.kind.value, command.actor.subject],
                                "fields": fields}, sort_keys=True, default=_plain, ensure_ascii=False)
        return hmac.new(self._fingerprint_key or b"skillpay", canonical.encode(), hashlib.sha256).hexdigest()

    async def _once_per_request_id(self, handler: Handler, command: Command, reply: Reply):
        request_id = command.actor.request_id
        fingerprint = self.fingerprint(command)

        async def attempt():
            uow = self._uow_factory()
            async with uow:
                stored = await uow.idempotency.get(request_id)
                if stored is not None:
                    if stored.method != command_name(command) or stored.fingerprint != fingerprint:
                        raise AlreadyExists("request_id was already used for a different request")
                    return reply.parse(stored.response), []
                answer = reply.build(await self._run(handler, command, uow))
                await uow.idempotency.put(request_id, command_name(command), fingerprint, reply.encode(answer))
                await uow.commit()
            return answer, uow.collect_new_events()

        try:
            return await with_retries(attempt)
        except IntegrityError:
            # A concurrent call with the same id won the race; its stored answer decides.
            return await with_retries(attempt)


def _check_request_id(request_id: str) -> None:
    if not request_id:
        raise InvalidArgument([FieldViolation("request_id", "is required for every mutating call")])
    if len(request_id) > MAX_REQUEST_ID_CHARS or not request_id.isascii() or not request_id.isprintable():
        raise InvalidArgument([FieldViolation("request_id", f"must be 1-{MAX_REQUEST_ID_CHARS} printable ASCII "
                                                            "characters")])

"""Who is acting: every command carries an Actor (pure Python; domain and service layer import it)."""

from __future__ import annotations

import contextvars
import enum
from dataclasses import dataclass, replace


class ActorKind(enum.Enum):
    PERSON = "person"  # a worker, through the mobile app; subject = the resident ID's look-up hash (skillpay.pii)
    INSTITUTION = "institution"  # a training institution; subject = its institution id
    REVIEWER = "reviewer"  # bureau staff who review claims
    FINANCE = "finance"  # bureau finance department
    ADMIN = "admin"  # catalogue and voucher administration
    SERVICE = "service"  # another SkillPay service; subject = its name
    EVALUATION_BODY = "evaluation_body"  # a skill evaluation body that issues certificates; subject = its id


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    subject: str
    request_id: str = ""

    def for_request(self, request_id: str) -> "Actor":
        return replace(self, request_id=request_id)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.subject}"


def service_actor(name: str) -> Actor:
    """The identity a service acts under when it applies another service's event."""
    return Actor(ActorKind.SERVICE, name)


# Set by the gRPC server interceptor once the caller's token is verified.
current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("current_actor", default=None)

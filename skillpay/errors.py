"""Domain errors shared by all services. Pure Python: domain code may import them.

The gRPC layer maps each class to a status code (see ``skillpay.grpc_server``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of every error a caller can act on."""


class InvalidArgument(DomainError):
    """Bad input: nothing was changed. Carries one violation per offending field."""

    def __init__(self, violations: list[FieldViolation] | FieldViolation | str, field: str = ""):
        if isinstance(violations, str):
            violations = [FieldViolation(field, violations)]
        elif isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = list(violations)
        super().__init__("; ".join(f"{v.field}: {v.description}" if v.field else v.description for v in self.violations))


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


@dataclass(frozen=True)
class PreconditionViolation:
    """One rule the current state breaks (google.rpc PreconditionFailure.Violation)."""

    type: str  # the rule's id, e.g. "L2"
    subject: str  # what it is about, e.g. "person" or "voucher"
    description: str


class FailedPrecondition(DomainError):
    """The request is valid but the current state does not allow it.

    With ``violations`` it names every rule that failed (sent as a PreconditionFailure); the
    message alone stays enough for callers that only read text.
    """

    def __init__(self, message: str = "", violations: list[PreconditionViolation] | None = None):
        self.violations = list(violations or ())
        if not message:
            message = "; ".join(f"{v.type}: {v.description}" for v in self.violations)
        super().__init__(message)


class PermissionDenied(DomainError):
    pass


def require(violations: list[FieldViolation]) -> None:
    """Raise InvalidArgument when any violation was collected."""
    if violations:
        raise InvalidArgument(violations)


class Unauthenticated(DomainError):
    """No valid identity came with the call."""


class Unavailable(DomainError):
    """Something this call depends on (another service) cannot be reached now; nothing was
    changed, and the same request may be sent again later."""

"""The claim service's unit of work and repositories, as the handlers see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from claim_svc.domain.model import Claim, ClaimState
from skillpay.uow import AbstractUnitOfWork


@dataclass(frozen=True)
class PayoutOutcome:
    """What the ledger reported for one payout request, kept even when its claim is not (yet) known."""

    payout_request_id: str
    claim_id: str
    settled: bool
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class PendingTopUp:
    """A5: a top-up that arrived before its voucher's claim; the claim takes it when created."""

    top_up_id: str
    voucher_id: str
    claim_id: str
    value_fen: int
    top_up_fen: int
    occurred_at: datetime


@dataclass(frozen=True)
class PendingWithdrawal:
    """X2: a rolled-back redemption whose claim is not here yet (its voucher.redeemed was parked or
    is late); the claim withdraws that line as it is created, so a replay never pays it."""

    voucher_id: str
    redemption_id: str  # "" (an older event): the first redemption, the voucher id
    claim_id: str
    reason: str
    occurred_at: datetime


class ClaimRepository(Protocol):
    async def add(self, claim: Claim) -> None: ...
    async def get(self, claim_id: str, for_update: bool = False) -> Claim | None: ...
    async def save(self, claim: Claim) -> None: ...
    async def list(self, after: str | None, limit: int, voucher_id: str = "",
                   state: ClaimState | None = None) -> list[Claim]: ...


class PayoutOutcomeRepository(Protocol):
    async def record(self, outcome: PayoutOutcome) -> bool:
        """False when this payout request's outcome was already recorded."""
    async def for_claim(self, claim_id: str) -> list[PayoutOutcome]: ...


class PendingTopUpRepository(Protocol):
    async def add(self, top_up: PendingTopUp) -> bool:
        """False when this top-up is already kept."""
    async def for_claim(self, claim_id: str) -> list[PendingTopUp]: ...


class PendingWithdrawalRepository(Protocol):
    async def add(self, withdrawal: PendingWithdrawal) -> bool:
        """False when this redemption's withdrawal is already kept."""
    async def for_claim(self, claim_id: str) -> list[PendingWithdrawal]: ...


class ClaimUnitOfWork(AbstractUnitOfWork):
    claims: ClaimRepository
    payout_outcomes: PayoutOutcomeRepository
    pending_top_ups: PendingTopUpRepository
    pending_withdrawals: PendingWithdrawalRepository

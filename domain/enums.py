"""The closed vocabularies of the dataset format, as string enums stored by value."""

from __future__ import annotations

from enum import StrEnum


class ChannelStatus(StrEnum):
    active = "active"
    paused = "paused"
    archived = "archived"


class StatusKind(StrEnum):
    open = "open"
    won = "won"
    lost = "lost"


class TriggerEvent(StrEnum):
    lead_submitted = "lead_submitted"
    status_reached = "status_reached"
    purchase = "purchase"


class AmountType(StrEnum):
    fixed = "fixed"
    percentage = "percentage"


class RewardStatus(StrEnum):
    awaiting_review = "awaiting_review"
    approved = "approved"
    paid = "paid"
    rejected = "rejected"


class ReportState(StrEnum):
    needs_review = "needs review"
    awaiting_payment = "awaiting payment"
    paid = "paid"
    empty = "empty"


class IntegrationState(StrEnum):
    connected = "connected"
    error = "error"
    disconnected = "disconnected"


class Role(StrEnum):
    viewer = "viewer"
    manager = "manager"
    finance = "finance"
    admin = "admin"


# The moves metrics.md allows; everything else is refused by the reward engine.
ALLOWED_REWARD_MOVES: dict[RewardStatus, frozenset[RewardStatus]] = {
    RewardStatus.awaiting_review: frozenset({RewardStatus.approved, RewardStatus.rejected}),
    RewardStatus.approved: frozenset({RewardStatus.paid, RewardStatus.rejected}),
    RewardStatus.paid: frozenset(),
    RewardStatus.rejected: frozenset(),
}

DEFAULT_PIPELINE: tuple[tuple[str, StatusKind], ...] = (
    ("New lead", StatusKind.open),
    ("In progress", StatusKind.open),
    ("Meeting booked", StatusKind.open),
    ("Won", StatusKind.won),
    ("Lost", StatusKind.lost),
)

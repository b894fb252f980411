"""The reward engine: triggers firing on events after import, and the moves of a reward's state.

Firing follows metrics.md "Reward triggers": once per lead and event (or per purchase), backed by
the unique (trigger_id, event_key). Moves follow `ALLOWED_REWARD_MOVES`, each as a conditional
UPDATE (`... WHERE status = :from`), so two concurrent callers change a reward exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from domain import audit
from domain.enums import ALLOWED_REWARD_MOVES, AmountType, RewardStatus, TriggerEvent
from domain.idempotency import By, run_once
from domain.models import (
    Channel,
    Lead,
    LeadStatusChange,
    PipelineStatus,
    Purchase,
    Reward,
    RewardReport,
    RewardTrigger,
)
from domain.money import CurrencyTotals, format_money, percent_of, round_half_up


class UnknownReport(LookupError):
    """No reward report with that id in the organization."""


# --- the rule --------------------------------------------------------------------------------


class TriggerLike(Protocol):
    """A stored trigger or its read-only copy in an explanation."""

    @property
    def ext_id(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def amount_type(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def requires_approval(self) -> bool: ...


def compute_amount(amount_type: str, amount: Decimal, base: Decimal | None) -> Decimal | None:
    """A fixed amount, or `amount`% of the base half-up to cents; None without a base."""
    if amount_type == AmountType.fixed:
        return round_half_up(amount)
    if base is None:
        return None
    return percent_of(base, amount)


def describe_rule(name: str, trigger: TriggerLike, currency: str) -> str:
    """One sentence: when the trigger fires, what it pays, and whether approval is needed."""
    when = {
        TriggerEvent.lead_submitted: "when a lead is submitted",
        TriggerEvent.status_reached: f"when a lead first reaches '{trigger.status}'",
        TriggerEvent.purchase: "for each purchase recorded",
    }.get(TriggerEvent(trigger.event), trigger.event)
    if trigger.amount_type == AmountType.percentage:
        base = "purchase amount" if trigger.event == TriggerEvent.purchase else "deal value"
        what = f"{trigger.amount.normalize():f}% of the {base}"
    else:
        what = format_money(currency, trigger.amount)
    review = "needs approval" if trigger.requires_approval else "is approved automatically"
    return f"Trigger '{name}' ({trigger.ext_id}) pays {what} {when}; the reward {review}."


def new_ext_id(prefix: str) -> str:
    """Ids for rows made after import; short, and never clashing with a customer's ids."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- firing ----------------------------------------------------------------------------------


def on_lead_submitted(
    session: Session,
    lead: Lead,
    actor: str = "system",
    surface: str = "engine",
    thread_id: str | None = None,
    now: datetime | None = None,
) -> list[Reward]:
    """Fire the channel's active `lead_submitted` triggers for a newly created lead."""
    triggers = _active_triggers(session, lead, TriggerEvent.lead_submitted)
    by = By(actor, surface, thread_id)
    return _fire_for_lead(session, lead, triggers, by, now or audit.utcnow())


def on_status_reached(
    session: Session,
    lead: Lead,
    new_status: PipelineStatus | str,
    actor: str = "system",
    surface: str = "engine",
    thread_id: str | None = None,
    now: datetime | None = None,
) -> list[Reward]:
    """Fire `status_reached` triggers, only the first time the lead enters the status.

    History before the change (at `now`, by default the lead's `status_changed_at`) showing the
    lead entering or leaving the status means it was there before; the move that calls this
    may already have written its own history entry at that time.
    """
    changed_at = now or lead.status_changed_at
    name = new_status.name if isinstance(new_status, PipelineStatus) else new_status
    triggers = [
        t
        for t in _active_triggers(session, lead, TriggerEvent.status_reached)
        if (t.status or "").strip().lower() == name.strip().lower()
    ]
    if not triggers or _was_in_status_before(session, lead, name, changed_at):
        return []
    by = By(actor, surface, thread_id)
    return _fire_for_lead(session, lead, triggers, by, now or audit.utcnow())


def on_purchase_recorded(
    session: Session,
    purchase: Purchase,
    actor: str = "system",
    surface: str = "engine",
    thread_id: str | None = None,
    now: datetime | None = None,
) -> list[Reward]:
    """Fire the lead's channel's active `purchase` triggers, once per purchase."""
    lead = session.get_one(Lead, purchase.lead_id)
    at = now or audit.utcnow()
    key = f"purchase:{purchase.id}"
    by = By(actor, surface, thread_id)
    rewards = []
    for trigger in _active_triggers(session, lead, TriggerEvent.purchase):
        fired = or_(Reward.event_key == key, Reward.purchase_id == purchase.id)
        if _already_fired(session, trigger, fired):
            continue
        reward = _create_reward(
            session, trigger, lead, purchase.amount, key, by, at, purchase_id=purchase.id
        )
        if reward is not None:
            rewards.append(reward)
    return rewards


def _active_triggers(session: Session, lead: Lead, event: TriggerEvent) -> list[RewardTrigger]:
    stmt = (
        select(RewardTrigger)
        .where(
            RewardTrigger.org_id == lead.org_id,
            RewardTrigger.channel_id == lead.channel_id,
            RewardTrigger.event == event.value,
            RewardTrigger.active.is_(True),
        )
        .order_by(RewardTrigger.id)
    )
    return list(session.scalars(stmt))


def _fire_for_lead(
    session: Session, lead: Lead, triggers: Iterable[RewardTrigger], by: By, at: datetime
) -> list[Reward]:
    """Lead events: once per trigger and lead (an imported reward of the pair counts as fired)."""
    key = f"lead:{lead.id}"
    rewards = []
    for trigger in triggers:
        if _already_fired(
            session, trigger, or_(Reward.event_key == key, Reward.lead_id == lead.id)
        ):
            continue
        reward = _create_reward(session, trigger, lead, lead.deal_value, key, by, at)
        if reward is not None:
            rewards.append(reward)
    return rewards


def _already_fired(
    session: Session, trigger: RewardTrigger, same_event: ColumnElement[bool]
) -> bool:
    stmt = select(Reward.id).where(Reward.trigger_id == trigger.id, same_event).limit(1)
    return session.scalar(stmt) is not None


def _was_in_status_before(session: Session, lead: Lead, name: str, at: datetime) -> bool:
    key = name.strip().lower()
    entered = (func.lower(LeadStatusChange.to_status) == key) & (LeadStatusChange.changed_at < at)
    left = (func.lower(LeadStatusChange.from_status) == key) & (LeadStatusChange.changed_at <= at)
    stmt = (
        select(LeadStatusChange.id)
        .where(LeadStatusChange.lead_id == lead.id, or_(entered, left))
        .limit(1)
    )
    return session.scalar(stmt) is not None


def _create_reward(
    session: Session,
    trigger: RewardTrigger,
    lead: Lead,
    base: Decimal | None,
    event_key: str,
    by: By,
    at: datetime,
    purchase_id: int | None = None,
) -> Reward | None:
    amount = compute_amount(trigger.amount_type, trigger.amount, base)
    if amount is None:  # a percentage of a missing deal value creates no reward
        return None
    status = RewardStatus.awaiting_review if trigger.requires_approval else RewardStatus.approved
    reward = Reward(
        org_id=lead.org_id,
        ext_id=new_ext_id("rw"),
        channel_id=lead.channel_id,
        lead_id=lead.id,
        trigger_id=trigger.id,
        report_id=_report_covering(session, lead.org_id, lead.channel_id, at.date()),
        purchase_id=purchase_id,
        event_key=event_key,
        amount=amount,
        base_amount=base if trigger.amount_type == AmountType.percentage else None,
        status=status.value,
        created_at=at,
        approved_at=at if status == RewardStatus.approved else None,
    )
    session.add(reward)
    session.flush()
    audit.record(
        session,
        lead.org_id,
        by.actor,
        by.surface,
        "reward.created",
        "reward",
        reward.ext_id,
        before=None,
        after={
            "status": status.value,
            "amount": f"{amount:.2f}",
            "trigger": trigger.ext_id,
            "lead": lead.ext_id,
            "event": event_key,
        },
        thread_id=by.thread_id,
        at=at,
    )
    return reward


def _report_covering(session: Session, org_id: int, channel_id: int, day: date) -> int | None:
    """The channel's report whose period contains `day`, so new rewards land in a report."""
    stmt = (
        select(RewardReport.id)
        .where(
            RewardReport.org_id == org_id,
            RewardReport.channel_id == channel_id,
            RewardReport.period_start <= day,
            RewardReport.period_end >= day,
        )
        .order_by(RewardReport.period_start.desc(), RewardReport.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


# --- moves -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
    ext_id: str
    status: str | None
    """The reward's current status; None when there is no such reward."""
    reason: str


@dataclass
class MoveResult:
    """What a batch move did: changed rewards, refused ones with reasons, totals that moved."""

    action: str
    to_status: RewardStatus
    changed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    totals: CurrencyTotals = field(default_factory=CurrencyTotals)
    replayed: bool = False
    """True when an idempotency key matched an earlier call and this is its result."""

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "to_status": self.to_status.value,
            "changed": list(self.changed),
            "skipped": [
                {"id": s.ext_id, "status": s.status, "reason": s.reason} for s in self.skipped
            ],
            "totals": self.totals.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], replayed: bool = True) -> MoveResult:
        return cls(
            action=data["action"],
            to_status=RewardStatus(data["to_status"]),
            changed=list(data["changed"]),
            skipped=[Skipped(s["id"], s["status"], s["reason"]) for s in data["skipped"]],
            totals=CurrencyTotals.from_json(data["totals"]),
            replayed=replayed,
        )


def approve_rewards(
    session: Session,
    org_id: int,
    ext_ids: Sequence[str],
    *,
    actor: str,
    surface: str,
    thread_id: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> MoveResult:
    """awaiting_review → approved."""
    at = now or audit.utcnow()
    move = _Move("reward.approve", RewardStatus.approved, {"approved_at": at}, {})
    return _move(session, org_id, ext_ids, move, By(actor, surface, thread_id), idempotency_key, at)


def reject_rewards(
    session: Session,
    org_id: int,
    ext_ids: Sequence[str],
    reason: str,
    *,
    actor: str,
    surface: str,
    thread_id: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> MoveResult:
    """awaiting_review or approved → rejected, keeping the reason."""
    at = now or audit.utcnow()
    values = {"rejected_at": at, "reject_reason": reason}
    move = _Move("reward.reject", RewardStatus.rejected, values, {"reason": reason})
    return _move(session, org_id, ext_ids, move, By(actor, surface, thread_id), idempotency_key, at)


def mark_rewards_paid(
    session: Session,
    org_id: int,
    ext_ids: Sequence[str],
    payment_date: date | None = None,
    reference: str | None = None,
    *,
    actor: str,
    surface: str,
    thread_id: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> MoveResult:
    """approved → paid; `paid_at` is the payment date (midnight) or now."""
    at = now or audit.utcnow()
    paid_at = datetime.combine(payment_date, time.min) if payment_date else at
    values = {"paid_at": paid_at, "payment_reference": reference}
    extra = {"paid_at": paid_at.isoformat(), "reference": reference}
    move = _Move("reward.mark_paid", RewardStatus.paid, values, extra)
    return _move(session, org_id, ext_ids, move, By(actor, surface, thread_id), idempotency_key, at)


@dataclass(frozen=True)
class _Move:
    action: str
    to: RewardStatus
    values: dict[str, Any]
    """Columns set with the status (approved_at, paid_at, ...)."""
    extra_after: dict[str, Any]
    """What the audit entry records besides the new status."""


def _move(
    session: Session,
    org_id: int,
    ext_ids: Sequence[str],
    move: _Move,
    by: By,
    idempotency_key: str | None,
    at: datetime,
) -> MoveResult:
    """Conditional UPDATEs and their audit entries, once per idempotency key.

    The rewards are looked up before the change's savepoint opens: on SQLite a read inside it
    would pin a snapshot that a concurrent writer's commit makes impossible to write from.
    """
    wanted = list(dict.fromkeys(ext_ids))
    targets = {
        rid: (ext_id, amount, currency)
        for rid, ext_id, amount, currency in session.execute(
            select(Reward.id, Reward.ext_id, Reward.amount, Channel.currency)
            .join(Channel, Channel.id == Reward.channel_id)
            .where(Reward.org_id == org_id, Reward.ext_id.in_(wanted))
        )
    }

    def work() -> dict[str, Any]:
        moved = _conditional_updates(session, org_id, list(targets), move.to, move.values)
        for rid, source in moved.items():
            audit.record(
                session,
                org_id,
                by.actor,
                by.surface,
                move.action,
                "reward",
                targets[rid][0],
                before={"status": source.value},
                after={"status": move.to.value, **move.extra_after},
                thread_id=by.thread_id,
                at=at,
            )
        return _result(session, wanted, targets, moved, move.to, move.action).to_json()

    data, replayed = run_once(
        session, org_id, idempotency_key, move.action, "reward_batch", by, at, work
    )
    return MoveResult.from_json(data, replayed=replayed)


def _conditional_updates(
    session: Session, org_id: int, ids: list[int], to: RewardStatus, values: dict[str, Any]
) -> dict[int, RewardStatus]:
    """One `UPDATE ... WHERE status = :from RETURNING id` per allowed source status."""
    moved: dict[int, RewardStatus] = {}
    sources = sorted(s for s, targets in ALLOWED_REWARD_MOVES.items() if to in targets)
    for source in sources:
        remaining = [i for i in ids if i not in moved]
        if not remaining:
            break
        stmt = (
            update(Reward)
            .where(
                Reward.org_id == org_id,
                Reward.id.in_(remaining),
                Reward.status == source.value,
            )
            .values(status=to.value, **values)
            .returning(Reward.id)
            .execution_options(synchronize_session="fetch")
        )
        for (rid,) in session.execute(stmt):
            moved[rid] = source
    return moved


def _result(
    session: Session,
    wanted: list[str],
    targets: dict[int, tuple[str, Decimal, str]],
    moved: dict[int, RewardStatus],
    to: RewardStatus,
    action: str,
) -> MoveResult:
    """Changed ids and totals, and for every other requested id why it was left alone.

    Both lists keep the order the ids were asked in.
    """
    by_ext = {ext_id: rid for rid, (ext_id, _, _) in targets.items()}
    unchanged = [rid for rid in targets if rid not in moved]
    stmt = select(Reward.id, Reward.status).where(Reward.id.in_(unchanged))
    current = {rid: status for rid, status in session.execute(stmt)}
    result = MoveResult(action, to)
    for ext_id in wanted:
        rid = by_ext.get(ext_id)
        if rid is None:
            result.skipped.append(Skipped(ext_id, None, "no such reward in this organization"))
        elif rid in moved:
            _, amount, currency = targets[rid]
            result.changed.append(ext_id)
            result.totals.add(currency, amount)
        else:
            status = current[rid]
            reason = (
                f"already {status}"
                if status == to.value
                else f"a reward that is {status} cannot become {to.value}"
            )
            result.skipped.append(Skipped(ext_id, status, reason))
    return result


# --- reports ---------------------------------------------------------------------------------


def find_report(session: Session, org_id: int, report_ext_id: str) -> RewardReport:
    report = session.scalar(
        select(RewardReport).where(
            RewardReport.org_id == org_id, RewardReport.ext_id == report_ext_id
        )
    )
    if report is None:
        raise UnknownReport(f"No reward report {report_ext_id!r} in this organization.")
    return report


def flag_report(
    session: Session,
    org_id: int,
    report_ext_id: str,
    note: str,
    actor: str,
    surface: str,
    thread_id: str | None = None,
    now: datetime | None = None,
) -> RewardReport:
    """Leave a clarification note on a report (step 4 of the monthly routine), audited."""
    report = find_report(session, org_id, report_ext_id)
    before = report.flag_note
    report.flag_note = note
    session.flush()
    audit.record(
        session,
        org_id,
        actor,
        surface,
        "report.flag",
        "reward_report",
        report.ext_id,
        before={"flag_note": before},
        after={"flag_note": note},
        thread_id=thread_id,
        at=now,
    )
    return report

"""Reward queries: summaries, lists and "why is this reward this amount", all org-scoped.

Counts and totals are SQL aggregates grouped by status and the channel's currency, so amounts
in different currencies are never added. Ids in filters and results are customer ids (`ext_id`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, false, func, select
from sqlalchemy.orm import Session, aliased

from domain import audit
from domain.enums import AmountType, RewardStatus, TriggerEvent
from domain.models import (
    Channel,
    Lead,
    Partner,
    PipelineStatus,
    Purchase,
    Reward,
    RewardReport,
    RewardTrigger,
)
from domain.money import ZERO, CurrencyTotals, format_money
from domain.periods import Period
from domain.reward_engine import compute_amount, describe_rule

OUTSTANDING: tuple[RewardStatus, ...] = (RewardStatus.approved,)
"""metrics.md: "approved but not paid", "outstanding", "owed" and "still to pay" = approved."""

STATUS_ORDER: tuple[RewardStatus, ...] = tuple(RewardStatus)

DateField = Literal["created", "approved", "paid"]
OrderBy = Literal["newest", "oldest", "largest"]

_DATE_COLUMNS = {
    "created": Reward.created_at,
    "approved": Reward.approved_at,
    "paid": Reward.paid_at,
}


class UnknownReward(LookupError):
    """No reward with that id in the organization."""


_BY_KEY_MAX = 2000  # more rewards than this: keep the filter as conditions


@dataclass(frozen=True)
class RewardFilter:
    """Which rewards a question is about; empty sequences mean "no restriction"."""

    statuses: Sequence[RewardStatus | str] = ()
    channel_ids: Sequence[str] = ()
    partner_ids: Sequence[str] = ()
    lead_ids: Sequence[str] = ()
    report_id: str | None = None
    period: Period | None = None
    date_field: DateField = "created"
    reward_keys: tuple[int, ...] | None = None  # set by `with_keys`: the matching rewards

    def resolved(self, session: Session, org_id: int) -> list[ColumnElement[bool]]:
        """`conditions` of `with_keys`: what the queries below filter by."""
        return self.with_keys(session, org_id).conditions(org_id)

    def with_keys(self, session: Session, org_id: int) -> RewardFilter:
        """This filter with a lead's or a report's rewards (a few dozen) looked up once and
        named by primary key; callers running several queries resolve it once.

        Without statistics SQLite's planner walks all the organization's rewards in date
        (or channel) order to spare a sort, checking each against the lead or report — at
        1M leads a second or two; a plain lookup by (org_id, lead_id|report_id) is a few ms."""
        if self.reward_keys is not None or (not self.lead_ids and self.report_id is None):
            return self
        conds = replace(self, report_id=None).conditions(org_id)
        if self.report_id is not None:
            report = session.scalar(
                select(RewardReport.id).where(
                    RewardReport.org_id == org_id, RewardReport.ext_id == self.report_id
                )
            )
            conds.append(Reward.report_id == report if report is not None else false())
        ids = session.scalars(select(Reward.id).where(*conds).limit(_BY_KEY_MAX + 1)).all()
        return self if len(ids) > _BY_KEY_MAX else replace(self, reward_keys=tuple(ids))

    def conditions(self, org_id: int) -> list[ColumnElement[bool]]:
        """WHERE clauses on `rewards` (subqueries, so they work with any joins)."""
        if self.reward_keys is not None:
            # Already this organization's rewards; an org_id term here would tempt SQLite
            # back into the (org_id, created_at) walk.
            return [Reward.id.in_(list(self.reward_keys)) if self.reward_keys else false()]
        conds: list[ColumnElement[bool]] = [Reward.org_id == org_id]
        if self.statuses:
            conds.append(Reward.status.in_([RewardStatus(s).value for s in self.statuses]))
        if self.channel_ids:
            ids = select(Channel.id).where(
                Channel.org_id == org_id, Channel.ext_id.in_(list(self.channel_ids))
            )
            conds.append(Reward.channel_id.in_(ids))
        if self.partner_ids:
            ids = (
                select(Channel.id)
                .join(Partner, Partner.id == Channel.partner_id)
                .where(Channel.org_id == org_id, Partner.ext_id.in_(list(self.partner_ids)))
            )
            conds.append(Reward.channel_id.in_(ids))
        if self.lead_ids:
            ids = select(Lead.id).where(Lead.org_id == org_id, Lead.ext_id.in_(list(self.lead_ids)))
            conds.append(Reward.lead_id.in_(ids))
        if self.report_id is not None:
            ids = select(RewardReport.id).where(
                RewardReport.org_id == org_id, RewardReport.ext_id == self.report_id
            )
            conds.append(Reward.report_id.in_(ids))
        if self.period is not None:
            column = _DATE_COLUMNS[self.date_field]
            lo, hi = self.period.datetime_bounds()
            if lo is not None:
                conds.append(column >= lo)
            if hi is not None:
                conds.append(column < hi)
            if lo is None and hi is None:
                conds.append(column.is_not(None))
        return conds


@dataclass(frozen=True)
class StatusTotals:
    status: RewardStatus
    count: int
    totals: CurrencyTotals


@dataclass(frozen=True)
class RewardSummary:
    """Per status: how many rewards and how much, per currency."""

    by_status: list[StatusTotals]

    def get(self, status: RewardStatus | str) -> StatusTotals:
        wanted = RewardStatus(status)
        for item in self.by_status:
            if item.status == wanted:
                return item
        return StatusTotals(wanted, 0, CurrencyTotals())

    @property
    def count(self) -> int:
        return sum(item.count for item in self.by_status)


def reward_summary(session: Session, org_id: int, f: RewardFilter | None = None) -> RewardSummary:
    """GROUP BY status and currency; every status of the filter appears, zero when absent."""
    f = f or RewardFilter()
    # Grouped by channel, not joined to it: an index-only pass over the rewards; each
    # channel's currency comes from the (small) channels table afterwards.
    stmt = (
        select(Reward.status, Reward.channel_id, func.count(), func.sum(Reward.amount))
        .where(*f.resolved(session, org_id))
        .group_by(Reward.status, Reward.channel_id)
    )
    channels = select(Channel.id, Channel.currency).where(Channel.org_id == org_id)
    currencies = {cid: currency for cid, currency in session.execute(channels)}
    counts: dict[str, int] = {}
    totals: dict[str, CurrencyTotals] = {}
    for status, channel_id, count, amount in session.execute(stmt):
        counts[status] = counts.get(status, 0) + int(count)
        totals.setdefault(status, CurrencyTotals()).add(
            currencies[channel_id], Decimal(amount or 0)
        )
    shown = [RewardStatus(s) for s in f.statuses] if f.statuses else list(STATUS_ORDER)
    by_status = [
        StatusTotals(s, counts.get(s.value, 0), totals.get(s.value, CurrencyTotals()))
        for s in STATUS_ORDER
        if s in shown
    ]
    return RewardSummary(by_status)


@dataclass(frozen=True)
class RewardRow:
    ext_id: str
    channel_id: str
    channel_name: str
    partner_id: str
    partner_name: str
    lead_id: str | None
    company_name: str | None
    trigger_id: str | None
    trigger_name: str | None
    amount: Decimal
    currency: str
    status: RewardStatus
    created_at: datetime
    approved_at: datetime | None
    paid_at: datetime | None
    rejected_at: datetime | None
    report_id: str | None


def _row_select() -> Select[*tuple[Any, ...]]:
    """The columns of `RewardRow`, labelled with its field names."""
    return (
        select(
            Reward.ext_id.label("ext_id"),
            Channel.ext_id.label("channel_id"),
            Channel.name.label("channel_name"),
            Partner.ext_id.label("partner_id"),
            Partner.name.label("partner_name"),
            Lead.ext_id.label("lead_id"),
            Lead.company_name.label("company_name"),
            RewardTrigger.ext_id.label("trigger_id"),
            RewardTrigger.name.label("trigger_name"),
            Reward.amount.label("amount"),
            Channel.currency.label("currency"),
            Reward.status.label("status"),
            Reward.created_at.label("created_at"),
            Reward.approved_at.label("approved_at"),
            Reward.paid_at.label("paid_at"),
            Reward.rejected_at.label("rejected_at"),
            RewardReport.ext_id.label("report_id"),
        )
        .join(Channel, Channel.id == Reward.channel_id)
        .join(Partner, Partner.id == Channel.partner_id)
        .outerjoin(Lead, Lead.id == Reward.lead_id)
        .outerjoin(RewardTrigger, RewardTrigger.id == Reward.trigger_id)
        .outerjoin(RewardReport, RewardReport.id == Reward.report_id)
    )


_ORDERINGS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "newest": (Reward.created_at.desc(), Reward.id.desc()),
    "oldest": (Reward.created_at.asc(), Reward.id.asc()),
    "largest": (Reward.amount.desc(), Reward.id.asc()),
}


def list_rewards(
    session: Session,
    org_id: int,
    f: RewardFilter | None = None,
    limit: int = 20,
    offset: int = 0,
    order_by: OrderBy = "newest",
    total: int | None = None,
) -> tuple[list[RewardRow], int]:
    """One page of rewards and how many match in all (the answer says how many it left out).

    A caller that already knows the total (e.g. from `reward_summary` of the same filter)
    passes it, saving a second pass over the matching rewards."""
    f = f or RewardFilter()
    conds = f.resolved(session, org_id)
    if total is None:
        total = session.scalar(select(func.count(Reward.id)).where(*conds)) or 0
    stmt = _row_select().where(*conds).order_by(*_ORDERINGS[order_by]).limit(limit).offset(offset)
    rows = [
        RewardRow(**{**r._mapping, "status": RewardStatus(r.status)}) for r in session.execute(stmt)
    ]
    return rows, int(total)


# --- why is this reward this amount ---------------------------------------------------------


@dataclass(frozen=True)
class TriggerInfo:
    ext_id: str
    name: str | None
    event: str
    amount_type: str
    amount: Decimal
    status: str | None
    requires_approval: bool
    active: bool


@dataclass(frozen=True)
class LeadInfo:
    ext_id: str
    company_name: str | None
    contact_name: str | None
    status: str
    status_kind: str
    deal_value: Decimal | None


@dataclass(frozen=True)
class HistoryItem:
    at: datetime
    actor: str
    surface: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class RewardExplanation:
    ext_id: str
    status: RewardStatus
    amount: Decimal
    currency: str
    channel_id: str
    created_at: datetime
    approved_at: datetime | None
    paid_at: datetime | None
    rejected_at: datetime | None
    reject_reason: str | None
    payment_reference: str | None
    report_id: str | None
    trigger: TriggerInfo | None
    lead: LeadInfo | None
    purchase_id: str | None
    base_label: str | None
    base_amount: Decimal | None
    """The base the rule applies to: the stored base, else the lead's deal value or purchase."""
    expected_amount: Decimal | None
    matches_rule: bool | None
    """None when there is no rule to check against (no trigger, or no base for a percentage)."""
    history: list[HistoryItem] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def explain_reward(session: Session, org_id: int, reward_ext_id: str) -> RewardExplanation:
    """The trigger, the base, the rule's amount, whether the stored amount matches, the history."""
    reward = session.scalar(
        select(Reward).where(Reward.org_id == org_id, Reward.ext_id == reward_ext_id)
    )
    if reward is None:
        raise UnknownReward(f"No reward {reward_ext_id!r} in this organization.")
    channel = session.get_one(Channel, reward.channel_id)
    trigger = session.get(RewardTrigger, reward.trigger_id) if reward.trigger_id else None
    lead_info = _lead_info(session, reward.lead_id)
    purchase = session.get(Purchase, reward.purchase_id) if reward.purchase_id else None
    if purchase is None and trigger is not None and trigger.event == TriggerEvent.purchase:
        purchase = _purchase_behind(session, reward, trigger)
    report = session.get(RewardReport, reward.report_id) if reward.report_id else None

    trigger_info = _trigger_info(trigger)
    base_label, current_base = _current_base(trigger, lead_info, purchase)
    base = reward.base_amount if reward.base_amount is not None else current_base
    expected = compute_amount(trigger.amount_type, trigger.amount, base) if trigger else None
    matches = None if expected is None else expected == reward.amount

    exp = RewardExplanation(
        ext_id=reward.ext_id,
        status=RewardStatus(reward.status),
        amount=reward.amount,
        currency=channel.currency,
        channel_id=channel.ext_id,
        created_at=reward.created_at,
        approved_at=reward.approved_at,
        paid_at=reward.paid_at,
        rejected_at=reward.rejected_at,
        reject_reason=reward.reject_reason,
        payment_reference=reward.payment_reference,
        report_id=report.ext_id if report else None,
        trigger=trigger_info,
        lead=lead_info,
        purchase_id=purchase.ext_id if purchase else None,
        base_label=base_label,
        base_amount=base,
        expected_amount=expected,
        matches_rule=matches,
        history=[
            HistoryItem(e.at, e.actor, e.surface, e.action, e.before, e.after)
            for e in audit.history(session, org_id, "reward", reward.ext_id)
        ],
    )
    exp.lines = _explanation_lines(exp, current_base)
    return exp


def _trigger_info(trigger: RewardTrigger | None) -> TriggerInfo | None:
    if trigger is None:
        return None
    return TriggerInfo(
        ext_id=trigger.ext_id,
        name=trigger.name,
        event=trigger.event,
        amount_type=trigger.amount_type,
        amount=trigger.amount,
        status=trigger.status,
        requires_approval=trigger.requires_approval,
        active=trigger.active,
    )


def _lead_info(session: Session, lead_id: int | None) -> LeadInfo | None:
    if lead_id is None:
        return None
    status = aliased(PipelineStatus)
    row = session.execute(
        select(Lead, status.name)
        .join(status, status.id == Lead.status_id)
        .where(Lead.id == lead_id)
    ).one_or_none()
    if row is None:
        return None
    lead, status_name = row
    return LeadInfo(
        lead.ext_id,
        lead.company_name,
        lead.contact_name,
        status_name,
        lead.status_kind,
        lead.deal_value,
    )


def _purchase_behind(session: Session, reward: Reward, trigger: RewardTrigger) -> Purchase | None:
    """An imported purchase reward names no purchase (dataset-format.md): the lead's latest
    purchase, made by the reward's creation, whose amount gives exactly this reward."""
    if reward.lead_id is None:
        return None
    stmt = (
        select(Purchase)
        .where(Purchase.lead_id == reward.lead_id, Purchase.occurred_at <= reward.created_at)
        .order_by(Purchase.occurred_at.desc(), Purchase.id.desc())
    )
    for purchase in session.scalars(stmt):
        if compute_amount(trigger.amount_type, trigger.amount, purchase.amount) == reward.amount:
            return purchase
    return None


def _current_base(
    trigger: RewardTrigger | None, lead: LeadInfo | None, purchase: Purchase | None
) -> tuple[str | None, Decimal | None]:
    """What a percentage applies to today: the purchase amount, or the lead's deal value."""
    if trigger is not None and trigger.event == TriggerEvent.purchase:
        return "purchase amount", purchase.amount if purchase else None
    return "deal value", lead.deal_value if lead else None


def _explanation_lines(exp: RewardExplanation, current_base: Decimal | None) -> list[str]:
    """The explanation in plain sentences, every figure taken from the fields above."""
    cur = exp.currency
    lines = [f"Reward {exp.ext_id} is {format_money(cur, exp.amount)}, status {exp.status.value}."]
    trig = exp.trigger
    if trig is None:
        lines.append(
            "No trigger is linked to it (an imported reward): its amount is the imported one "
            "and there is no rule to check it against."
        )
    else:
        lines.append(describe_rule(trig.name or trig.ext_id, trig, cur))
        if not trig.active:
            lines.append(f"The trigger {trig.ext_id} is no longer active.")
        if trig.amount_type == AmountType.percentage:
            if exp.base_amount is None:
                lines.append(f"There is no {exp.base_label} to apply the percentage to.")
            else:
                raw = exp.base_amount * trig.amount / Decimal(100)
                lines.append(
                    f"{_pct(trig.amount)}% of the {exp.base_label} "
                    f"{format_money(cur, exp.base_amount)} = {raw.normalize():f}, "
                    f"rounded half-up to cents: {format_money(cur, exp.expected_amount or ZERO)}."
                )
                if current_base is not None and current_base != exp.base_amount:
                    lines.append(
                        f"The {exp.base_label} is {format_money(cur, current_base)} now; the "
                        f"reward used {format_money(cur, exp.base_amount)} when it was created."
                    )
        if exp.matches_rule is True:
            lines.append("The stored amount matches the trigger's rule.")
        elif exp.matches_rule is False:
            lines.append(
                f"The stored amount {format_money(cur, exp.amount)} differs from the rule's "
                f"{format_money(cur, exp.expected_amount or ZERO)}: the reward was probably "
                "imported as it was (or the trigger changed since)."
            )
    if exp.lead is not None:
        company = f" ({exp.lead.company_name})" if exp.lead.company_name else ""
        lines.append(
            f"Lead {exp.lead.ext_id}{company} is now in '{exp.lead.status}' "
            f"({exp.lead.status_kind})."
        )
    lines.extend(_timeline(exp))
    return lines


def _timeline(exp: RewardExplanation) -> list[str]:
    lines = [f"Created {exp.created_at:%Y-%m-%d %H:%M}."]
    if exp.approved_at:
        lines.append(f"Approved {exp.approved_at:%Y-%m-%d %H:%M}.")
    if exp.paid_at:
        ref = f" (reference {exp.payment_reference})" if exp.payment_reference else ""
        lines.append(f"Paid {exp.paid_at:%Y-%m-%d}{ref}.")
    if exp.rejected_at:
        why = f": {exp.reject_reason}" if exp.reject_reason else ""
        lines.append(f"Rejected {exp.rejected_at:%Y-%m-%d %H:%M}{why}.")
    for item in exp.history:
        before = (item.before or {}).get("status")
        after = (item.after or {}).get("status")
        move = f" {before} → {after}" if before and after else ""
        lines.append(
            f"{item.at:%Y-%m-%d %H:%M} {item.action}{move} by {item.actor} ({item.surface})."
        )
    return lines


def _pct(value: Decimal) -> str:
    """10.00 → `10`, 12.50 → `12.5`."""
    return f"{value.normalize():f}"

"""Lead queries: filtering, listing, one lead's story, and where leads sit in the pipeline.

The lead rules of metrics.md (stuck, needs action, missing information) are SQL expressions
defined once here, so lists, counts, breakdowns and patterns can never disagree about them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from domain import clock
from domain.models import (
    Channel,
    Lead,
    LeadStatusChange,
    Organization,
    Partner,
    PipelineStatus,
    Purchase,
    Reward,
    RewardTrigger,
)
from domain.periods import ALL_TIME, Period
from domain.settings import get_settings

# Keys of the three ways a lead can lack information (metrics.md, "Missing information").
# `owner` values that mean "leads nobody owns" rather than a name to look for
NO_OWNER = frozenset({"none", "nobody", "no owner", "unassigned", "unowned", "-"})
MISSING_CONTACT = "email_or_phone"
MISSING_DEAL_VALUE = "deal_value"
MISSING_COMPANY = "company_name"

AnySelect = Select[*tuple[Any, ...]]

LeadOrder = Literal[
    "newest", "oldest", "longest_in_status", "recently_changed", "deal_value", "status"
]


def resolve_today(session: Session, org_id: int, today: date | None = None) -> date:
    """`today` as given, else pinned (KEEN_TODAY) or the real date in the org's time zone."""
    if today is not None:
        return today
    tz = session.scalar(select(Organization.timezone).where(Organization.id == org_id))
    return clock.today(tz or "UTC")


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


# --- the rules, as SQL -----------------------------------------------------------------------


def stuck_condition(today: date, stuck_after_days: int | None = None) -> ColumnElement[bool]:
    """Open and unchanged for more than N whole days: changed before (today − N) 00:00.

    A lead changed on the 1st is 14 days old on the 15th (not stuck) and stuck from the 16th."""
    return and_(
        Lead.status_kind == "open", Lead.status_changed_at < stuck_cutoff(today, stuck_after_days)
    )


def stuck_cutoff(today: date, stuck_after_days: int | None = None) -> datetime:
    """An open lead whose status changed before this moment is stuck."""
    days = get_settings().stuck_after_days if stuck_after_days is None else stuck_after_days
    return day_start(today - timedelta(days=days))


def needs_action_condition(today: date, sla_days: int | None = None) -> ColumnElement[bool]:
    """In its pipeline's first status for more than `response_sla_days` whole days.

    The first statuses are a (small) subquery rather than a join, so the planner can walk
    the (org_id, status_id, …, status_changed_at) index status by status."""
    days = get_settings().response_sla_days if sla_days is None else sla_days
    cutoff = day_start(today - timedelta(days=days))
    first = select(PipelineStatus.id).where(PipelineStatus.is_first.is_(True))
    return and_(Lead.status_id.in_(first), Lead.status_changed_at < cutoff)


def _blank(column: Any) -> ColumnElement[bool]:
    return func.coalesce(func.trim(column), "") == ""


def missing_conditions() -> dict[str, ColumnElement[bool]]:
    """Each way a lead can miss information, keyed by what is missing."""
    return {
        MISSING_CONTACT: and_(_blank(Lead.email), _blank(Lead.phone)),
        MISSING_DEAL_VALUE: Lead.deal_value.is_(None),
        MISSING_COMPANY: _blank(Lead.company_name),
    }


def missing_information_condition() -> ColumnElement[bool]:
    return or_(*missing_conditions().values())


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFilter:
    """Which leads a question is about. Ids are internal primary keys (see domain.names).

    None means "no restriction" (empty id lists match nothing; empty status lists, anything);
    the three flags keep the leads they describe when True and the others when False."""

    channel_ids: Sequence[int | str] | None = None
    partner_ids: Sequence[int | str] | None = None
    statuses: Sequence[str] | None = None  # status names, case-insensitive
    status_kinds: Sequence[str] | None = None  # open / won / lost
    period: Period = ALL_TIME  # on created_at
    stuck: bool | None = None
    stuck_days: int | None = None  # with `stuck`: unchanged for more than this (default 14)
    needs_action: bool | None = None
    missing_information: bool | None = None
    owner: str | None = None  # case-insensitive substring of the owner
    source: str | None = None  # case-insensitive equality ("event", "webinar", ...)
    properties: Mapping[str, str] = field(default_factory=dict)  # custom property equals
    text: str | None = None  # case-insensitive substring of contact, company, email or notes
    today: date | None = None


def _like_pattern(text: str) -> str:
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def ids_condition(
    column: Any, model: type[Channel] | type[Partner], org_id: int, ids: Sequence[int | str]
) -> ColumnElement[bool]:
    """`column` (a key of `model`) is one of `ids`: internal keys (int) or customer ids (str)."""
    keys = [i for i in ids if isinstance(i, int)]
    customer = [i for i in ids if isinstance(i, str)]
    if not customer:
        return column.in_(keys)
    by_ext = select(model.id).where(model.org_id == org_id, model.ext_id.in_(customer))
    return or_(column.in_(keys), column.in_(by_ext)) if keys else column.in_(by_ext)


def channel_scope(
    org_id: int, channel_ids: Sequence[int | str] | None, partner_ids: Sequence[int | str] | None
) -> list[ColumnElement[bool]]:
    """Conditions on `Channel` restricting to the given channels and partners.

    Ids are internal keys (int) or customer ids (`ext_id`, str). None means any; an empty
    list means none (a name that resolved to nothing must not widen a question)."""
    conds: list[ColumnElement[bool]] = []
    if channel_ids is not None:
        conds.append(ids_condition(Channel.id, Channel, org_id, channel_ids))
    if partner_ids is not None:
        conds.append(ids_condition(Channel.partner_id, Partner, org_id, partner_ids))
    return conds


def period_condition(column: Any, period: Period) -> list[ColumnElement[bool]]:
    """`column` (a timestamp) inside the period's dates."""
    lo, hi = period.datetime_bounds()
    conds: list[ColumnElement[bool]] = []
    if lo is not None:
        conds.append(column >= lo)
    if hi is not None:
        conds.append(column < hi)
    return conds


def _property_condition(name: str, value: str) -> ColumnElement[bool]:
    # Custom properties are kept as text; the key is tried as given and lower-cased.
    keys = dict.fromkeys([name, name.strip().lower()])
    wanted = value.strip().lower()
    return or_(*(func.lower(Lead.properties[key].as_string()) == wanted for key in keys))


def _bool_filter(flag: bool | None, condition: ColumnElement[bool]) -> list:
    if flag is None:
        return []
    return [condition if flag else not_(condition)]


def filter_conditions(org_id: int, f: LeadFilter, today: date) -> list[ColumnElement[bool]]:
    """Every condition of `f` (the org condition is added by `_base`)."""
    conds = channel_scope(org_id, f.channel_ids, f.partner_ids)
    if f.statuses:
        conds.append(PipelineStatus.name_key.in_([s.strip().lower() for s in f.statuses]))
    if f.status_kinds:
        conds.append(Lead.status_kind.in_([k.strip().lower() for k in f.status_kinds]))
    conds += period_condition(Lead.created_at, f.period)
    conds += _bool_filter(f.stuck, stuck_condition(today, f.stuck_days))
    conds += _bool_filter(f.needs_action, needs_action_condition(today))
    conds += _bool_filter(f.missing_information, missing_information_condition())
    if f.owner and f.owner.strip().lower() in NO_OWNER:
        conds.append(or_(Lead.owner.is_(None), func.trim(Lead.owner) == ""))
    elif f.owner:
        conds.append(Lead.owner.ilike(_like_pattern(f.owner), escape="\\"))
    if f.source:
        conds.append(func.lower(Lead.source) == f.source.strip().lower())
    conds += [_property_condition(k, v) for k, v in f.properties.items()]
    if f.text:
        pattern = _like_pattern(f.text)
        columns = (Lead.contact_name, Lead.company_name, Lead.email, Lead.notes)
        conds.append(or_(*(c.ilike(pattern, escape="\\") for c in columns)))
    return conds


def _base(stmt: AnySelect, org_id: int, f: LeadFilter, today: date) -> AnySelect:
    return (
        stmt.select_from(Lead)
        .join(PipelineStatus, Lead.status_id == PipelineStatus.id)
        .join(Channel, Lead.channel_id == Channel.id)
        .where(Lead.org_id == org_id, *filter_conditions(org_id, f, today))
    )


def _lean_base(stmt: AnySelect, org_id: int, f: LeadFilter, today: date) -> AnySelect:
    """Like `_base`, but joins a status or channel only when a filter reads it.

    Both joins follow non-null foreign keys, so they never change which leads match; left out,
    counts and breakdowns become index-only scans of `leads`."""
    stmt = stmt.select_from(Lead)
    if f.statuses:
        stmt = stmt.join(PipelineStatus, Lead.status_id == PipelineStatus.id)
    if f.channel_ids is not None or f.partner_ids is not None:
        stmt = stmt.join(Channel, Lead.channel_id == Channel.id)
    return stmt.where(Lead.org_id == org_id, *filter_conditions(org_id, f, today))


# --- counting and listing ---------------------------------------------------------------------


@dataclass(frozen=True)
class LeadRow:
    ext_id: str
    channel: str
    channel_ext_id: str
    status: str
    status_kind: str
    contact: str | None
    company: str | None
    email: str | None
    phone: str | None
    deal_value: Decimal | None
    currency: str
    created_at: datetime
    status_changed_at: datetime
    days_in_status: int
    owner: str | None
    stuck: bool
    needs_action: bool
    missing: tuple[str, ...]  # MISSING_* keys, empty when complete

    @property
    def missing_information(self) -> bool:
        return bool(self.missing)


def count_leads(session: Session, org_id: int, f: LeadFilter | None = None) -> int:
    f = f or LeadFilter()
    today = resolve_today(session, org_id, f.today)
    return session.scalar(_lean_base(select(func.count()), org_id, f, today)) or 0


_ORDERS: dict[str, tuple[Any, ...]] = {
    "newest": (Lead.created_at.desc(), Lead.id.desc()),
    "oldest": (Lead.created_at.asc(), Lead.id.asc()),
    "longest_in_status": (Lead.status_changed_at.asc(), Lead.id.asc()),
    "recently_changed": (Lead.status_changed_at.desc(), Lead.id.desc()),
    "deal_value": (Lead.deal_value.is_(None), Lead.deal_value.desc(), Lead.id.asc()),
    "status": (PipelineStatus.position.asc(), Lead.created_at.asc(), Lead.id.asc()),
}


def _row_columns(today: date) -> tuple[Any, ...]:
    missing = missing_conditions()
    return (
        Lead.ext_id,
        Channel.name,
        Channel.ext_id,
        PipelineStatus.name,
        Lead.status_kind,
        Lead.contact_name,
        Lead.company_name,
        Lead.email,
        Lead.phone,
        Lead.deal_value,
        Channel.currency,
        Lead.created_at,
        Lead.status_changed_at,
        Lead.owner,
        _flag(stuck_condition(today)),
        _flag(needs_action_condition(today)),
        *(_flag(cond) for cond in missing.values()),
    )


def _to_row(values: Sequence[Any], today: date) -> LeadRow:
    """A LeadRow from the columns of `_row_columns`, in that order."""
    (ext_id, channel, channel_ext_id, status, kind, contact, company, email, phone, deal_value,
     currency, created_at, changed_at, owner, stuck, needs, *missing) = values  # fmt: skip
    keys = (MISSING_CONTACT, MISSING_DEAL_VALUE, MISSING_COMPANY)
    return LeadRow(
        ext_id=ext_id,
        channel=channel,
        channel_ext_id=channel_ext_id,
        status=status,
        status_kind=kind,
        contact=contact,
        company=company,
        email=email,
        phone=phone,
        deal_value=deal_value,
        currency=currency,
        created_at=created_at,
        status_changed_at=changed_at,
        days_in_status=(today - changed_at.date()).days,
        owner=owner,
        stuck=bool(stuck),
        needs_action=bool(needs),
        missing=tuple(key for key, flag in zip(keys, missing, strict=True) if flag),
    )


def list_leads(
    session: Session,
    org_id: int,
    f: LeadFilter | None = None,
    limit: int = 20,
    offset: int = 0,
    order: LeadOrder = "newest",
) -> tuple[list[LeadRow], int]:
    """One page of matching leads and how many match in all."""
    f = f or LeadFilter()
    today = resolve_today(session, org_id, f.today)
    stmt = _base(select(*_row_columns(today)), org_id, f, today)
    stmt = stmt.order_by(*_ORDERS[order]).limit(limit).offset(offset)
    rows = [_to_row(values, today) for values in session.execute(stmt)]
    total = count_leads(session, org_id, replace(f, today=today))
    return rows, total


# --- one lead ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    from_status: str | None
    to_status: str
    changed_at: datetime


@dataclass(frozen=True)
class LeadReward:
    ext_id: str
    amount: Decimal
    status: str
    trigger: str | None
    created_at: datetime


@dataclass(frozen=True)
class LeadPurchase:
    ext_id: str
    amount: Decimal
    occurred_at: datetime


@dataclass(frozen=True)
class LeadDetail:
    lead: LeadRow
    partner: str
    source: str | None
    notes: str | None
    properties: dict[str, Any]
    history: list[StatusChange]
    rewards: list[LeadReward]
    purchases: list[LeadPurchase]


def lead_detail(
    session: Session, org_id: int, ext_id: str, today: date | None = None
) -> LeadDetail | None:
    """Everything about one lead, by its customer id; None when there is no such lead."""
    today = resolve_today(session, org_id, today)
    stmt = (
        select(
            *_row_columns(today), Lead.id, Partner.name, Lead.source, Lead.notes, Lead.properties
        )
        .select_from(Lead)
        .join(PipelineStatus, Lead.status_id == PipelineStatus.id)
        .join(Channel, Lead.channel_id == Channel.id)
        .join(Partner, Channel.partner_id == Partner.id)
        .where(Lead.org_id == org_id, Lead.ext_id == ext_id)
    )
    found = session.execute(stmt).first()
    if found is None:
        return None
    *values, lead_id, partner, source, notes, properties = found
    history = session.execute(
        select(
            LeadStatusChange.from_status, LeadStatusChange.to_status, LeadStatusChange.changed_at
        )
        .where(LeadStatusChange.org_id == org_id, LeadStatusChange.lead_id == lead_id)
        .order_by(LeadStatusChange.changed_at, LeadStatusChange.id)
    )
    rewards = session.execute(
        select(Reward.ext_id, Reward.amount, Reward.status, RewardTrigger.name, Reward.created_at)
        .outerjoin(RewardTrigger, Reward.trigger_id == RewardTrigger.id)
        .where(Reward.org_id == org_id, Reward.lead_id == lead_id)
        .order_by(Reward.created_at, Reward.id)
    )
    purchases = session.execute(
        select(Purchase.ext_id, Purchase.amount, Purchase.occurred_at)
        .where(Purchase.org_id == org_id, Purchase.lead_id == lead_id)
        .order_by(Purchase.occurred_at, Purchase.id)
    )
    return LeadDetail(
        lead=_to_row(values, today),
        partner=partner,
        source=source,
        notes=notes,
        properties=dict(properties or {}),
        history=[StatusChange(*r) for r in history],
        rewards=[LeadReward(*r) for r in rewards],
        purchases=[LeadPurchase(*r) for r in purchases],
    )


# --- where leads sit ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    kind: str
    position: int
    count: int
    stuck: int = 0


def pipeline_order(
    session: Session,
    org_id: int,
    channel_ids: Sequence[int | str] | None = None,
    partner_ids: Sequence[int | str] | None = None,
) -> list[tuple[str, str, str, int]]:
    """The statuses of the channels in scope as (name_key, name, kind, position), in order.

    Several pipelines are merged by status name (case-insensitive), each placed at its lowest
    position and named and typed as in the pipeline where it comes first; ties go by name."""
    stmt = (
        select(
            PipelineStatus.name_key,
            PipelineStatus.name,
            PipelineStatus.kind,
            PipelineStatus.position,
        )
        .join(Channel, PipelineStatus.channel_id == Channel.id)
        .where(PipelineStatus.org_id == org_id, *channel_scope(org_id, channel_ids, partner_ids))
        .order_by(PipelineStatus.position, PipelineStatus.name_key, PipelineStatus.id)
    )
    merged: dict[str, tuple[str, str, str, int]] = {}
    for key, name, kind, position in session.execute(stmt):
        merged.setdefault(key, (key, name, kind, position))
    return list(merged.values())


def status_breakdown(
    session: Session, org_id: int, f: LeadFilter | None = None
) -> list[StatusCount]:
    """Matching leads per status, in pipeline order, with how many of them are stuck.

    Every status of the channels in scope is listed, also those with no leads, unless the
    filter names statuses or kinds (then only those)."""
    f = f or LeadFilter()
    today = resolve_today(session, org_id, f.today)
    # A status has one kind, so "open" is decided per group; SQL only counts the old ones.
    old_enough = _flag(Lead.status_changed_at < stuck_cutoff(today))
    stmt = _lean_base(
        select(Lead.status_id, Lead.status_kind, func.count(), func.sum(old_enough)),
        org_id,
        f,
        today,
    ).group_by(Lead.status_id, Lead.status_kind)
    names = select(PipelineStatus.id, PipelineStatus.name_key).where(
        PipelineStatus.org_id == org_id
    )
    keys = {sid: key for sid, key in session.execute(names)}
    counts: dict[str, tuple[int, int]] = {}
    for sid, kind, n, old in session.execute(stmt):
        seen_n, seen_stuck = counts.get(keys[sid], (0, 0))
        stuck = int(old or 0) if kind == "open" else 0
        counts[keys[sid]] = (seen_n + int(n), seen_stuck + stuck)
    wanted = {s.strip().lower() for s in f.statuses or ()}
    kinds = {k.strip().lower() for k in f.status_kinds or ()}
    return [
        StatusCount(name, kind, position, *counts.get(key, (0, 0)))
        for key, name, kind, position in pipeline_order(
            session, org_id, f.channel_ids, f.partner_ids
        )
        if (not wanted or key in wanted) and (not kinds or kind in kinds)
    ]

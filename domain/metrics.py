"""Channel, partner and organization metrics for a period, as defined in metrics.md.

All channels are measured at once with a handful of GROUP BY queries; partners and the
organization are sums of their channels. Money stays per currency (never added across
currencies) and exact (`Decimal`); rates are unrounded floats, rounded only when shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    case,
    func,
    literal,
    null,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from domain.leads import (
    LeadFilter,
    StatusCount,
    channel_scope,
    day_start,
    resolve_today,
    status_breakdown,
    stuck_cutoff,
)
from domain.leads import period_condition as _period_condition
from domain.models import Channel, Lead, Money, Partner, PipelineStatus, Reward
from domain.periods import ALL_TIME, Period
from domain.settings import get_settings

ZERO = Decimal("0.00")
ALL_CHANNEL_STATUSES = ("active", "paused", "archived")


def _ratio(numerator: int | Decimal, denominator: int | Decimal) -> float | None:
    return None if not denominator else float(Decimal(numerator) / Decimal(denominator))


@dataclass(frozen=True)
class CurrencyFigures:
    """The money figures of a channel or group in one currency."""

    currency: str
    won_deals: int
    revenue: Decimal
    reward_total: Decimal

    @property
    def net_value(self) -> Decimal:
        return self.revenue - self.reward_total

    @property
    def average_deal_size(self) -> Decimal | None:
        """Revenue ÷ won deals, unrounded; None ("n/a") without won deals."""
        return None if not self.won_deals else self.revenue / self.won_deals

    @property
    def reward_to_revenue(self) -> float | None:
        return _ratio(self.reward_total, self.revenue)

    def __add__(self, other: CurrencyFigures) -> CurrencyFigures:
        assert self.currency == other.currency, "amounts in different currencies never add up"
        return CurrencyFigures(
            self.currency,
            self.won_deals + other.won_deals,
            self.revenue + other.revenue,
            self.reward_total + other.reward_total,
        )


@dataclass(frozen=True)
class ChannelMetrics:
    """One channel's metrics for `period`; its money is in its one currency."""

    channel_id: int
    ext_id: str
    name: str
    status: str
    currency: str
    partner_id: int
    partner_ext_id: str
    partner_name: str
    period: Period
    lead_volume: int
    won_leads: int
    won_deals: int
    revenue: Decimal
    reward_total: Decimal
    funnel: tuple[StatusCount, ...] = ()
    last_lead_at: datetime | None = None  # latest lead created up to today, whatever the period

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.won_leads, self.lead_volume)

    @property
    def money(self) -> dict[str, CurrencyFigures]:
        return {
            self.currency: CurrencyFigures(
                self.currency, self.won_deals, self.revenue, self.reward_total
            )
        }

    @property
    def net_value(self) -> Decimal:
        return self.revenue - self.reward_total

    @property
    def average_deal_size(self) -> Decimal | None:
        return self.money[self.currency].average_deal_size

    @property
    def reward_to_revenue(self) -> float | None:
        return _ratio(self.reward_total, self.revenue)


@dataclass(frozen=True)
class GroupMetrics:
    """Metrics of several channels together; money per currency (currency → figure)."""

    period: Period
    lead_volume: int
    won_leads: int
    won_deals: int
    money: dict[str, CurrencyFigures]
    funnel: tuple[StatusCount, ...]
    channel_ids: tuple[int, ...]

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.won_leads, self.lead_volume)

    @property
    def currencies(self) -> list[str]:
        return sorted(self.money)

    def _per_currency(self, name: str) -> dict[str, Any]:
        return {c: getattr(self.money[c], name) for c in self.currencies}

    @property
    def revenue(self) -> dict[str, Decimal]:
        return self._per_currency("revenue")

    @property
    def reward_total(self) -> dict[str, Decimal]:
        return self._per_currency("reward_total")

    @property
    def net_value(self) -> dict[str, Decimal]:
        return self._per_currency("net_value")

    @property
    def average_deal_size(self) -> dict[str, Decimal | None]:
        return self._per_currency("average_deal_size")

    @property
    def reward_to_revenue(self) -> dict[str, float | None]:
        return self._per_currency("reward_to_revenue")


@dataclass(frozen=True)
class PartnerMetrics(GroupMetrics):
    """A partner's metrics: those of all its channels (in scope) together."""

    partner_id: int = 0
    ext_id: str = ""
    name: str = ""
    channel_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrgTotals(GroupMetrics):
    """The organization's totals over the channels in scope."""


Measured = ChannelMetrics | GroupMetrics


# --- queries ------------------------------------------------------------------------------------


def _sum_flag(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _as_money(value: Any) -> Decimal:
    """Sums come back as Decimal (PostgreSQL) or float-backed numbers (SQLite): normalise."""
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        value = Decimal(str(round(float(value), 2)))
    return value.quantize(ZERO)


def _channel_conditions(
    org_id: int, channel_ids: Sequence[int | str] | None, statuses: Sequence[str]
) -> list[ColumnElement[bool]]:
    conds = [Channel.org_id == org_id, Channel.status.in_(list(statuses))]
    return conds + channel_scope(org_id, channel_ids, None)


def _count_where(conds: Sequence[ColumnElement[bool]]) -> Any:
    """COUNT(*) of the rows meeting `conds` (a plain COUNT when there are none)."""
    return func.count() if not conds else _sum_flag(and_(*conds))


def _channel_figures(
    session: Session,
    chan: list[ColumnElement[bool]],
    period: Period,
    today: date,
    detail: bool = True,
) -> dict[int, dict[int, tuple[int, int, int, Decimal, int, datetime | None]]]:
    """Per channel and status, in ONE scan of the leads: (leads created in the period, won
    among them, deals won in the period, their revenue, stuck among those created, the
    latest lead created up to today).

    Channel figures are the sums over its statuses, its funnel the per-status counts, so
    metrics, funnels and patterns never need a second pass over the leads. A status has one
    kind, so "won" and "open" are decided per group in Python, not per lead in SQL. Without
    `detail` the stuck counts and latest dates (funnels, patterns) are not computed (0, None)."""
    created_in = _period_condition(Lead.created_at, period)
    changed_in = _period_condition(Lead.status_changed_at, period)
    old_enough = Lead.status_changed_at < stuck_cutoff(today)  # stuck, when the lead is open
    revenue = func.sum(
        case((and_(*changed_in), Lead.deal_value), else_=None) if changed_in else Lead.deal_value
    )
    up_to_today = Lead.created_at < day_start(today + timedelta(days=1))
    last = func.max(case((up_to_today, Lead.created_at), else_=None))
    stmt = (
        select(
            Lead.channel_id,
            Lead.status_id,
            Lead.status_kind,
            _count_where(created_in),
            _count_where(changed_in),
            type_coerce(revenue, Money),
            _count_where([*created_in, old_enough]) if detail else literal(0),
            type_coerce(last if detail else null(), DateTime),
        )
        .join(Channel, Lead.channel_id == Channel.id)
        .where(Lead.org_id == Channel.org_id, *chan)
        .group_by(Lead.channel_id, Lead.status_id, Lead.status_kind)
    )
    figures: dict[int, dict[int, tuple[int, int, int, Decimal, int, datetime | None]]] = (
        defaultdict(dict)
    )
    for cid, sid, kind, created, changed, rev, old, latest in session.execute(stmt):
        won = kind == "won"
        seen = figures[cid].get(sid, (0, 0, 0, ZERO, 0, None))
        figures[cid][sid] = (
            seen[0] + int(created),
            seen[1] + (int(created) if won else 0),
            seen[2] + (int(changed) if won else 0),
            seen[3] + (_as_money(rev) if won else ZERO),
            seen[4] + (int(old) if kind == "open" else 0),
            max(filter(None, (seen[5], latest)), default=None),
        )
    return figures


def reward_totals(
    session: Session, chan: list[ColumnElement[bool]], period: Period
) -> dict[int, Decimal]:
    """Per channel: the sum of rewards created in the period that are not rejected."""
    stmt = (
        select(Reward.channel_id, type_coerce(func.sum(Reward.amount), Money))
        .join(Channel, Reward.channel_id == Channel.id)
        .where(
            Reward.org_id == Channel.org_id,
            *chan,
            Reward.status != "rejected",
            *_period_condition(Reward.created_at, period),
        )
        .group_by(Reward.channel_id)
    )
    return {cid: _as_money(total) for cid, total in session.execute(stmt)}


def _created_and_stuck(f: tuple[int, int, int, Decimal, int, Any] | None) -> tuple[int, int]:
    """A funnel step's figures from a status's row of `_channel_figures`."""
    return (0, 0) if f is None else (f[0], f[4])


def _pipelines(
    session: Session, chan: list[ColumnElement[bool]]
) -> dict[int, list[tuple[int, str, str, int]]]:
    """Per channel: its statuses as (id, name, kind, position), in pipeline order."""
    stmt = (
        select(
            PipelineStatus.channel_id,
            PipelineStatus.id,
            PipelineStatus.name,
            PipelineStatus.kind,
            PipelineStatus.position,
        )
        .join(Channel, PipelineStatus.channel_id == Channel.id)
        .where(PipelineStatus.org_id == Channel.org_id, *chan)
        .order_by(PipelineStatus.channel_id, PipelineStatus.position, PipelineStatus.id)
    )
    pipelines: dict[int, list[tuple[int, str, str, int]]] = defaultdict(list)
    for cid, sid, name, kind, position in session.execute(stmt):
        pipelines[cid].append((sid, name, kind, position))
    return pipelines


def channel_metrics(
    session: Session,
    org_id: int,
    period: Period = ALL_TIME,
    channel_ids: Sequence[int | str] | None = None,
    statuses: Sequence[str] = ALL_CHANNEL_STATUSES,
    today: date | None = None,
    with_funnels: bool = True,
) -> list[ChannelMetrics]:
    """Every channel in scope (also those with no activity), ordered by name.

    `today` only matters for the stuck counts carried in each funnel step. Callers that show
    only the figures pass `with_funnels=False`: no funnel, no last lead date, a lighter scan."""
    today = resolve_today(session, org_id, today)
    chan = _channel_conditions(org_id, channel_ids, statuses)
    figures = _channel_figures(session, chan, period, today, detail=with_funnels)
    rewards = reward_totals(session, chan, period)
    pipelines = _pipelines(session, chan) if with_funnels else {}
    stmt = (
        select(
            Channel.id,
            Channel.ext_id,
            Channel.name,
            Channel.status,
            Channel.currency,
            Partner.id,
            Partner.ext_id,
            Partner.name,
        )
        .join(Partner, Channel.partner_id == Partner.id)
        .where(*chan)
        .order_by(Channel.name, Channel.ext_id)
    )
    result = []
    for cid, ext_id, name, status, currency, pid, p_ext, p_name in session.execute(stmt):
        per_status = figures.get(cid, {})
        volume = sum(f[0] for f in per_status.values())
        won = sum(f[1] for f in per_status.values())
        deals = sum(f[2] for f in per_status.values())
        revenue = sum((f[3] for f in per_status.values()), ZERO)
        dates = [f[5] for f in per_status.values() if f[5] is not None]
        funnel = tuple(
            StatusCount(name, kind, position, *_created_and_stuck(per_status.get(sid)))
            for sid, name, kind, position in pipelines.get(cid, ())
        )
        result.append(
            ChannelMetrics(
                channel_id=cid,
                ext_id=ext_id,
                name=name,
                status=status,
                currency=currency,
                partner_id=pid,
                partner_ext_id=p_ext,
                partner_name=p_name,
                period=period,
                lead_volume=volume,
                won_leads=won,
                won_deals=deals,
                revenue=revenue,
                reward_total=rewards.get(cid, ZERO),
                funnel=funnel,
                last_lead_at=max(dates, default=None),
            )
        )
    return result


# --- groups -------------------------------------------------------------------------------------


def merge_funnels(funnels: Iterable[Sequence[StatusCount]]) -> tuple[StatusCount, ...]:
    """Funnels of several pipelines combined by status name (case-insensitive).

    Each status sits at its lowest position in any pipeline (ties by name), and keeps the
    spelling and kind of the pipeline where it comes first."""
    merged: dict[str, StatusCount] = {}
    for funnel in funnels:
        for step in funnel:
            key = step.status.lower()
            seen = merged.get(key)
            if seen is None:
                merged[key] = step
                continue
            first = step if step.position < seen.position else seen
            merged[key] = StatusCount(
                first.status,
                first.kind,
                first.position,
                seen.count + step.count,
                seen.stuck + step.stuck,
            )
    return tuple(sorted(merged.values(), key=lambda s: (s.position, s.status.lower())))


@dataclass
class _Sums:
    lead_volume: int = 0
    won_leads: int = 0
    won_deals: int = 0
    money: dict[str, CurrencyFigures] = field(default_factory=dict)
    funnels: list[tuple[StatusCount, ...]] = field(default_factory=list)
    channels: list[ChannelMetrics] = field(default_factory=list)

    def add(self, m: ChannelMetrics) -> None:
        self.lead_volume += m.lead_volume
        self.won_leads += m.won_leads
        self.won_deals += m.won_deals
        figures = m.money[m.currency]
        seen = self.money.get(m.currency)
        self.money[m.currency] = figures if seen is None else seen + figures
        self.funnels.append(m.funnel)
        self.channels.append(m)

    def common(self, period: Period) -> dict[str, Any]:
        return {
            "period": period,
            "lead_volume": self.lead_volume,
            "won_leads": self.won_leads,
            "won_deals": self.won_deals,
            "money": dict(sorted(self.money.items())),
            "funnel": merge_funnels(self.funnels),
            "channel_ids": tuple(c.channel_id for c in self.channels),
        }


def partner_metrics(
    session: Session,
    org_id: int,
    period: Period = ALL_TIME,
    partner_ids: Sequence[int | str] | None = None,
    statuses: Sequence[str] = ALL_CHANNEL_STATUSES,
    today: date | None = None,
    with_funnels: bool = True,
) -> list[PartnerMetrics]:
    """Every partner with a channel in scope, its channels' metrics added up, by name."""
    channel_ids = None
    if partner_ids is not None:
        scope = channel_scope(org_id, None, partner_ids)
        channel_ids = list(
            session.scalars(select(Channel.id).where(Channel.org_id == org_id, *scope))
        )
    sums: dict[int, _Sums] = defaultdict(_Sums)
    for m in channel_metrics(session, org_id, period, channel_ids, statuses, today, with_funnels):
        sums[m.partner_id].add(m)
    result = [
        PartnerMetrics(
            **s.common(period),
            partner_id=pid,
            ext_id=s.channels[0].partner_ext_id,
            name=s.channels[0].partner_name,
            channel_names=tuple(c.name for c in s.channels),
        )
        for pid, s in sums.items()
    ]
    return sorted(result, key=lambda p: (p.name.lower(), p.ext_id))


def org_totals(
    session: Session,
    org_id: int,
    period: Period = ALL_TIME,
    channel_ids: Sequence[int | str] | None = None,
    statuses: Sequence[str] = ALL_CHANNEL_STATUSES,
    today: date | None = None,
) -> OrgTotals:
    """The organization's figures: counts overall, money per currency."""
    return totals_of(channel_metrics(session, org_id, period, channel_ids, statuses, today), period)


def totals_of(metrics: Iterable[ChannelMetrics], period: Period) -> OrgTotals:
    """Channel metrics already computed, added up (money per currency)."""
    sums = _Sums()
    for m in metrics:
        sums.add(m)
    return OrgTotals(**sums.common(period))


def funnel(
    session: Session,
    org_id: int,
    period: Period = ALL_TIME,
    channel_ids: Sequence[int | str] | None = None,
    today: date | None = None,
) -> list[StatusCount]:
    """Leads created in the period by current status, in pipeline order (with stuck counts).

    Channels with different pipelines are combined by status name, ordered by position."""
    f = LeadFilter(channel_ids=channel_ids, period=period, today=today)
    return status_breakdown(session, org_id, f)


# --- rankings -----------------------------------------------------------------------------------

COUNT_METRICS = ("lead_volume", "won_leads", "won_deals", "conversion_rate")
CURRENCY_METRICS = (
    "revenue",
    "average_deal_size",
    "reward_total",
    "net_value",
    "reward_to_revenue",
)
RANKABLE = COUNT_METRICS + CURRENCY_METRICS

_NA_REASONS = {
    "conversion_rate": "n/a: no leads in the period",
    "average_deal_size": "n/a: no won deals in the period",
    "reward_to_revenue": "n/a: no revenue in the period",
}


@dataclass(frozen=True)
class RankEntry:
    rank: int  # competition ranking: equal values share a rank (1, 2, 2, 4)
    item: Measured
    value: int | float | Decimal


@dataclass(frozen=True)
class RankGroup:
    currency: str | None  # None for counts and rates, which compare across currencies
    entries: tuple[RankEntry, ...]


@dataclass(frozen=True)
class LeftOut:
    item: Measured
    reason: str
    currency: str | None = None


@dataclass(frozen=True)
class Ranking:
    by: str
    descending: bool
    min_leads: int | None
    groups: tuple[RankGroup, ...]
    left_out: tuple[LeftOut, ...]

    @property
    def entries(self) -> tuple[RankEntry, ...]:
        """All entries, group after group (a single group when no currency is involved)."""
        return tuple(e for g in self.groups for e in g.entries)


def item_name(item: Measured) -> str:
    return getattr(item, "name", "organization")


def _ranked(values: list[tuple[Measured, Any]], descending: bool) -> tuple[RankEntry, ...]:
    ordered = sorted(values, key=lambda p: item_name(p[0]).lower())
    ordered.sort(key=lambda p: p[1], reverse=descending)
    entries: list[RankEntry] = []
    for i, (item, value) in enumerate(ordered):
        rank = entries[-1].rank if entries and entries[-1].value == value else i + 1
        entries.append(RankEntry(rank, item, value))
    return tuple(entries)


def rank(
    metrics: Sequence[Measured],
    by: str,
    descending: bool = True,
    min_leads: int | None = None,
) -> Ranking:
    """Rank channels or partners by one metric.

    By conversion rate, those with fewer than `min_leads` leads in the period (default
    `min_leads_for_rate`) are left out, and the ranking says who. Money figures rank
    within each currency (one group per currency); "n/a" values are left out with a reason."""
    if by not in RANKABLE:
        raise ValueError(f"Cannot rank by {by!r}; choose one of: {', '.join(RANKABLE)}.")
    if min_leads is None and by == "conversion_rate":
        min_leads = get_settings().min_leads_for_rate
    left_out: list[LeftOut] = []
    eligible: list[Measured] = []
    for item in metrics:
        if min_leads is not None and item.lead_volume < min_leads:
            reason = f"fewer than {min_leads} leads in the period ({item.lead_volume})"
            left_out.append(LeftOut(item, reason))
        else:
            eligible.append(item)
    buckets: dict[str | None, list[tuple[Measured, Any]]] = defaultdict(list)
    for item in eligible:
        if by in COUNT_METRICS:
            pairs: list[tuple[str | None, Any]] = [(None, getattr(item, by))]
        else:
            pairs = [(c, getattr(f, by)) for c, f in sorted(item.money.items())]
        for currency, value in pairs:
            if value is None:
                left_out.append(LeftOut(item, _NA_REASONS[by], currency))
            else:
                buckets[currency].append((item, value))
    groups = tuple(
        RankGroup(currency, _ranked(values, descending))
        for currency, values in sorted(buckets.items(), key=lambda kv: kv[0] or "")
    )
    return Ranking(by, descending, min_leads, groups, tuple(left_out))

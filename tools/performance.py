"""Performance tools: the metrics of metrics.md per channel or partner (and rankings), and the
lead funnel with where leads are stuck."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from langchain.tools import ToolRuntime
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.leads import LeadFilter, status_breakdown
from domain.metrics import (
    ALL_CHANNEL_STATUSES,
    COUNT_METRICS,
    ChannelMetrics,
    CurrencyFigures,
    Measured,
    Ranking,
    channel_metrics,
    item_name,
    partner_metrics,
    rank,
    totals_of,
)
from domain.models import Channel
from domain.settings import get_settings
from tools.common import (
    FULL_ROWS,
    Pair,
    ToolProblem,
    channel_arg,
    context_of,
    keen_tool,
    money,
    money_by_currency,
    partner_arg,
    pct_of,
    period_arg,
    session,
    shown_rows,
)
from tools.context import KeenContext
from tools.envelope import Table, result

Metric = Literal[
    "lead_volume",
    "won_leads",
    "conversion_rate",
    "won_deals",
    "revenue",
    "average_deal_size",
    "reward_total",
    "net_value",
    "reward_to_revenue",
]
METRIC_COLUMNS = [
    "name",
    "currency",
    "lead_volume",
    "won_leads",
    "conversion_rate_pct",
    "won_deals",
    "revenue",
    "average_deal_size",
    "reward_total",
    "net_value",
    "reward_to_revenue_pct",
]


def _row(item: Measured, figures: CurrencyFigures | None) -> list[Any]:
    """One table row: the item's counts, and its money in one currency (None: no money)."""
    f = figures
    return [
        item_name(item),
        f.currency if f else None,
        item.lead_volume,
        item.won_leads,
        pct_of(item.won_leads, item.lead_volume),
        f.won_deals if f else item.won_deals,
        money(f.revenue) if f else None,
        money(f.average_deal_size) if f else None,
        money(f.reward_total) if f else None,
        money(f.net_value) if f else None,
        pct_of(f.reward_total, f.revenue) if f else None,
    ]


def _rows(item: Measured, currency: str | None = None) -> list[list[Any]]:
    """Rows of a channel (one) or a partner (one per currency, counts are the partner's)."""
    money_by = item.money
    currencies = [currency] if currency is not None else sorted(money_by)
    return [_row(item, money_by.get(c)) for c in currencies] or [_row(item, None)]


def _shown_value(by: str, item: Measured, currency: str | None, value: Any) -> Any:
    """A ranked value as the table shows it: rates in %, money as a string, counts as is."""
    if by == "conversion_rate":
        return pct_of(item.won_leads, item.lead_volume)
    if by == "reward_to_revenue" and currency is not None:
        figures = item.money[currency]
        return pct_of(figures.reward_total, figures.revenue)
    if by in COUNT_METRICS:
        return value
    return money(Decimal(value))


def _ranked(ranking: Ranking, top: int | None) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """Ranked rows (a `rank` column first; `top` per currency group) and one leader per group."""
    rows: list[list[Any]] = []
    leaders: list[dict[str, Any]] = []
    for group in ranking.groups:
        entries = group.entries[:top] if top else group.entries
        for entry in entries:
            rows += [[entry.rank, *r] for r in _rows(entry.item, group.currency)]
        if group.entries:
            first = group.entries[0]
            leader: dict[str, Any] = {
                "name": item_name(first.item),
                "value": _shown_value(ranking.by, first.item, group.currency, first.value),
            }
            if group.currency is not None:
                leader["currency"] = group.currency
            tied = [item_name(e.item) for e in group.entries[1:] if e.rank == first.rank]
            if tied:
                leader["tied_with"] = tied
            leaders.append(leader)
    return rows, leaders


def _left_out(ranking: Ranking) -> tuple[list[str], list[dict[str, Any]]]:
    """Names under the minimum leads (conversion), and others without a value ("n/a")."""
    under: list[str] = []
    no_value: list[dict[str, Any]] = []
    for lo in ranking.left_out:
        if ranking.min_leads is not None and lo.item.lead_volume < ranking.min_leads:
            under.append(item_name(lo.item))
        else:
            entry = {"name": item_name(lo.item), "reason": lo.reason}
            if lo.currency:
                entry["currency"] = lo.currency
            no_value.append(entry)
    return list(dict.fromkeys(under)), no_value


def _totals(items: Sequence[ChannelMetrics], period: Any) -> dict[str, Any]:
    org = totals_of(items, period)
    return {
        "lead_volume": org.lead_volume,
        "won_leads": org.won_leads,
        "conversion_rate_pct": pct_of(org.won_leads, org.lead_volume),
        "won_deals": org.won_deals,
        "revenue": money_by_currency(dict[str, Decimal | None](org.revenue)),
        "reward_total": money_by_currency(dict[str, Decimal | None](org.reward_total)),
        "net_value": money_by_currency(dict[str, Decimal | None](org.net_value)),
    }


def _channels_of(s: Session, org_id: int, partner_id: int) -> list[int]:
    stmt = select(Channel.id).where(Channel.org_id == org_id, Channel.partner_id == partner_id)
    return list(s.scalars(stmt))


@keen_tool
def channel_performance(
    channel: str | None = None,
    partner: str | None = None,
    group_by: Literal["channel", "partner"] = "channel",
    period: str | None = None,
    rank_by: Metric | None = None,
    order: Literal["desc", "asc"] = "desc",
    top: int | None = None,
    include_inactive: bool = False,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """Metrics per channel or partner for a period: lead volume, won leads, conversion rate,
    won deals, revenue, average deal size, reward total, net value, reward-to-revenue. Money is
    per currency. With rank_by, a ranking (money ranks within each currency; conversion rate
    leaves out those with fewer than 5 leads and says which).

    Args:
        channel: One channel (name or id; "this" for the page's channel).
        partner: One partner (name or id); with group_by "channel", its channels.
        group_by: One row per channel or per partner (all its channels together).
        period: E.g. "last month", "Q3 2026", "since 2026-05-01"; omit for all time.
        rank_by: Metric to rank by.
        order: "desc" for highest first, "asc" for lowest first.
        top: Keep only the first N of the ranking (per currency for money).
        include_inactive: Also count paused and archived channels.
    """
    ctx = context_of(runtime)
    when = period_arg(ctx, period)
    if top is not None and top < 1:
        raise ToolProblem("top must be 1 or more.")
    with session() as s:
        ch = channel_arg(s, ctx, channel)
        pa = partner_arg(s, ctx, partner)
        if ch and pa and ch.partner_id != pa.id:
            raise ToolProblem(f"Channel {ch.name} does not belong to partner {pa.name}.")
        named = ch is not None or pa is not None
        statuses = ALL_CHANNEL_STATUSES if include_inactive or named else ("active",)
        grouping = "channel" if ch else group_by
        items: Sequence[Measured]
        if grouping == "partner":
            items = partner_metrics(
                s, ctx.org_id, when, [pa.id] if pa else None, statuses, ctx.today, False
            )
        else:
            channel_ids = [ch.id] if ch else _channels_of(s, ctx.org_id, pa.id) if pa else None
            items = channel_metrics(
                s, ctx.org_id, when, channel_ids, statuses, ctx.today, with_funnels=False
            )
    answer: dict[str, Any] = {"group_by": grouping, "rows": len(items)}
    min_leads = get_settings().min_leads_for_rate
    if rank_by:
        ranking = rank(items, rank_by, descending=order == "desc")
        rows, leaders = _ranked(ranking, top)
        left_out, no_value = _left_out(ranking)
        answer.update(rank_by=rank_by, order=order, leaders=leaders, left_out=left_out)
        if no_value:
            answer["not_ranked"] = no_value
        title = f"{grouping.title()}s by {rank_by.replace('_', ' ')}"
        columns = ["rank", *METRIC_COLUMNS]
    else:
        rows = [r for item in items for r in _rows(item)]
        answer.update(leaders=[], left_out=[])
        if grouping == "channel" and len(items) > 1:
            answer["totals"] = _totals([i for i in items if isinstance(i, ChannelMetrics)], when)
        title = f"{grouping.title()} performance"
        columns = METRIC_COLUMNS
    answer["min_leads"] = min_leads
    table = Table(title, columns, rows[:FULL_ROWS], total=len(rows))
    return result(answer, [table], when.describe())


def _scope_words(ch: Any, pa: Any) -> str:
    if ch is not None:
        return f"channel {ch.name}"
    if pa is not None:
        return f"partner {pa.name}"
    return "all channels"


@keen_tool
def lead_funnel(
    channel: str | None = None,
    partner: str | None = None,
    period: str | None = None,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """Leads created in the period by current status, in pipeline order, with how many are
    stuck in each status and where leads are most stuck.

    Args:
        channel: Channel name or id; "this" for the page's channel; omit for all channels.
        partner: Partner name or id.
        period: When the leads were created, e.g. "this quarter"; omit for all time.
    """
    ctx = context_of(runtime)
    when = period_arg(ctx, period)
    with session() as s:
        ch = channel_arg(s, ctx, channel)
        pa = partner_arg(s, ctx, partner)
        f = LeadFilter(
            channel_ids=[ch.id] if ch else None,
            partner_ids=[pa.id] if pa else None,
            period=when,
            today=ctx.today,
        )
        steps = status_breakdown(s, ctx.org_id, f)
    leads = sum(step.count for step in steps)
    stuck = sum(step.stuck for step in steps)
    worst = max(steps, key=lambda step: step.stuck, default=None)  # first in order on ties
    most = worst if worst is not None and worst.stuck > 0 else None
    rows = [[st.status, st.kind, st.count, pct_of(st.count, leads), st.stuck] for st in steps]
    answer: dict[str, Any] = {
        "leads": leads,
        "stuck": stuck,
        "most_stuck_status": most.status if most else None,
        "most_stuck_count": most.stuck if most else 0,
        "scope": _scope_words(ch, pa),
    }
    if most is not None:
        tied = [step.status for step in steps if step.stuck == most.stuck and step is not most]
        if tied:
            answer["most_stuck_tied_with"] = tied
    table = Table("Funnel", ["status", "kind", "leads", "share_pct", "stuck"], rows)
    return result(answer, [table], when.describe(), limit=shown_rows(len(rows)))

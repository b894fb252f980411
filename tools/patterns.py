"""Pattern tools: which section-6 patterns hold per active channel, and a channel's improvement
plan (its metrics, its diagnosis and the matching section-7 actions of the domain guide)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Literal

from langchain.tools import ToolRuntime
from sqlalchemy import select

from domain import patterns as pattern_rules
from domain.metrics import ALL_CHANNEL_STATUSES, ChannelMetrics, channel_metrics
from domain.models import Channel
from domain.money import format_money
from domain.patterns import (
    PATTERN_PROBLEM,
    PLAYBOOK,
    Pattern,
    PatternHit,
    PatternReport,
)
from domain.settings import get_settings
from tools.common import (
    Pair,
    ToolProblem,
    channel_arg,
    context_of,
    keen_tool,
    money,
    number,
    page_channel,
    pct,
    pct_of,
    period_arg,
    session,
)
from tools.context import KeenContext
from tools.envelope import Table, result

PatternName = Literal[
    "high_volume_low_conversion",
    "low_volume_high_conversion",
    "high_rewards_low_revenue",
    "stuck_in_one_status",
    "no_recent_leads",
]
PATTERN_BY_NAME: dict[str, Pattern] = {
    "high_volume_low_conversion": Pattern.high_volume_low_conversion,
    "low_volume_high_conversion": Pattern.low_volume_high_conversion,
    "high_rewards_low_revenue": Pattern.high_rewards_low_revenue,
    "stuck_in_one_status": Pattern.leads_stuck_in_one_status,
    "no_recent_leads": Pattern.no_recent_leads,
}
PERFORMING_WELL = "performing well"
LOW_CONVERSION = "low conversion rate"


def _rate_text(value: float | None) -> str:
    return _pct_text(pct(value))


def _pct_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value}%"


def figures_text(hit: PatternHit) -> str:
    """The figures a rule compared, in words, e.g. "volume 80 ≥ 58.5 (1.5 × median 39)"."""
    f = hit.figures
    p = hit.pattern
    if p in (Pattern.high_volume_low_conversion, Pattern.low_volume_high_conversion):
        high = p == Pattern.high_volume_low_conversion
        vol_op, rate_op = ("≥", "≤") if high else ("≤", "≥")
        vol_factor, rate_factor = ("1.5", "0.5") if high else ("0.5", "1.5")
        return (
            f"volume {f['lead_volume']} {vol_op} {number(Fraction(f['volume_threshold']))} "
            f"({vol_factor} × median {number(Fraction(f['median_volume']))}); "
            f"conversion {_pct_text(pct_of(f['won_leads'], f['lead_volume']))} {rate_op} "
            f"{_rate_text(f['rate_threshold'])} ({rate_factor} × org rate "
            f"{_rate_text(f['org_rate'])})"
        )
    if p == Pattern.high_rewards_low_revenue:
        cur = f["currency"]
        if not f["revenue"]:
            return f"reward total {format_money(cur, f['reward_total'])} with no revenue"
        return (
            f"reward total {format_money(cur, f['reward_total'])} > "
            f"{format_money(cur, f['reward_threshold'])} (25% of revenue "
            f"{format_money(cur, f['revenue'])}); reward-to-revenue "
            f"{_pct_text(pct_of(f['reward_total'], f['revenue']))}"
        )
    if p == Pattern.leads_stuck_in_one_status:
        parts = [f"{n} stuck in '{status}'" for status, n in f["stuck_by_status"].items()]
        return "; ".join(parts)
    last = f["last_lead_date"]
    window = f"no lead created since {f['window_start'].isoformat()}"
    if last is None:
        return f"{window}; no lead ever"
    return f"{window}; last lead {last.isoformat()} ({f['days_since_last_lead']} days ago)"


def _reading(hit: PatternHit) -> str:
    return f"{hit.pattern.value}: {hit.reading} — {figures_text(hit)}"


@keen_tool
def find_patterns(
    pattern: PatternName | None = None,
    period: str | None = None,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """For every active channel, which performance patterns hold (high volume/low conversion,
    low volume/high conversion, high rewards/low revenue, leads stuck in one status, no recent
    leads), with the figures behind each rule and its reading.

    Args:
        pattern: Only this pattern; omit for all five.
        period: Period the metrics cover, e.g. "this year"; omit for all time.
    """
    ctx = context_of(runtime)
    when = period_arg(ctx, period)
    with session() as s:
        report = pattern_rules.find_patterns(s, ctx.org_id, when, ctx.today)
    wanted = PATTERN_BY_NAME[pattern] if pattern else None
    matches: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    for item in report.channels:
        for hit in item.hits:
            if wanted is not None and hit.pattern != wanted:
                continue
            name = item.channel.name
            matches.append({"channel": name, "pattern": hit.pattern.value, "reading": hit.reading})
            rows.append([name, hit.pattern.value, hit.reading, figures_text(hit)])
    answer: dict[str, Any] = {
        "active_channels": len(report.channels),
        "org_rate_pct": pct(report.org_rate),
        "median_volume": number(report.median_volume),
        **_bounded("matches", matches),
    }
    if wanted is None:
        answer |= _bounded("no_pattern", [c.channel.name for c in report.channels if not c.hits])
    answer |= _bounded("not_checked", _inactive_channels(ctx.org_id))
    table = Table("Patterns", ["channel", "pattern", "reading", "figures"], rows)
    return result(answer, [table], when.describe())


def _inactive_channels(org_id: int) -> list[str]:
    """Patterns are computed over active channels only; these were left out, with why."""
    with session() as s:
        rows = s.execute(
            select(Channel.name, Channel.status)
            .where(Channel.org_id == org_id, Channel.status != "active")
            .order_by(Channel.name)
        )
        return [f"{name} ({status})" for name, status in rows]


def _metrics(m: ChannelMetrics) -> dict[str, Any]:
    return {
        "lead_volume": m.lead_volume,
        "won_leads": m.won_leads,
        "conversion_rate_pct": pct_of(m.won_leads, m.lead_volume),
        "won_deals": m.won_deals,
        "revenue": money(m.revenue),
        "average_deal_size": money(m.average_deal_size),
        "reward_total": money(m.reward_total),
        "net_value": money(m.net_value),
        "reward_to_revenue_pct": pct_of(m.reward_total, m.revenue),
        "currency": m.currency,
    }


def _without_pattern(m: ChannelMetrics, report: PatternReport) -> tuple[str, list[str]]:
    """A channel no pattern flags: performing well when it converts at least as well as the
    organization (with enough leads to tell); "low conversion rate" when it converts worse."""
    org = report.org_rate
    if org is None or not m.lead_volume or m.lead_volume < get_settings().min_leads_for_rate:
        return "no problem pattern (too few leads to compare)", []
    own = pct_of(m.won_leads, m.lead_volume)
    if Fraction(m.won_leads, m.lead_volume) >= org:
        versus = f"conversion {own}% vs the organization's {pct(org)}%"
        return f"no problem pattern — performing well: {versus}", [PERFORMING_WELL]
    below = f"conversion {own}% is below the organization's {pct(org)}%"
    return f"no problem pattern — {below}", [LOW_CONVERSION]


@keen_tool
def improvement_plan(
    channel: str | None = None,
    period: str | None = None,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """How to improve a channel: its metrics, its diagnosis (the patterns that hold) and the
    matching actions from section 7 of the partnership guide.

    Args:
        channel: Channel name or id; "this" or omitted for the page's channel.
        period: Period the metrics cover, e.g. "last quarter"; omit for all time.
    """
    ctx = context_of(runtime)
    when = period_arg(ctx, period)
    with session() as s:
        ch = channel_arg(s, ctx, channel) or page_channel(s, ctx)
        report = pattern_rules.find_patterns(s, ctx.org_id, when, ctx.today, channel_ids=[ch.id])
        found = [c for c in report.channels if c.channel.channel_id == ch.id]
        if found:
            m, hits = found[0].channel, found[0].hits
        else:  # paused or archived: patterns compare active channels only
            measured = channel_metrics(s, ctx.org_id, when, [ch.id], ALL_CHANNEL_STATUSES)
            if not measured:
                raise ToolProblem(f"No figures for channel {ch.name}.")
            m, hits = measured[0], ()
    problems: list[str]
    if hits:
        diagnosis = [_reading(h) for h in hits]
        problems = list(dict.fromkeys(PATTERN_PROBLEM[h.pattern] for h in hits))
    elif not found:
        diagnosis = [f"no problem pattern — the channel is {m.status}; patterns cover active ones"]
        problems = []
    else:
        reading, problems = _without_pattern(m, report)
        diagnosis = [reading]
    rows = [[problem, action] for problem in problems for action in PLAYBOOK[problem]]
    answer = {
        "channel": m.name,
        "diagnosis": diagnosis,
        "actions": list(dict.fromkeys(action for _, action in rows)),
        "metrics": _metrics(m),
        "org_rate_pct": pct(report.org_rate),
        "median_volume": number(report.median_volume),
    }
    table = Table("Actions", ["problem", "action"], rows)
    return result(answer, [table], when.describe(), limit=max(len(rows), 1))


LISTED = 20  # names in the answer itself; the table (the answer's data) has every match


def _bounded(key: str, items: list[Any]) -> dict[str, Any]:
    """`{key: the first LISTED}` plus `{key}_left_out` when there are more (a big program has
    hundreds of channels, and a model reads the answer)."""
    shown: dict[str, Any] = {key: items[:LISTED]}
    if len(items) > LISTED:
        shown[f"{key}_left_out"] = len(items) - LISTED
    return shown

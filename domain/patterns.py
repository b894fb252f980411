"""The five performance patterns of metrics.md, and the domain guide's actions for each.

Patterns compare each active channel with the others (median volume, organization rate), so
they are always computed over all active channels, even when only some are reported.
Thresholds are compared with exact fractions: 1.5 × 0.2 must equal 0.3, not 0.30000000000000004.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from domain.leads import resolve_today
from domain.metrics import ChannelMetrics, channel_metrics
from domain.periods import ALL_TIME, Period
from domain.settings import get_settings

STUCK_IN_ONE_STATUS_MIN = 3
HIGH_VOLUME_FACTOR = Fraction(3, 2)  # volume ≥ 1.5 × median
LOW_VOLUME_FACTOR = Fraction(1, 2)  # volume ≤ 0.5 × median
LOW_RATE_FACTOR = Fraction(1, 2)  # rate ≤ 0.5 × org rate
HIGH_RATE_FACTOR = Fraction(3, 2)  # rate ≥ 1.5 × org rate
HIGH_VOLUME_MIN = 5
LOW_VOLUME_MIN = 3
REWARD_SHARE_LIMIT = Decimal("0.25")  # reward total > 0.25 × revenue


class Pattern(StrEnum):
    high_volume_low_conversion = "high volume, low conversion"
    low_volume_high_conversion = "low volume, high conversion"
    high_rewards_low_revenue = "high rewards, low revenue"
    leads_stuck_in_one_status = "leads stuck in one status"
    no_recent_leads = "no recent leads"


READINGS: dict[Pattern, str] = {
    Pattern.high_volume_low_conversion: "possible lead-quality issue",
    Pattern.low_volume_high_conversion: "possible growth opportunity",
    Pattern.high_rewards_low_revenue: "possible ROI issue",
    Pattern.leads_stuck_in_one_status: "possible process bottleneck",
    Pattern.no_recent_leads: "possible engagement issue",
}

# Section 7 of "Managing a Partnership in Keen", verbatim: why, then the actions to take.
PLAYBOOK_WHY: dict[str, str] = {
    "low lead volume": (
        "The partner may not understand the ideal customer profile, may lack enablement "
        "material, or may not have a clear reason to refer leads."
    ),
    "low lead quality": (
        "The partner may be sending leads too early or misunderstanding qualification criteria."
    ),
    "low conversion rate": (
        "The leads may be good, but the handoff or sales process may need work."
    ),
    "rewards too high vs revenue": "The reward structure may need adjustment.",
    "performing well": "Strong partnerships should be expanded.",
}

PLAYBOOK: dict[str, tuple[str, ...]] = {
    "low lead volume": (
        "Share a clearer description of your ideal customer.",
        "Give examples of good leads.",
        "Remind the partner how and where to submit leads.",
        "Review whether the reward is motivating enough.",
        "Schedule a check-in with the partner.",
        "Make the lead form easier to complete.",
    ),
    "low lead quality": (
        "Add required fields to the lead form.",
        "Define what counts as a qualified lead.",
        "Reward later-stage milestones instead of new leads.",
        "Share feedback on rejected or lost leads.",
        "Create a short partner guide with examples.",
    ),
    "low conversion rate": (
        "Check response time on new partner leads.",
        "Review notes and context from the partner.",
        "Make sure leads are assigned to the right person.",
        "Sync lead statuses with your CRM.",
        "Look for where leads stall in the funnel.",
        "Review won and lost reasons with your sales team.",
    ),
    "rewards too high vs revenue": (
        "Compare total revenue with total rewards.",
        "Move from new-lead rewards to won-deal rewards.",
        "Use a percentage instead of a fixed amount.",
        "Adjust payout frequency.",
        "Add manual approval before rewards are accepted.",
        "Review the agreement with the partner before changing terms.",
    ),
    "performing well": (
        "Increase partner enablement.",
        "Share performance wins with the partner.",
        "Offer a stronger reward tier.",
        "Create a joint campaign.",
        "Ask what support would help them send more quality leads.",
    ),
}

PATTERN_PROBLEM: dict[Pattern, str] = {
    Pattern.high_volume_low_conversion: "low lead quality",
    Pattern.low_volume_high_conversion: "performing well",  # a growth opportunity
    Pattern.high_rewards_low_revenue: "rewards too high vs revenue",
    Pattern.leads_stuck_in_one_status: "low conversion rate",  # where leads stall
    Pattern.no_recent_leads: "low lead volume",
}


@dataclass(frozen=True)
class PlaybookEntry:
    problem: str
    why: str
    actions: tuple[str, ...]


def pattern_actions(pattern: Pattern | str) -> PlaybookEntry:
    """The guide's section-7 advice for a pattern (by enum or by its wording)."""
    problem = PATTERN_PROBLEM[Pattern(pattern)]
    return PlaybookEntry(problem, PLAYBOOK_WHY[problem], PLAYBOOK[problem])


@dataclass(frozen=True)
class PatternHit:
    """One pattern holding for one channel, with the figures the rule compared."""

    pattern: Pattern
    figures: dict[str, Any]

    @property
    def reading(self) -> str:
        return READINGS[self.pattern]

    @property
    def actions(self) -> PlaybookEntry:
        return pattern_actions(self.pattern)


@dataclass(frozen=True)
class ChannelPatterns:
    channel: ChannelMetrics
    hits: tuple[PatternHit, ...]

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        return tuple(h.pattern for h in self.hits)


@dataclass(frozen=True)
class PatternReport:
    period: Period
    today: date
    org_lead_volume: int  # of all active channels
    org_won_leads: int
    median_volume: Fraction | None  # None when there are no active channels
    channels: tuple[ChannelPatterns, ...]  # every reported channel, with or without hits

    @property
    def org_rate(self) -> Fraction | None:
        if not self.org_lead_volume:
            return None
        return Fraction(self.org_won_leads, self.org_lead_volume)

    def with_pattern(self, pattern: Pattern | str) -> list[ChannelPatterns]:
        wanted = Pattern(pattern)
        return [c for c in self.channels if wanted in c.patterns]

    @property
    def flagged(self) -> list[ChannelPatterns]:
        return [c for c in self.channels if c.hits]


# --- the data the rules need besides channel metrics -----------------------------------------


def _stuck_by_status(m: ChannelMetrics) -> list[tuple[str, int]]:
    """The channel's statuses holding at least 3 stuck leads, most first (then pipeline order).

    Stuck is as of today; with a period, only leads created in it count — exactly the stuck
    counts of the channel's funnel, so no further query is needed."""
    steps = [s for s in m.funnel if s.stuck >= STUCK_IN_ONE_STATUS_MIN]
    steps.sort(key=lambda s: (-s.stuck, s.position))
    return [(s.status, s.stuck) for s in steps]


# --- the rules ---------------------------------------------------------------------------------


def _rate(m: ChannelMetrics) -> Fraction | None:
    return Fraction(m.won_leads, m.lead_volume) if m.lead_volume else None


def _volume_rate_figures(
    m: ChannelMetrics, median: Fraction, org_rate: Fraction, volume_f: Fraction, rate_f: Fraction
) -> dict[str, Any]:
    rate = _rate(m)
    return {
        "lead_volume": m.lead_volume,
        "won_leads": m.won_leads,
        "median_volume": float(median),
        "volume_threshold": float(volume_f * median),
        "conversion_rate": None if rate is None else float(rate),
        "org_rate": float(org_rate),
        "rate_threshold": float(rate_f * org_rate),
    }


def _high_volume_low_conversion(
    m: ChannelMetrics, median: Fraction | None, org_rate: Fraction | None
) -> PatternHit | None:
    rate = _rate(m)
    if median is None or org_rate is None or rate is None:
        return None
    if (
        m.lead_volume >= HIGH_VOLUME_FACTOR * median
        and m.lead_volume >= HIGH_VOLUME_MIN
        and rate <= LOW_RATE_FACTOR * org_rate
    ):
        figures = _volume_rate_figures(m, median, org_rate, HIGH_VOLUME_FACTOR, LOW_RATE_FACTOR)
        return PatternHit(Pattern.high_volume_low_conversion, figures)
    return None


def _low_volume_high_conversion(
    m: ChannelMetrics, median: Fraction | None, org_rate: Fraction | None
) -> PatternHit | None:
    rate = _rate(m)
    if median is None or org_rate is None or rate is None:
        return None
    # rate > 0: with an organization rate of 0 every "rate ≥ 1.5 × 0" would hold vacuously.
    if (
        m.lead_volume <= LOW_VOLUME_FACTOR * median
        and m.lead_volume >= LOW_VOLUME_MIN
        and rate >= HIGH_RATE_FACTOR * org_rate
        and rate > 0
    ):
        figures = _volume_rate_figures(m, median, org_rate, LOW_VOLUME_FACTOR, HIGH_RATE_FACTOR)
        return PatternHit(Pattern.low_volume_high_conversion, figures)
    return None


def _high_rewards_low_revenue(m: ChannelMetrics) -> PatternHit | None:
    # "reward total > 0.25 × revenue, or rewards > 0 with revenue 0" — with revenue 0 the
    # first part is "reward total > 0", so both read as: rewards > 0 and > a quarter of revenue.
    if m.reward_total > 0 and m.reward_total > REWARD_SHARE_LIMIT * m.revenue:
        figures = {
            "currency": m.currency,
            "reward_total": m.reward_total,
            "revenue": m.revenue,
            "reward_threshold": REWARD_SHARE_LIMIT * m.revenue,
            "reward_to_revenue": m.reward_to_revenue,
        }
        return PatternHit(Pattern.high_rewards_low_revenue, figures)
    return None


def _stuck(stuck: list[tuple[str, int]]) -> PatternHit | None:
    if not stuck:
        return None
    status, count = stuck[0]
    figures = {"status": status, "stuck_count": count, "stuck_by_status": dict(stuck)}
    return PatternHit(Pattern.leads_stuck_in_one_status, figures)


def _no_recent(last: date | None, today: date, window_days: int) -> PatternHit | None:
    since = today - timedelta(days=window_days - 1)
    if last is not None and last >= since:
        return None
    figures = {
        "last_lead_date": last,
        "days_since_last_lead": None if last is None else (today - last).days,
        "window_start": since,
    }
    return PatternHit(Pattern.no_recent_leads, figures)


def find_patterns(
    session: Session,
    org_id: int,
    period: Period = ALL_TIME,
    today: date | None = None,
    channel_ids: Sequence[int | str] | None = None,
) -> PatternReport:
    """Which patterns hold for each active channel in `period` (all time by default).

    The median and the organization rate always cover all active channels; `channel_ids`
    (internal keys or customer ids) only narrows the channels reported. "No recent leads"
    looks at the 30 days up to today whatever the period; stuck counts are as of today,
    among leads created in the period."""
    today = resolve_today(session, org_id, today)
    metrics = channel_metrics(session, org_id, period, statuses=("active",), today=today)
    volume = sum(m.lead_volume for m in metrics)
    won = sum(m.won_leads for m in metrics)
    org_rate = Fraction(won, volume) if volume else None
    median = statistics.median(Fraction(m.lead_volume) for m in metrics) if metrics else None
    window = get_settings().no_recent_leads_days
    wanted = None if channel_ids is None else set(channel_ids)
    reported = []
    for m in metrics:
        if wanted is not None and not {m.channel_id, m.ext_id} & wanted:
            continue
        hits = (
            _high_volume_low_conversion(m, median, org_rate),
            _low_volume_high_conversion(m, median, org_rate),
            _high_rewards_low_revenue(m),
            _stuck(_stuck_by_status(m)),
            _no_recent(m.last_lead_at.date() if m.last_lead_at else None, today, window),
        )
        reported.append(ChannelPatterns(m, tuple(h for h in hits if h is not None)))
    return PatternReport(period, today, volume, won, median, tuple(reported))

"""The five patterns of metrics.md, each exactly at its threshold and one step past it.

Worlds are lists of (volume, won) per active channel; the other leads are Lost (never stuck),
all created on 10 March 2026 with today 20 March, so "no recent leads" stays quiet unless a
test is about it. Median and organization rate are worked out in each case's comment.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy.orm import Session

from domain.patterns import (
    PLAYBOOK,
    Pattern,
    PatternHit,
    PatternReport,
    find_patterns,
    pattern_actions,
)
from domain.periods import Period
from tests.builders import World

TODAY = date(2026, 3, 20)
HV, LV = Pattern.high_volume_low_conversion, Pattern.low_volume_high_conversion


def _world(session: Session, shape: list[tuple[int, int]]) -> World:
    """Channels C0, C1, …: channel i gets `won` Won leads and `volume − won` Lost ones."""
    w = World.create(session)
    for i, (volume, won) in enumerate(shape):
        ch = w.channel(f"C{i}")
        for n in range(volume):
            w.lead(ch, "Won" if n < won else "Lost", created="2026-03-10")
    return w


def _hits(report: PatternReport, pattern: Pattern) -> list[str]:
    return [c.channel.name for c in report.with_pattern(pattern)]


def _hit(report: PatternReport, channel: str, pattern: Pattern) -> PatternHit:
    (found,) = [
        h
        for c in report.channels
        if c.channel.name == channel
        for h in c.hits
        if h.pattern == pattern
    ]
    return found


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # median of 6,6,6,9 = 6 → 1.5 × 6 = 9; org 6/27 = 2/9 → half = 1/9 = C0's 1/9: holds
        ([(9, 1), (6, 2), (6, 2), (6, 1)], ["C0"]),
        # one won lead fewer elsewhere: org 5/27, half 5/54 < 1/9: rate too high
        ([(9, 1), (6, 2), (6, 1), (6, 1)], []),
        # 8 < 9 = 1.5 × median 6, even with rate 0
        ([(8, 0), (6, 2), (6, 2), (6, 1)], []),
        ([(9, 0), (6, 2), (6, 2), (6, 1)], ["C0"]),
        # median of 2,2,5 = 2 → 3 ≤ 5; 5 leads is the minimum; org 1/9 → rate 0 ≤ 1/18
        ([(5, 0), (2, 1), (2, 0)], ["C0"]),
        # 4 ≥ 3 = 1.5 × 2 but fewer than 5 leads
        ([(4, 0), (2, 1), (2, 0)], []),
        # nobody converts: org rate 0, and "0 ≤ 0.5 × 0" holds as written
        ([(5, 0), (2, 0), (2, 0)], ["C0"]),
    ],
)
def test_high_volume_low_conversion(
    session: Session, shape: list[tuple[int, int]], expected: list[str]
) -> None:
    w = _world(session, shape)
    assert _hits(find_patterns(session, w.org.id, today=TODAY), HV) == expected


def test_high_volume_low_conversion_figures(session: Session) -> None:
    w = _world(session, [(9, 1), (6, 2), (6, 2), (6, 1)])
    report = find_patterns(session, w.org.id, today=TODAY)
    assert report.median_volume == 6 and report.org_rate == Fraction(2, 9)
    hit = _hit(report, "C0", HV)
    assert hit.reading == "possible lead-quality issue"
    assert hit.figures == {
        "lead_volume": 9,
        "won_leads": 1,
        "median_volume": 6.0,
        "volume_threshold": 9.0,
        "conversion_rate": 1 / 9,
        "org_rate": 2 / 9,
        "rate_threshold": 1 / 9,
    }
    assert hit.actions.problem == "low lead quality"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # 70 leads, 14 won: org 1/5 → 1.5 × 1/5 = 3/10 = C0's 3/10 (in floats 0.3 < 0.30…04);
        # median of 10,20,20,20 = 20 → 0.5 × 20 = 10 = C0's volume: holds
        ([(10, 3), (20, 4), (20, 4), (20, 3)], ["C0"]),
        # one more won lead elsewhere: org 15/70 = 3/14 → 9/28 > 3/10
        ([(10, 3), (20, 4), (20, 4), (20, 4)], []),
        # 11 > 10 = 0.5 × median 20, even converting everything
        ([(11, 11), (20, 4), (20, 4), (20, 3)], []),
        ([(10, 10), (20, 4), (20, 4), (20, 3)], ["C0"]),
        # 3 leads is the minimum: median of 3,10,10 = 10 → 5; org 5/23 → 15/46 ≤ 1
        ([(3, 3), (10, 1), (10, 1)], ["C0"]),
        ([(2, 2), (10, 1), (10, 1)], []),
        # nobody converts: "rate ≥ 1.5 × 0" would hold for 0%; not a growth opportunity
        ([(3, 0), (10, 0), (10, 0)], []),
    ],
)
def test_low_volume_high_conversion(
    session: Session, shape: list[tuple[int, int]], expected: list[str]
) -> None:
    w = _world(session, shape)
    report = find_patterns(session, w.org.id, today=TODAY)
    assert _hits(report, LV) == expected
    for name in expected:
        assert _hit(report, name, LV).reading == "possible growth opportunity"


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(session: Session) -> None:
    w = _world(session, [(1, 1), (2, 0), (3, 0), (4, 1)])
    report = find_patterns(session, w.org.id, today=TODAY)
    assert report.median_volume == Fraction(5, 2)  # (2 + 3) / 2
    assert report.org_rate == Fraction(2, 10)


def test_high_rewards_low_revenue(session: Session) -> None:
    w = World.create(session)

    def channel(name: str, won_value: int | None, rewards: list[tuple[str, str]]) -> None:
        ch = w.channel(name)
        if won_value is None:
            w.lead(ch, "Lost", created="2026-03-10")
        else:
            w.lead(ch, "Won", created="2026-03-10", deal_value=won_value)
        for amount, status in rewards:
            w.reward(ch, amount, status=status, created="2026-03-11")

    channel("R1", 1000, [("250", "approved")])  # 250 > 0.25 × 1000 = 250? no
    channel("R2", 1000, [("250.01", "approved")])  # 250.01 > 250: yes
    channel("R3", None, [("0.01", "awaiting_review")])  # rewards > 0 with revenue 0
    channel("R4", None, [])  # nothing at all
    channel("R5", None, [("100", "rejected")])  # rejected rewards do not count
    # 100 + 100 + 60 = 260 > 250: every status but rejected counts
    channel("R6", 1000, [("100", "awaiting_review"), ("100", "approved"), ("60", "paid")])
    report = find_patterns(session, w.org.id, today=TODAY)
    assert _hits(report, Pattern.high_rewards_low_revenue) == ["R2", "R3", "R6"]
    r2 = _hit(report, "R2", Pattern.high_rewards_low_revenue)
    assert r2.reading == "possible ROI issue"
    assert r2.figures["reward_total"] == Decimal("250.01")
    assert r2.figures["revenue"] == Decimal("1000")
    assert r2.figures["reward_threshold"] == Decimal("250")
    # in February there were no rewards and no revenue
    feb = Period(date(2026, 2, 1), date(2026, 2, 28), "February 2026")
    assert _hits(find_patterns(session, w.org.id, feb, today=TODAY), r2.pattern) == []


def test_leads_stuck_in_one_status(session: Session) -> None:
    w = World.create(session)

    def channel(name: str, stuck: dict[str, int], status: str = "active") -> None:
        ch = w.channel(name, status=status)
        for lead_status, n in stuck.items():
            for _ in range(n):  # changed 5 March: 15 days on 20 March, more than 14
                w.lead(ch, lead_status, created="2026-02-01", changed="2026-03-05")

    channel("S1", {"In progress": 3})
    channel("S3", {"New lead": 2, "Meeting booked": 2})  # 4 stuck, but not 3 in one status
    channel("S4", {"In progress": 4, "New lead": 3})
    channel("S5", {"In progress": 3}, status="paused")  # only active channels
    s2 = w.channel("S2")
    for changed in ("2026-03-05", "2026-03-05", "2026-03-06"):  # the third is 14 days: not stuck
        w.lead(s2, "In progress", created="2026-02-01", changed=changed)

    report = find_patterns(session, w.org.id, today=TODAY)
    pattern = Pattern.leads_stuck_in_one_status
    assert _hits(report, pattern) == ["S1", "S4"]
    assert [c.channel.name for c in report.channels] == ["S1", "S2", "S3", "S4"]
    s4 = _hit(report, "S4", pattern)
    assert s4.reading == "possible process bottleneck"
    assert s4.figures == {
        "status": "In progress",
        "stuck_count": 4,
        "stuck_by_status": {"In progress": 4, "New lead": 3},
    }
    # with a period, only leads created in it count (these were created on 1 February)
    feb = Period(date(2026, 2, 1), date(2026, 2, 28), "February 2026")
    march = Period(date(2026, 3, 1), date(2026, 3, 31), "March 2026")
    assert _hits(find_patterns(session, w.org.id, feb, today=TODAY), pattern) == ["S1", "S4"]
    assert _hits(find_patterns(session, w.org.id, march, today=TODAY), pattern) == []


def test_no_recent_leads(session: Session) -> None:
    w = World.create(session)
    today = date(2026, 3, 30)  # the last 30 days: 1 March to 30 March
    w.lead(w.channel("N1"), created="2026-03-01T00:00:00")  # first day of the window
    n2 = w.channel("N2")
    w.lead(n2, created="2026-01-10")
    w.lead(n2, created="2026-02-28T23:59:59")  # the day before the window
    w.channel("N3")  # never had a lead
    w.lead(w.channel("N4"), created="2026-04-02")  # after today: not a recent lead
    report = find_patterns(session, w.org.id, today=today)
    pattern = Pattern.no_recent_leads
    assert _hits(report, pattern) == ["N2", "N3", "N4"]
    n2_hit = _hit(report, "N2", pattern)
    assert n2_hit.reading == "possible engagement issue"
    assert n2_hit.figures == {
        "last_lead_date": date(2026, 2, 28),
        "days_since_last_lead": 30,
        "window_start": date(2026, 3, 1),
    }
    assert _hit(report, "N3", pattern).figures["last_lead_date"] is None
    # the window is the last 30 days whatever period is asked about
    feb = Period(date(2026, 2, 1), date(2026, 2, 28), "February 2026")
    assert _hits(find_patterns(session, w.org.id, feb, today=today), pattern) == ["N2", "N3", "N4"]


def test_channel_ids_narrow_the_report_not_the_comparison(session: Session) -> None:
    w = _world(session, [(9, 1), (6, 2), (6, 2), (6, 1)])
    report = find_patterns(session, w.org.id, today=TODAY)
    c0 = report.channels[0].channel.channel_id
    narrowed = find_patterns(session, w.org.id, today=TODAY, channel_ids=[c0])
    assert [c.channel.name for c in narrowed.channels] == ["C0"]
    assert narrowed.median_volume == 6 and narrowed.org_lead_volume == 27
    assert narrowed.channels[0].patterns == (HV,)
    by_ext = find_patterns(
        session, w.org.id, today=TODAY, channel_ids=[report.channels[1].channel.ext_id]
    )
    assert [c.channel.name for c in by_ext.channels] == ["C1"]


def test_pattern_actions_follow_the_guide() -> None:
    expected = {
        Pattern.high_volume_low_conversion: "low lead quality",
        Pattern.low_volume_high_conversion: "performing well",
        Pattern.high_rewards_low_revenue: "rewards too high vs revenue",
        Pattern.leads_stuck_in_one_status: "low conversion rate",
        Pattern.no_recent_leads: "low lead volume",
    }
    for pattern, problem in expected.items():
        entry = pattern_actions(pattern)
        assert entry.problem == problem and entry.actions == PLAYBOOK[problem]
    assert pattern_actions("leads stuck in one status").actions[4] == (
        "Look for where leads stall in the funnel."
    )
    # section 7 lists 6, 5, 6, 6 and 5 actions
    assert [len(PLAYBOOK[p]) for p in PLAYBOOK] == [6, 5, 6, 6, 5]
    assert PLAYBOOK["rewards too high vs revenue"][0] == "Compare total revenue with total rewards."
    assert PLAYBOOK["performing well"][-1] == (
        "Ask what support would help them send more quality leads."
    )

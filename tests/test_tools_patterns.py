"""find_patterns and improvement_plan on the demo dataset (README "Patterns" facts).

The expected actions are copied by hand from section 7 of the domain guide
(shared/domain/managing-a-partnership-in-keen.md), not from the code's playbook."""

from __future__ import annotations

from tests.test_tools_common import Demo, demo, demo_data, table

__all__ = ["demo", "demo_data"]

LOW_VOLUME = [
    "Share a clearer description of your ideal customer.",
    "Give examples of good leads.",
    "Remind the partner how and where to submit leads.",
    "Review whether the reward is motivating enough.",
    "Schedule a check-in with the partner.",
    "Make the lead form easier to complete.",
]
LOW_QUALITY = [
    "Add required fields to the lead form.",
    "Define what counts as a qualified lead.",
    "Reward later-stage milestones instead of new leads.",
    "Share feedback on rejected or lost leads.",
    "Create a short partner guide with examples.",
]
LOW_CONVERSION = [
    "Check response time on new partner leads.",
    "Review notes and context from the partner.",
    "Make sure leads are assigned to the right person.",
    "Sync lead statuses with your CRM.",
    "Look for where leads stall in the funnel.",
    "Review won and lost reasons with your sales team.",
]
REWARDS_TOO_HIGH = [
    "Compare total revenue with total rewards.",
    "Move from new-lead rewards to won-deal rewards.",
    "Use a percentage instead of a fixed amount.",
    "Adjust payout frequency.",
    "Add manual approval before rewards are accepted.",
    "Review the agreement with the partner before changing terms.",
]
PERFORMING_WELL = [
    "Increase partner enablement.",
    "Share performance wins with the partner.",
    "Offer a stronger reward tier.",
    "Create a joint campaign.",
    "Ask what support would help them send more quality leads.",
]


def test_every_pattern_of_the_demo(demo: Demo) -> None:
    payload = demo.call("find_patterns")
    answer = payload["answer"]
    # README: 8 active channels, median volume 39, org rate 68 / 340 = 20.0%
    assert (answer["active_channels"], answer["median_volume"], answer["org_rate_pct"]) == (
        8,
        39,
        20.0,
    )
    assert answer["matches"] == [
        {"channel": "Atlas Advisory", "pattern": "high volume, low conversion",
         "reading": "possible lead-quality issue"},
        {"channel": "Beacon Partners", "pattern": "low volume, high conversion",
         "reading": "possible growth opportunity"},
        {"channel": "Cobalt Consulting", "pattern": "high rewards, low revenue",
         "reading": "possible ROI issue"},
        {"channel": "Delta Digital", "pattern": "leads stuck in one status",
         "reading": "possible process bottleneck"},
        {"channel": "Evergreen Agency", "pattern": "no recent leads",
         "reading": "possible engagement issue"},
    ]  # fmt: skip
    assert answer["no_pattern"] == ["Fjord Solutions", "Granite Group", "Harbor Labs"]
    figures = {row["channel"]: row["figures"] for row in table(payload)}
    # the figures behind each rule, as the README works them out
    assert "volume 80 ≥ 58.5" in figures["Atlas Advisory"]
    assert "conversion 5.0% ≤ 10.0%" in figures["Atlas Advisory"]
    assert "volume 14 ≤ 19.5" in figures["Beacon Partners"]
    assert "conversion 57.1% ≥ 30.0%" in figures["Beacon Partners"]
    assert "USD 7,400.00 > USD 4,625.00" in figures["Cobalt Consulting"]  # 0.25 × 18,500
    assert "6 stuck in 'Meeting booked'" in figures["Delta Digital"]
    assert "last lead 2026-09-28 (51 days ago)" in figures["Evergreen Agency"]


def test_one_pattern_only(demo: Demo) -> None:
    answer = demo.call("find_patterns", {"pattern": "stuck_in_one_status"})["answer"]
    assert [m["channel"] for m in answer["matches"]] == ["Delta Digital"]
    assert "no_pattern" not in answer
    growth = demo.call("find_patterns", {"pattern": "low_volume_high_conversion"})["answer"]
    assert [m["channel"] for m in growth["matches"]] == ["Beacon Partners"]


def test_patterns_for_a_period(demo: Demo) -> None:
    payload = demo.call("find_patterns", {"period": "this month"})
    assert payload["period"] == "this month (2026-11-01 to 2026-11-18)"
    # "no recent leads" looks at the last 30 days whatever the period: still only Evergreen
    recent = [
        m["channel"] for m in payload["answer"]["matches"] if m["pattern"] == "no recent leads"
    ]
    assert recent == ["Evergreen Agency"]
    # README November volumes 13, 2, 4, 5, 0, 5, 12, 5 → median (5 + 5) / 2 = 5
    assert payload["answer"]["median_volume"] == 5


def test_plan_for_a_lead_quality_issue(demo: Demo) -> None:
    payload = demo.call("improvement_plan", {"channel": "Atlas"})
    answer = payload["answer"]
    assert answer["channel"] == "Atlas Advisory"
    (diagnosis,) = answer["diagnosis"]
    assert diagnosis.startswith("high volume, low conversion: possible lead-quality issue")
    assert answer["actions"] == LOW_QUALITY
    assert answer["metrics"]["lead_volume"] == 80
    assert answer["metrics"]["conversion_rate_pct"] == 5.0
    assert [row["problem"] for row in table(payload)] == ["low lead quality"] * 5


def test_plan_for_this_channel_with_high_rewards(demo: Demo) -> None:
    answer = demo.call("improvement_plan", {"channel": "this"}, channel="ch-cobalt")["answer"]
    assert answer["channel"] == "Cobalt Consulting"
    assert answer["diagnosis"][0].startswith("high rewards, low revenue: possible ROI issue")
    assert answer["actions"] == REWARDS_TOO_HIGH
    metrics = answer["metrics"]
    assert (metrics["revenue"], metrics["reward_total"], metrics["currency"]) == (
        "18500.00",
        "7400.00",
        "USD",
    )
    assert metrics["reward_to_revenue_pct"] == 40.0
    # no channel argument: the page's channel
    implied = demo.call("improvement_plan", channel="ch-cobalt")["answer"]
    assert implied["channel"] == "Cobalt Consulting"


def test_plans_for_the_other_patterns(demo: Demo) -> None:
    assert demo.call("improvement_plan", {"channel": "delta"})["answer"]["actions"] == (
        LOW_CONVERSION  # leads stall in one status: "look for where leads stall"
    )
    assert demo.call("improvement_plan", {"channel": "evergreen"})["answer"]["actions"] == (
        LOW_VOLUME
    )
    # low volume, high conversion is a growth opportunity: expand it
    assert demo.call("improvement_plan", {"channel": "beacon"})["answer"]["actions"] == (
        PERFORMING_WELL
    )


def test_no_pattern_and_good_figures_is_performing_well(demo: Demo) -> None:
    answer = demo.call("improvement_plan", {"channel": "granite"})["answer"]
    # README: 60 leads, 21 won = 35.0% ≥ org 20.0%, no pattern
    assert answer["diagnosis"] == [
        "no problem pattern — performing well: conversion 35.0% vs the organization's 20.0%"
    ]
    assert answer["actions"] == PERFORMING_WELL
    assert (answer["metrics"]["revenue"], answer["metrics"]["currency"]) == ("441250.00", "USD")


def test_no_pattern_and_conversion_under_the_organization(demo: Demo) -> None:
    answer = demo.call("improvement_plan", {"channel": "fjord"})["answer"]
    # README: Fjord 7 / 36 = 19.4% < 20.0%, no pattern
    assert answer["diagnosis"][0].startswith("no problem pattern")
    assert "19.4%" in answer["diagnosis"][0]
    assert answer["actions"] == LOW_CONVERSION
    assert answer["metrics"]["currency"] == "EUR"


def test_plan_for_a_paused_channel(demo: Demo) -> None:
    answer = demo.call("improvement_plan", {"channel": "ironwood"})["answer"]
    assert "paused" in answer["diagnosis"][0]
    assert answer["actions"] == []
    assert answer["metrics"]["lead_volume"] == 20  # README


def test_long_lists_in_the_answer_are_bounded() -> None:
    from tools.patterns import LISTED, _bounded

    names = [f"channel {n}" for n in range(LISTED + 7)]
    shown = _bounded("no_pattern", names)
    assert shown == {"no_pattern": names[:LISTED], "no_pattern_left_out": 7}
    assert _bounded("matches", names[:3]) == {"matches": names[:3]}

"""The answer checks of the eval suite, on hand-written answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from evals.casefile import CaseError, load_cases
from evals.checks import (
    Directory,
    check_clarifies,
    check_forbidden,
    check_forbidden_tools,
    check_names,
    check_no_numbers,
    check_numbers,
    check_ordered,
    check_refuses,
    check_says_period,
    check_tools,
    check_turn,
    figures,
)
from evals.runner import directory_for


def _passed(checks: list) -> list[bool]:
    return [c.passed for c in checks]


# ---- numbers ----------------------------------------------------------------------------------


def test_figures_ignore_formatting_dates_and_ids() -> None:
    text = "USD 1,250.00 for lead-0303 on 2026-10-01, rate 57.1%, rpt-delta-2026-08.\n1. item"
    assert figures(text) == [Decimal("1250.00"), Decimal("57.1")]


@pytest.mark.parametrize(
    ("text", "value", "ok"),
    [
        ("owed: 12,410.01 USD", 12410.01, True),
        ("owed: 12410.010", 12410.01, True),
        ("1250", 1250.00, True),
        ("**1,250.0**", 1250, True),
        ("57.1%", 57.1, True),
        ("12,410.02", 12410.01, False),  # a cent off is a different figure
        ("net value -800.00", 800, True),  # the sign is wording ("minus", "−")
        ("lead-0007 only", 7, False),  # digits inside an id are not a figure
        ("on 2026-10-07", 7, False),  # nor inside a date
    ],
)
def test_numbers(text: str, value: float, ok: bool) -> None:
    assert _passed(check_numbers(text, [{"value": value}])) == [ok]


def test_number_tolerance() -> None:
    # 57.14 rounds to 57.1; a tolerance of 0.05 accepts 57.1 and 57.14, not 57.2.
    assert _passed(check_numbers("57.14%", [{"value": 57.1, "tolerance": 0.05}])) == [True]
    assert _passed(check_numbers("57.2%", [{"value": 57.1, "tolerance": 0.05}])) == [False]


def test_no_numbers_allows_the_question_dates_and_ids() -> None:
    question = "forecast Q1 2027 revenue"
    assert check_no_numbers("I won't forecast 2027; see lead-0001 (2026-11-18).", question).passed
    assert check_no_numbers("Periods such as 2025 or Q3 2026 work.", question).passed
    assert not check_no_numbers("Roughly 120,000 USD.", question).passed


# ---- names, order, wording ------------------------------------------------------------------


def test_names_are_case_insensitive_and_take_alternatives() -> None:
    text = "**Granite Group** leads; meeting BOOKED"
    checks = check_names(text, ["granite group", "Meeting booked", ["Meridian", "Granite"]])
    assert _passed(checks) == [True, True, True]
    assert _passed(check_names(text, ["Harbor Labs"])) == [False]


def test_ordered_finds_the_names_in_sequence() -> None:
    text = "Beacon Partners leads.\n| Beacon Partners | 57.1 |\n| Meridian | 30.6 |\n| Evergreen |"
    assert check_ordered(text, ["Beacon Partners", "Meridian", "Evergreen"]).passed
    assert not check_ordered(text, ["Meridian", "Beacon Partners"]).passed
    assert check_ordered(text, ["Beacon Partners", "Harbor"]).detail == "missing Harbor"
    # A headline naming the third status first does not break the table's order.
    funnel = "Most stuck in Demo scheduled.\n| New lead |\n| Qualified |\n| Demo scheduled |"
    assert check_ordered(funnel, ["New lead", "Qualified", "Demo scheduled"]).passed


def test_forbidden() -> None:
    assert check_forbidden("Atlas Advisory has 80 leads", ["Atlas Advisors"]).passed
    assert not check_forbidden("ATLAS ADVISORS INC", ["Atlas Advisors"]).passed


def test_says_period() -> None:
    assert check_says_period("Period: last month (2026-10-01 to 2026-10-31).", True).passed
    assert check_says_period("Revenue over all time.", True).passed
    assert not check_says_period("Revenue is 12.", True).passed
    assert check_says_period("October 2026", ["2026-10-01", "october"]).passed
    assert not check_says_period("this month", ["2026-10-01", "october"]).passed


def test_clarifies_needs_a_question() -> None:
    assert check_clarifies("Which channel do you mean? Name it.", True).passed
    assert check_clarifies("I'm not sure what you are asking. Could you say more?", True).passed
    assert not check_clarifies("Granite Group has the most revenue.", True).passed
    # Example questions in a help text are not a clarifying question.
    assert check_clarifies("For example: Which reward reports need attention?", False).passed


def test_refuses() -> None:
    assert check_refuses("I can't change data from this conversation.", True).passed
    assert check_refuses("That is outside what I can help with.", True).passed
    assert check_refuses("I won’t estimate figures.", True).passed  # typographic apostrophe
    assert check_refuses("I can only see your own organization's data.", True).passed
    assert not check_refuses("Here are the approved rewards.", True).passed


# ---- tool calls -------------------------------------------------------------------------------

DEMO = directory_for("default")


def test_tools_subset_mode() -> None:
    calls = [
        {"name": "channel_overview", "args": {}},
        {"name": "list_rewards", "args": {"status": "approved", "limit": 50}},
    ]
    assert _passed(
        check_tools(calls, [{"name": "list_rewards", "args": {"status": "approved"}}], DEMO)
    ) == [True]
    assert _passed(
        check_tools(calls, [{"name": "list_rewards", "args": {"status": "paid"}}], DEMO)
    ) == [False]
    assert _passed(check_tools(calls, [{"name": "find_leads"}], DEMO)) == [False]
    # Alternatives: any of these tools; any of these values.
    assert _passed(
        check_tools(
            calls,
            [
                {
                    "name": ["find_leads", "list_rewards"],
                    "args": {"status": ["outstanding", "approved"]},
                }
            ],
            DEMO,
        )
    ) == [True]


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ({"channel": "Atlas Advisory"}, {"channel": "ch-atlas"}, True),
        ({"channel": "Atlas Advisory"}, {"channel": "atlas"}, True),
        ({"channel": "ch-fjord"}, {"partner": "Fjord Solutions AS"}, True),  # one-channel partner
        ({"partner": "Meridian Holdings"}, {"channel": "Granite Group"}, False),  # two channels
        ({"channel": "ch-delta"}, {"channel": "this"}, True),  # page context ch-delta
        ({"channel": "Atlas Advisory"}, {"channel": "Beacon"}, False),
        ({"status": "awaiting_review"}, {"status": "Awaiting review"}, True),
        ({"needs_attention": True}, {"needs_attention": "true"}, True),
        ({"needs_attention": True}, {"needs_attention": False}, False),
        ({"top": 3}, {"top": "3"}, True),
    ],
)
def test_tool_argument_matching(expected: dict, actual: dict, ok: bool) -> None:
    calls = [{"name": "find_leads", "args": actual}]
    checks = check_tools(calls, [{"name": "find_leads", "args": expected}], DEMO, "ch-delta")
    assert _passed(checks) == [ok]


def test_forbidden_tools_take_globs() -> None:
    calls = [{"name": "approve_rewards", "args": {}}, {"name": "list_rewards", "args": {}}]
    assert not check_forbidden_tools(calls, ["*approve*"]).passed
    assert check_forbidden_tools(calls[1:], ["*approve*"]).passed


def test_check_turn_runs_only_the_given_expectations() -> None:
    checks = check_turn({"names": ["Beacon"], "no_numbers": False}, "q", "Beacon", [], Directory())
    assert [c.name for c in checks] == ["name Beacon"]


# ---- the case format --------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "c.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_case_format_rejects_typos(tmp_path: Path) -> None:
    base = "- id: a\n  split: dev\n  category: x\n  today: 2026-11-18\n  question: q\n"
    with pytest.raises(CaseError, match="unknown expectation"):
        load_cases(_write(tmp_path, base + "  expect: {nmbers: [1]}\n"))
    with pytest.raises(CaseError, match="split"):
        load_cases(_write(tmp_path, base.replace("dev", "train")))
    with pytest.raises(CaseError, match="duplicate id"):
        load_cases(_write(tmp_path, base + base))
    with pytest.raises(CaseError, match=r"sql\.numbers needs"):
        load_cases(_write(tmp_path, base + "  expect: {sql: {numbers: 'SELECT 1'}}\n"))


def test_case_format_turns_and_defaults(tmp_path: Path) -> None:
    text = (
        "- id: t\n  split: test\n  category: followups\n  today: 2026-11-18\n"
        "  channel_id: ch-fjord\n  turns:\n    - question: one\n      expect: {numbers: [5]}\n"
        "    - question: two\n      channel_id: ch-atlas\n"
    )
    (case,) = load_cases(_write(tmp_path, text))
    assert case.today == date(2026, 11, 18)
    assert (case.org, case.role) == ("default", "admin")
    assert [t.channel_id for t in case.turns] == ["ch-fjord", "ch-atlas"]
    assert case.turns[0].expect["numbers"] == [{"value": 5}]

"""Period phrases of metrics.md, with every expected range worked out on a calendar by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.periods import ALL_TIME, Period, PeriodError, find_period, parse_period

D = date.fromisoformat

# Sunday 15 November 2026: Monday of its week is the 9th; Q4 started 1 October.
SUN = D("2026-11-15")

BASIC = [
    ("today", "2026-11-15", "2026-11-15", "today"),
    ("yesterday", "2026-11-14", "2026-11-14", "yesterday"),
    ("this week", "2026-11-09", "2026-11-15", "this week"),  # Monday 9th to today
    ("last week", "2026-11-02", "2026-11-08", "last week"),  # previous Monday to Sunday
    ("this month", "2026-11-01", "2026-11-15", "this month"),
    ("last month", "2026-10-01", "2026-10-31", "last month"),
    ("this quarter", "2026-10-01", "2026-11-15", "this quarter"),
    ("last quarter", "2026-07-01", "2026-09-30", "last quarter"),
    ("this year", "2026-01-01", "2026-11-15", "this year"),
    ("last year", "2025-01-01", "2025-12-31", "last year"),
    ("last 7 days", "2026-11-09", "2026-11-15", "last 7 days"),  # 15 − 7 + 1 = 9
    ("past 7 days", "2026-11-09", "2026-11-15", "last 7 days"),
    ("last 1 day", "2026-11-15", "2026-11-15", "last 1 day"),
    # 15 − 30 + 1 = −14 → 31 October − 14 = 17 October
    ("past 30 days", "2026-10-17", "2026-11-15", "last 30 days"),
    ("last seven days", "2026-11-09", "2026-11-15", "last 7 days"),
    ("last 2 weeks", "2026-11-02", "2026-11-15", "last 2 weeks"),  # 14 days: 15 − 13 = 2
    ("past week", "2026-11-09", "2026-11-15", "last 7 days"),
    # 3 months back is 15 August; the window starts the day after
    ("last 3 months", "2026-08-16", "2026-11-15", "last 3 months"),
    ("in March", "2026-03-01", "2026-03-31", "March 2026"),
    ("March", "2026-03-01", "2026-03-31", "March 2026"),
    ("in March 2026", "2026-03-01", "2026-03-31", "March 2026"),
    ("march 2026", "2026-03-01", "2026-03-31", "March 2026"),
    ("MARCH    2026", "2026-03-01", "2026-03-31", "March 2026"),
    ("Sept", "2026-09-01", "2026-09-30", "September 2026"),
    ("jan 2025", "2025-01-01", "2025-01-31", "January 2025"),
    ("March last year", "2025-03-01", "2025-03-31", "March 2025"),
    # December has not started in 2026 yet: the most recent December is 2025's
    ("December", "2025-12-01", "2025-12-31", "December 2025"),
    # the current month is clipped to today and says so
    ("November", "2026-11-01", "2026-11-15", "November 2026 to date"),
    ("Q3", "2026-07-01", "2026-09-30", "Q3 2026"),
    ("Q3 2026", "2026-07-01", "2026-09-30", "Q3 2026"),
    ("q1 2025", "2025-01-01", "2025-03-31", "Q1 2025"),
    ("Q4", "2026-10-01", "2026-11-15", "Q4 2026 to date"),
    ("2026-Q2", "2026-04-01", "2026-06-30", "Q2 2026"),
    ("third quarter of last year", "2025-07-01", "2025-09-30", "Q3 2025"),
    ("since 2026-05-01", "2026-05-01", "2026-11-15", "since 2026-05-01"),
    ("since last month", "2026-10-01", "2026-11-15", "since last month"),
    ("since March", "2026-03-01", "2026-11-15", "since March 2026"),
    (
        "between 2026-01-01 and 2026-03-31",
        "2026-01-01",
        "2026-03-31",
        "2026-01-01 to 2026-03-31",
    ),
    ("from 2026-01-01 to 2026-03-31", "2026-01-01", "2026-03-31", "2026-01-01 to 2026-03-31"),
    ("2026-05-03", "2026-05-03", "2026-05-03", "2026-05-03"),
    ("2026-03", "2026-03-01", "2026-03-31", "March 2026"),
    ("2025", "2025-01-01", "2025-12-31", "2025"),
    ("2026", "2026-01-01", "2026-11-15", "2026 to date"),
    ("ytd", "2026-01-01", "2026-11-15", "this year"),
    ("month to date", "2026-11-01", "2026-11-15", "this month"),
    ("  for LAST   Month please ", "2026-10-01", "2026-10-31", "last month"),
]


@pytest.mark.parametrize(("phrase", "start", "end", "label"), BASIC)
def test_phrases_on_a_sunday_in_november(phrase: str, start: str, end: str, label: str) -> None:
    assert parse_period(phrase, SUN) == Period(D(start), D(end), label)


@pytest.mark.parametrize("phrase", [None, "", "   ", "all time", "All-Time", "all"])
def test_no_period_means_all_time(phrase: str | None) -> None:
    assert parse_period(phrase, SUN) == ALL_TIME


# Edges: (today, phrase, start, end). Weekdays: 2026-01-01 Thu, 2026-03-31 Tue,
# 2026-12-31 Thu, 2026-11-16 Mon, 2028-02-29 Tue (a leap day).
EDGES = [
    # New Year's Day: every "last" reaches into 2025, every "this" is one day long
    ("2026-01-01", "yesterday", "2025-12-31", "2025-12-31"),
    ("2026-01-01", "this week", "2025-12-29", "2026-01-01"),  # Monday 29 December
    ("2026-01-01", "last week", "2025-12-22", "2025-12-28"),
    ("2026-01-01", "this month", "2026-01-01", "2026-01-01"),
    ("2026-01-01", "last month", "2025-12-01", "2025-12-31"),
    ("2026-01-01", "this quarter", "2026-01-01", "2026-01-01"),
    ("2026-01-01", "last quarter", "2025-10-01", "2025-12-31"),
    ("2026-01-01", "this year", "2026-01-01", "2026-01-01"),
    ("2026-01-01", "last year", "2025-01-01", "2025-12-31"),
    ("2026-01-01", "last 7 days", "2025-12-26", "2026-01-01"),  # 1 Jan − 6 days
    ("2026-01-01", "December", "2025-12-01", "2025-12-31"),
    ("2026-01-01", "January", "2026-01-01", "2026-01-01"),
    ("2026-01-01", "Q4", "2025-10-01", "2025-12-31"),
    ("2026-01-01", "Q1", "2026-01-01", "2026-01-01"),
    # 31 March: the month and the quarter end today
    ("2026-03-31", "this month", "2026-03-01", "2026-03-31"),
    ("2026-03-31", "last month", "2026-02-01", "2026-02-28"),
    ("2026-03-31", "this quarter", "2026-01-01", "2026-03-31"),
    ("2026-03-31", "last quarter", "2025-10-01", "2025-12-31"),
    ("2026-03-31", "this week", "2026-03-30", "2026-03-31"),
    ("2026-03-31", "last week", "2026-03-23", "2026-03-29"),
    # one month back from 31 March is 28 February (clamped); the window starts 1 March
    ("2026-03-31", "last 1 month", "2026-03-01", "2026-03-31"),
    ("2026-03-31", "March", "2026-03-01", "2026-03-31"),
    # New Year's Eve
    ("2026-12-31", "this quarter", "2026-10-01", "2026-12-31"),
    ("2026-12-31", "last quarter", "2026-07-01", "2026-09-30"),
    ("2026-12-31", "this year", "2026-01-01", "2026-12-31"),
    ("2026-12-31", "December", "2026-12-01", "2026-12-31"),
    ("2026-12-31", "this week", "2026-12-28", "2026-12-31"),
    ("2026-12-31", "last week", "2026-12-21", "2026-12-27"),
    # a Monday: this week is just today, last week the seven days before
    ("2026-11-16", "this week", "2026-11-16", "2026-11-16"),
    ("2026-11-16", "last week", "2026-11-09", "2026-11-15"),
    # leap day 2028
    ("2028-02-29", "last year", "2027-01-01", "2027-12-31"),
    ("2028-02-29", "yesterday", "2028-02-28", "2028-02-28"),
    ("2028-02-29", "this month", "2028-02-01", "2028-02-29"),
    ("2028-02-29", "last month", "2028-01-01", "2028-01-31"),
    ("2028-02-29", "February", "2028-02-01", "2028-02-29"),
    ("2028-02-29", "Q1", "2028-01-01", "2028-02-29"),
    # 12 months back is 29 Feb 2027, which does not exist: 28 Feb 2027, so from 1 March
    ("2028-02-29", "last 12 months", "2027-03-01", "2028-02-29"),
    # 1 Mar 2027 .. 29 Feb 2028 is 366 days (it holds 29 Feb), so 365 days start on 2 March
    ("2028-02-29", "last 365 days", "2027-03-02", "2028-02-29"),
]


@pytest.mark.parametrize(("today", "phrase", "start", "end"), EDGES)
def test_calendar_edges(today: str, phrase: str, start: str, end: str) -> None:
    period = parse_period(phrase, D(today))
    assert (period.start, period.end) == (D(start), D(end))


def test_current_month_clipped_only_when_it_runs_past_today() -> None:
    assert parse_period("January", D("2026-01-01")).label == "January 2026 to date"
    assert parse_period("March", D("2026-03-31")).label == "March 2026"  # ends today: whole


@pytest.mark.parametrize(
    ("phrase", "problem"),
    [
        ("whenever", "not a period"),
        ("last 0 days", "empty period"),
        ("last 99999999 days", "before the calendar starts"),
        ("last 99999 years", "before the calendar starts"),
        ("between 2026-03-31 and 2026-01-01", "is before"),
        ("2026-02-30", "not a valid date"),
        ("Q1 2027", "has not started yet"),
        ("December 2026", "has not started yet"),
        ("since 2026-12-01", "starts after today"),
    ],
)
def test_unknown_or_impossible_phrases_raise_with_examples(phrase: str, problem: str) -> None:
    with pytest.raises(PeriodError) as err:
        parse_period(phrase, SUN)
    assert problem in str(err.value)
    assert "last month" in str(err.value) and "Q3 2026" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_describe_gives_label_and_dates() -> None:
    assert parse_period("last month", SUN).describe() == "last month (2026-10-01 to 2026-10-31)"
    assert parse_period("November", SUN).describe() == (
        "November 2026 to date (2026-11-01 to 2026-11-15)"
    )
    assert parse_period("today", SUN).describe() == "today (2026-11-15)"
    # a label that already is the dates is not repeated
    assert parse_period("between 2026-01-01 and 2026-03-31", SUN).describe() == (
        "2026-01-01 to 2026-03-31"
    )
    assert parse_period("2026-05-03", SUN).describe() == "2026-05-03"
    assert ALL_TIME.describe() == "all time"


def test_bounds_and_contains() -> None:
    march = parse_period("March 2026", SUN)
    assert march.datetime_bounds() == (datetime(2026, 3, 1), datetime(2026, 4, 1))
    assert march.contains(D("2026-03-31")) and not march.contains(D("2026-04-01"))
    assert ALL_TIME.datetime_bounds() == (None, None) and ALL_TIME.contains(D("1999-01-01"))


# --- finding a period inside a question -------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "phrase", "start", "end"),
    [
        (
            "Which channel generated the most revenue this month?",
            "this month",
            "2026-11-01",
            "2026-11-15",
        ),
        ("leads created in May", "in May", "2026-05-01", "2026-05-31"),
        ("May 2026 revenue per partner", "May 2026", "2026-05-01", "2026-05-31"),
        ("revenue in 2025 by channel", "in 2025", "2025-01-01", "2025-12-31"),
        ("what happened in the last 30 days?", "in the last 30 days", "2026-10-17", "2026-11-15"),
        ("compare Q3 with last quarter", "Q3", "2026-07-01", "2026-09-30"),
        ("rewards since March please", "since March", "2026-03-01", "2026-11-15"),
        ("leads from jan", "from jan", "2026-01-01", "2026-01-31"),
        ("Show rewards approved in March but not paid", "in March", "2026-03-01", "2026-03-31"),
        ("stuck leads since 2026-05-01?", "since 2026-05-01", "2026-05-01", "2026-11-15"),
    ],
)
def test_find_period_in_questions(question: str, phrase: str, start: str, end: str) -> None:
    found = find_period(question, SUN)
    assert found is not None
    period, (lo, hi) = found
    assert question[lo:hi] == phrase
    assert (period.start, period.end) == (D(start), D(end))


@pytest.mark.parametrize(
    "question",
    [
        "Where are leads getting stuck?",
        "you may see more leads from Atlas",  # "may" the verb
        "Jan said the deals above 2000 are fine",  # a name and an amount
        "show all channels",
        "have we ever paid Beacon?",
        "what happened in Q5?",
    ],
)
def test_find_period_ignores_lookalikes(question: str) -> None:
    assert find_period(question, SUN) is None


def test_find_period_reports_impossible_periods() -> None:
    with pytest.raises(PeriodError, match="has not started yet"):
        find_period("revenue in December 2026", SUN)

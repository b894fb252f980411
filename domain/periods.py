"""Periods: closed date ranges and the phrases of metrics.md that name them.

`parse_period` turns a phrase the user (or a tool argument) gave into a `Period`;
`find_period` spots the first such phrase inside a free-text question, for the offline planner.
Both read the same table of patterns, so a phrase means the same thing everywhere.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class Period:
    """A closed range of dates `[start, end]`; both None means all time."""

    start: date | None
    end: date | None
    label: str

    @property
    def is_all_time(self) -> bool:
        return self.start is None and self.end is None

    def datetime_bounds(self) -> tuple[datetime | None, datetime | None]:
        """Half-open `[start 00:00, end+1 00:00)` bounds for filtering timestamps."""
        lo = datetime.combine(self.start, time.min) if self.start else None
        hi = datetime.combine(self.end + timedelta(days=1), time.min) if self.end else None
        return lo, hi

    def contains(self, day: date) -> bool:
        """Whether `day` falls inside the closed range (open ends are unbounded)."""
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def describe(self) -> str:
        """Human wording used in answers: the label plus the exact dates."""
        if self.is_all_time:
            return "all time"
        if self.start == self.end:
            day = self.start.isoformat()  # type: ignore[union-attr]
            return self.label if self.label == day else f"{self.label} ({day})"
        start = self.start.isoformat() if self.start else "the beginning"
        end = self.end.isoformat() if self.end else "today"
        dates = f"{start} to {end}"
        # A label that already is the date range ("2026-01-01 to 2026-03-31") is not repeated.
        return self.label if self.label == dates else f"{self.label} ({dates})"


ALL_TIME = Period(None, None, "all time")

EXAMPLES = (
    "today",
    "yesterday",
    "this week",
    "last week",
    "this month",
    "last month",
    "this quarter",
    "last quarter",
    "this year",
    "last year",
    "last 30 days",
    "in March",
    "March 2026",
    "Q3 2026",
    "2025",
    "since 2026-05-01",
    "between 2026-01-01 and 2026-03-31",
    "2026-05-03",
    "all time",
)


class PeriodError(ValueError):
    """A phrase that names no period (or an impossible one); the message shows what works."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem} Try one of: {', '.join(EXAMPLES)}.")
        self.problem = problem


# --- calendar arithmetic -------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def _quarter_range(year: int, quarter: int) -> tuple[date, date]:
    first_month = 3 * (quarter - 1) + 1
    return date(year, first_month, 1), _month_end(year, first_month + 2)


def _shift_months(day: date, months: int) -> date:
    """The same day `months` later (negative: earlier), clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _named(start: date, end: date, label: str, today: date) -> Period:
    """A named calendar range (month, quarter, year): refused if it has not started yet,
    clipped to today (and labelled "to date") while it is still running."""
    if start > today:
        raise PeriodError(f"{label} has not started yet (today is {today.isoformat()}).")
    if end > today:
        return Period(start, today, f"{label} to date")
    return Period(start, end, label)


def _date(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise PeriodError(f"{year}-{month}-{day} is not a valid date.") from exc


# --- vocabulary ------------------------------------------------------------------------------

MONTHS: dict[str, int] = {}
for _number, _name in enumerate(calendar.month_name[1:], start=1):
    MONTHS[_name.lower()] = _number
    MONTHS[_name.lower()[:3]] = _number
MONTHS["sept"] = 9

# Month words that are also ordinary words or names ("you may", "Jan"): inside a question they
# count only after a preposition ("in may") or before a year ("may 2026").
_AMBIGUOUS_MONTHS = {word for word in MONTHS if len(word) <= 4} - {"june", "july"}

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}

ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
}

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUMBER_RE = r"\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_YEAR_RE = r"(?:19|20)\d{2}|(?:last|previous|this|current)\s+year"
# An optional lead-in ("in", "during the", "since") is part of the phrase, so the planner can cut
# it out of the question; "since" turns any period into "its start to today".
_PREP_RE = r"(?:\b(?P<prep>in|during|for|over|since|of|from|throughout|within|on)\s+)?(?:\bthe\s+)?"
# After these, a bare year or an ambiguous month word reads as a date even inside a question.
_DATE_PREPS = {"in", "during", "for", "of", "since", "throughout", "from", "on"}


@dataclass(frozen=True)
class _Context:
    today: date
    strict: bool  # True inside free text: ambiguous words need a preposition or a year


Builder = Callable[[re.Match[str], _Context], Period | None]


def _year_value(text: str | None, today: date) -> int | None:
    if text is None:
        return None
    words = text.lower().split()
    if words[0].isdigit():
        return int(words[0])
    return today.year - 1 if words[0] in ("last", "previous") else today.year


def _has_date_prep(m: re.Match[str]) -> bool:
    prep = m.group("prep")
    return prep is not None and prep.lower() in _DATE_PREPS


# --- builders, one per kind of phrase -----------------------------------------------------------

_BARE_ALL_TIME = {"all", "ever", "overall"}


def _all_time(m: re.Match[str], ctx: _Context) -> Period | None:
    word = m.group("word").lower()
    # "all" alone reads as "all time" only when it is the whole phrase, never in a question
    # ("all channels", "have we ever").
    if word in _BARE_ALL_TIME and (ctx.strict or m.string.strip().lower() != word):
        return None
    return ALL_TIME


def _range(m: re.Match[str], ctx: _Context) -> Period | None:
    start = _date(m.group("y1"), m.group("m1"), m.group("d1"))
    end = _date(m.group("y2"), m.group("m2"), m.group("d2"))
    if end < start:
        raise PeriodError(f"{end.isoformat()} is before {start.isoformat()}.")
    return Period(start, end, f"{start.isoformat()} to {end.isoformat()}")


def _iso_date(m: re.Match[str], ctx: _Context) -> Period | None:
    day = _date(m.group("y1"), m.group("m1"), m.group("d1"))
    return Period(day, day, day.isoformat())


def _iso_month(m: re.Match[str], ctx: _Context) -> Period | None:
    year, month = int(m.group("y")), int(m.group("m"))
    if not 1 <= month <= 12:
        return None
    start = date(year, month, 1)
    return _named(start, _month_end(year, month), start.strftime("%B %Y"), ctx.today)


def _day(m: re.Match[str], ctx: _Context) -> Period | None:
    if m.group("word").lower() == "today":
        return Period(ctx.today, ctx.today, "today")
    day = ctx.today - timedelta(days=1)
    return Period(day, day, "yesterday")


_UNIT_LETTERS = {"w": "week", "m": "month", "q": "quarter", "y": "year"}


def _this(m: re.Match[str], ctx: _Context) -> Period | None:
    """`this week|month|quarter|year` (also "month to date", "ytd"): its start to today."""
    unit = _UNIT_LETTERS[(m.group("unit") or m.group("todate") or m.group("abbr"))[0].lower()]
    today = ctx.today
    starts = {
        "week": _week_start(today),
        "month": today.replace(day=1),
        "quarter": _quarter_range(today.year, _quarter_of(today))[0],
        "year": date(today.year, 1, 1),
    }
    return Period(starts[unit], today, f"this {unit}")


def _last(m: re.Match[str], ctx: _Context) -> Period | None:
    """`last week|month|quarter|year`: the whole previous calendar unit."""
    unit = m.group("unit").lower()
    today = ctx.today
    if unit == "week":
        start = _week_start(today) - timedelta(days=7)
        return Period(start, start + timedelta(days=6), "last week")
    if unit == "month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end, "last month")
    if unit == "quarter":
        start, _ = _quarter_range(today.year, _quarter_of(today))
        prev_end = start - timedelta(days=1)
        return Period(*_quarter_range(prev_end.year, _quarter_of(prev_end)), "last quarter")
    return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year")


def _rolling(m: re.Match[str], ctx: _Context) -> Period | None:
    """`last N days|weeks|months|quarters|years` (and "past week"): a window ending today.

    N days is today−N+1..today; N months starts the day after the same date N months back."""
    raw = m.group("n")
    unit = m.group("unit").lower().rstrip("s")
    if raw is None:  # "past week" = last 7 days, "past month" = last 1 month
        n, unit = (7, "day") if unit == "week" else (1, unit)
    else:
        n = int(raw) if raw.isdigit() else NUMBER_WORDS[raw.lower()]
    if n < 1:
        raise PeriodError(f"'{m.group(0).strip()}' is an empty period.")
    today = ctx.today
    label = f"last {n} {unit}{'' if n == 1 else 's'}"
    try:
        if unit in ("day", "week"):
            days = n * (7 if unit == "week" else 1)
            return Period(today - timedelta(days=days - 1), today, label)
        months = n * {"month": 1, "quarter": 3, "year": 12}[unit]
        return Period(_shift_months(today, -months) + timedelta(days=1), today, label)
    except (OverflowError, ValueError) as exc:
        raise PeriodError(f"'{label}' reaches back before the calendar starts.") from exc


def _month(m: re.Match[str], ctx: _Context) -> Period | None:
    word = m.group("month").lower()
    year = _year_value(m.group("year"), ctx.today)
    if ctx.strict and year is None and not _has_date_prep(m) and word in _AMBIGUOUS_MONTHS:
        return None
    month = MONTHS[word]
    if year is None:  # the most recent such month that has started
        year = ctx.today.year if month <= ctx.today.month else ctx.today.year - 1
    start = date(year, month, 1)
    return _named(start, _month_end(year, month), start.strftime("%B %Y"), ctx.today)


def _quarter(m: re.Match[str], ctx: _Context) -> Period | None:
    """Quarters in three spellings: "Q3 2026", "2026-Q3", "third quarter of last year"."""
    q_text = m.group("qa") or m.group("qb") or m.group("qord")
    quarter = int(q_text) if q_text.isdigit() else ORDINALS[q_text.lower()]
    year = _year_value(m.group("year_first") or m.group("year"), ctx.today)
    if year is None:  # the most recent such quarter that has started
        year = ctx.today.year if quarter <= _quarter_of(ctx.today) else ctx.today.year - 1
    start, end = _quarter_range(year, quarter)
    return _named(start, end, f"Q{quarter} {year}", ctx.today)


def _year(m: re.Match[str], ctx: _Context) -> Period | None:
    if ctx.strict and not _has_date_prep(m) and not m.group("yearword"):
        return None  # "deals above 2000": a bare number inside a question is not a year
    year = int(m.group("y"))
    return _named(date(year, 1, 1), date(year, 12, 31), str(year), ctx.today)


def _iso(n: str) -> str:
    return rf"(?P<y{n}>\d{{4}})-(?P<m{n}>\d{{1,2}})-(?P<d{n}>\d{{1,2}})"


_RANGE_SEP = r"(?:\s+(?:and|to|until|till|through|thru|-)\s+|\s*(?:\.\.|–|—)\s*)"
_QUARTER_RE = (
    r"\b(?:(?P<year_first>(?:19|20)\d{2})\s*[-/]?\s*q(?P<qa>[1-4])|q(?P<qb>[1-4])"
    r"|(?P<qord>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter)"
    rf"(?:\s*,?\s+(?:of\s+)?(?P<year>{_YEAR_RE}))?\b"
)
_MONTH_NAME_RE = rf"\b(?P<month>{_MONTH_RE})\b\.?(?:\s*,?\s+(?:of\s+)?(?P<year>{_YEAR_RE})\b)?"

# (regex, builder, whether a leading "since" turns the period into "its start to today")
_PATTERNS: tuple[tuple[re.Pattern[str], Builder, bool], ...] = tuple(
    (re.compile(regex, re.IGNORECASE), builder, since_ok)
    for regex, builder, since_ok in (
        (r"\b(?P<word>all[\s-]+time|all|ever|overall|lifetime)\b", _all_time, False),
        (
            rf"(?:\b(?:between|from)\s+)?(?<![\d-]){_iso('1')}{_RANGE_SEP}{_iso('2')}(?![\d-])",
            _range,
            False,
        ),
        (rf"{_PREP_RE}(?<![\d-]){_iso('1')}(?![\d-])", _iso_date, True),
        (rf"{_PREP_RE}(?<![\d-])(?P<y>\d{{4}})-(?P<m>\d{{1,2}})(?![\d-])", _iso_month, True),
        (rf"{_PREP_RE}\b(?P<word>today|yesterday)\b", _day, True),
        (
            rf"{_PREP_RE}\b(?:(?:this|current)\s+(?P<unit>week|month|quarter|year)"
            r"|(?P<todate>week|month|quarter|year)[\s-]+to[\s-]+date|(?P<abbr>[wmqy])td)\b",
            _this,
            True,
        ),
        (
            rf"{_PREP_RE}\b(?:last|previous|prior)\s+(?P<unit>week|month|quarter|year)\b",
            _last,
            True,
        ),
        (
            rf"{_PREP_RE}\b(?:(?:last|past|previous|trailing)\s+(?P<n>{_NUMBER_RE})"
            r"|past|trailing)\s+(?P<unit>days?|weeks?|months?|quarters?|years?)\b",
            _rolling,
            True,
        ),
        (_PREP_RE + _QUARTER_RE, _quarter, True),
        (_PREP_RE + _MONTH_NAME_RE, _month, True),
        (
            rf"{_PREP_RE}(?:\b(?P<yearword>year)\s+)?(?<![\w-])(?P<y>(?:19|20)\d{{2}})(?![\w-])",
            _year,
            True,
        ),
    )
)


def _scan(text: str, ctx: _Context) -> tuple[Period, tuple[int, int]] | None:
    """The earliest phrase in `text` (the longest one when two start together).

    An impossible phrase ("Q4 2030") raises only if it is the one chosen, so a later typo
    does not spoil an earlier, valid period."""
    best: tuple[int, int, Period | PeriodError] | None = None
    for pattern, builder, since_ok in _PATTERNS:
        for m in pattern.finditer(text):
            found: Period | PeriodError | None
            try:
                found = builder(m, ctx)
                prep = m.groupdict().get("prep")
                if found is not None and since_ok and prep and prep.lower() == "since":
                    found = _since(found, ctx.today)
            except PeriodError as exc:
                found = exc
            if found is None:
                continue
            start, end = m.span()
            if best is None or (start, -end) < (best[0], -best[1]):
                best = (start, end, found)
            break  # later matches of this pattern start later still
    if best is None:
        return None
    start, end, result = best
    if isinstance(result, PeriodError):
        raise result
    return result, (start, end)


def _since(period: Period, today: date) -> Period:
    """`since X`: from the start of X to today."""
    if period.start is None or period.start > today:
        raise PeriodError(f"'since {period.label}' starts after today ({today.isoformat()}).")
    label = period.label.removesuffix(" to date")
    return Period(period.start, today, f"since {label}")


def find_period(text: str, today: date) -> tuple[Period, tuple[int, int]] | None:
    """The first period phrase inside a free-text question, with its character span.

    Ambiguous words need context here: "may" and month abbreviations count only after a
    preposition or before a year, a bare year only after a preposition ("in 2025"), and
    "all"/"ever" never (they read as "all channels", "have we ever")."""
    return _scan(text, _Context(today, strict=True))


def parse_period(phrase: str | None, today: date) -> Period:
    """The period a phrase names; None, empty or "all time" mean all time.

    Case and extra words are tolerated ("for last month please"); a phrase naming no period
    raises `PeriodError`, whose message lists phrases that work."""
    if phrase is None or not phrase.strip():
        return ALL_TIME
    found = _scan(phrase, _Context(today, strict=False))
    if found is None:
        raise PeriodError(f"'{phrase.strip()}' is not a period I understand.")
    return found[0]

"""Periods: closed date ranges and the phrases of metrics.md that name them."""

from __future__ import annotations

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

    def describe(self) -> str:
        """Human wording used in answers: the label plus the exact dates."""
        if self.is_all_time:
            return "all time"
        if self.start == self.end:
            return f"{self.label} ({self.start.isoformat()})"  # type: ignore[union-attr]
        start = self.start.isoformat() if self.start else "the beginning"
        end = self.end.isoformat() if self.end else "today"
        return f"{self.label} ({start} to {end})"


ALL_TIME = Period(None, None, "all time")

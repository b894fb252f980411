"""What `today` is: pinned by KEEN_TODAY (or a caller), else the real date in the org's zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.settings import get_settings


def today(timezone: str = "UTC", pinned: date | None = None) -> date:
    if pinned is not None:
        return pinned
    settings_today = get_settings().keen_today
    if settings_today is not None:
        return settings_today
    return datetime.now(ZoneInfo(timezone)).date()

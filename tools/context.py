"""The runtime context every tool reads its scope from (never from a tool argument)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class KeenContext:
    """Who asks, for which organization, on which day, from which page and surface."""

    org_id: int
    org_slug: str
    today: date
    user: str = "cli"
    role: str = "admin"
    surface: str = "cli"
    channel_id: str | None = None  # page context: the channel the user is looking at
    thread_id: str | None = None
    can_act: bool = True  # the credential may make changes (an API key's `actions` scope)

"""What the planner knows of an organization's vocabulary: names, statuses, owners, properties.

Loaded once per organization and data version (names change only when data is loaded), so
understanding a question costs no more than a few dictionary and fuzzy-match look-ups.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from sqlalchemy import distinct, func, select

from domain.db import get_engine, session_scope
from domain.models import Lead, PipelineStatus
from domain.names import find_mentions, names_version


@dataclass
class Mentions:
    channels: list[tuple[str, str]] = field(default_factory=list)
    partners: list[tuple[str, str]] = field(default_factory=list)
    ambiguous: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class Catalog:
    org_id: int
    statuses: list[str]
    owners: list[str]
    properties: dict[str, list[str]]  # custom property name → a sample of its values
    name_words: set[str]

    def mentions(self, text: str) -> Mentions:
        with session_scope(get_engine()) as session:
            found = find_mentions(session, self.org_id, text)
        result = Mentions()
        for m in found:
            if m.candidates:
                result.ambiguous.append((m.text, [c.name for c in m.candidates]))
            elif m.kind == "channel":
                result.channels.append((m.ext_id, m.name))
            else:
                result.partners.append((m.ext_id, m.name))
        return result

    def statuses_in(self, text: str) -> list[str]:
        lowered = text.lower()
        return [
            s
            for s in sorted(self.statuses, key=len, reverse=True)
            if re.search(rf"\b{re.escape(s.lower())}\b", lowered)
            and s.lower() not in {"won", "lost"}
        ]

    def owner_in(self, text: str) -> str | None:
        lowered = text.lower()
        for owner in self.owners:
            first = owner.split()[0].lower()
            if re.search(rf"\b(?:owned by|owner|assigned to|for|of)\s+{re.escape(first)}\b", lowered):
                return owner
        return None

    def property_in(self, text: str) -> tuple[str, str] | None:
        lowered = text.lower()
        for name, values in self.properties.items():
            for value in values:
                if len(value) > 2 and re.search(rf"\b{re.escape(value.lower())}\b", lowered):
                    return name, value
        return None

    def is_name_token(self, token: str) -> bool:
        return token.lower() in self.name_words


_cache: dict[tuple[int, int], Catalog] = {}
_lock = threading.Lock()


def catalog_for(org_id: int) -> Catalog:
    key = (org_id, names_version(org_id))
    with _lock:
        if key in _cache:
            return _cache[key]
    with session_scope(get_engine()) as session:
        statuses = list(
            session.scalars(select(distinct(PipelineStatus.name)).where(PipelineStatus.org_id == org_id))
        )
        owners = [
            o
            for o in session.scalars(
                select(distinct(Lead.owner)).where(Lead.org_id == org_id, Lead.owner.is_not(None)).limit(200)
            )
            if o
        ]
        properties = _property_samples(session, org_id)
    cat = Catalog(org_id, statuses, owners, properties, set())
    with _lock:
        _cache[key] = cat
    return cat


def _property_samples(session, org_id: int) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Distinct values of each custom property over a sample of recent leads."""
    rows = session.scalars(
        select(Lead.properties).where(Lead.org_id == org_id).order_by(Lead.id.desc()).limit(2000)
    )
    values: dict[str, set[str]] = {}
    for props in rows:
        for name, value in (props or {}).items():
            if value and len(values.setdefault(name, set())) < 50:
                values[name].add(str(value))
    _ = func
    return {k: sorted(v) for k, v in values.items()}

"""What the planner knows of an organization's vocabulary: names, statuses, owners, properties.

Loaded once per organization and data version (names change only when data is loaded), so
understanding a question costs no more than a few dictionary and fuzzy-match look-ups.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from domain.db import get_engine, session_scope
from domain.models import Channel, Lead, Partner, PipelineStatus, Reward, RewardReport
from domain.names import find_channel_mentions


@dataclass
class Mentions:
    channels: list[tuple[str, str]] = field(default_factory=list)
    partners: list[tuple[str, str]] = field(default_factory=list)
    ambiguous: list[tuple[str, list[str]]] = field(default_factory=list)


NO_OWNER_WORDS = re.compile(
    r"\b(?:no|without an?|missing an?|lacking an?) owners?\b|\bunassigned\b|\bunowned\b|"
    r"\bnot (?:yet )?assigned\b|\bnobody owns\b|\bno one owns\b|\bowned by (?:nobody|no one)\b"
)


@dataclass
class Catalog:
    org_id: int
    statuses: list[str]
    owners: list[str]
    sources: list[str]
    names: list[str]  # channel and partner names
    properties: dict[str, list[str]]  # custom property name → a sample of its values

    def mentions(self, text: str) -> Mentions:
        with session_scope(get_engine()) as session:
            found = find_channel_mentions(session, self.org_id, text)
        by_span: dict[tuple[int, int], list[Any]] = {}
        for m in found:
            by_span.setdefault(m.span, []).append(m)
        result = Mentions()
        for group in by_span.values():
            if any(m.entity.kind == "channel" for m in group):
                group = [m for m in group if m.entity.kind == "channel"]  # a channel's own name
            for kind, target in (("channel", result.channels), ("partner", result.partners)):
                same = [m for m in group if m.entity.kind == kind]
                if len(same) > 1:
                    result.ambiguous.append((same[0].text, [m.entity.name for m in same]))
                elif same:
                    target.append((same[0].entity.ext_id, same[0].entity.name))
        return result

    def record_ids(self, tokens: list[str]) -> dict[str, str]:
        """Which of `tokens` are ids of this organization's leads, rewards or reward reports."""
        if not tokens:
            return {}
        found: dict[str, str] = {}
        with session_scope(get_engine()) as session:
            for kind, model in (("report", RewardReport), ("reward", Reward), ("lead", Lead)):
                stmt = select(model.ext_id).where(
                    model.org_id == self.org_id, model.ext_id.in_(tokens)
                )
                for ext_id in session.scalars(stmt):
                    found.setdefault(ext_id, kind)
        return found

    def generic_ambiguity(self, question: str, slots: Any) -> tuple[str, list[str]] | None:
        """ "How's the Group doing?": a capitalised word that several names share, alone."""
        if slots.channels or slots.partners:
            return None
        for m in re.finditer(r"\bthe ([A-Z][a-z]{3,})\b", question):
            word = m.group(1)
            names = [n for n in self.names if re.search(rf"\b{word}\b", n)]
            if len(names) > 1:
                return word, sorted(set(names))
        return None

    def source_in(self, text: str) -> str | None:
        """A lead source named in the question ("came from events", "webinar leads")."""
        lowered = text.lower()
        for source in sorted(self.sources, key=len, reverse=True):
            if re.search(rf"\b{re.escape(source.lower())}s?\b", lowered):
                return source
        return None

    def statuses_in(self, text: str) -> list[str]:
        lowered = text.lower()
        exact = self._statuses_exact(lowered)
        if exact:
            return exact
        # a status by its distinctive first word: "a proposal out" → Proposal sent
        found = []
        for status in self.statuses:
            first = status.split()[0].lower()
            if (
                len(first) >= 4
                and first not in GENERIC_STATUS_WORDS
                and re.search(rf"\b{re.escape(first)}s?\b", lowered)
            ):
                found.append(status)
        return found

    def _statuses_exact(self, lowered: str) -> list[str]:
        return [
            s
            for s in sorted(self.statuses, key=len, reverse=True)
            if re.search(rf"\b{re.escape(s.lower())}\b", lowered)
            and s.lower() not in {"won", "lost"}
        ]

    def owner_in(self, text: str) -> str | None:
        lowered = text.lower()
        if NO_OWNER_WORDS.search(lowered):
            return "none"
        for owner in self.owners:
            if re.search(rf"\b{re.escape(owner.lower())}\b", lowered):
                return owner
        for owner in self.owners:
            first = re.escape(owner.split()[0].lower())
            if re.search(
                rf"\b(?:owned by|owner|assigned to|for|of)\s+{first}\b|\b{first}'s\b", lowered
            ):
                return owner
        return None

    def property_in(self, text: str) -> tuple[str, str] | None:
        """A custom property value named in a question about leads ("fintech leads")."""
        lowered = text.lower()
        if not re.search(r"\b(?:leads?|compan(?:y|ies)|customers?|prospects?)\b", lowered):
            return None
        for name, values in self.properties.items():
            for value in values:
                pattern = rf"(?<![\w]){re.escape(value.lower())}(?![\w+])"
                if len(value) > 2 and re.search(pattern, lowered):
                    return name, value
        return None


GENERIC_STATUS_WORDS = frozenset({"new", "open", "closed", "won", "lost", "in", "lead", "leads"})
CATALOG_TTL_S = 60.0  # other processes' loads are seen within this; this process's at once
_cache: dict[int, tuple[float, Catalog]] = {}
_lock = threading.Lock()


def invalidate_catalog(org_id: int | None = None) -> None:
    with _lock:
        if org_id is None:
            _cache.clear()
        else:
            _cache.pop(org_id, None)


def catalog_for(org_id: int) -> Catalog:
    with _lock:
        cached = _cache.get(org_id)
        if cached and time.monotonic() - cached[0] < CATALOG_TTL_S:
            return cached[1]
    with session_scope(get_engine()) as session:
        statuses = list(
            session.scalars(
                select(PipelineStatus.name).where(PipelineStatus.org_id == org_id).distinct()
            )
        )
        owners = [
            o
            for o in session.scalars(
                select(Lead.owner)
                .where(Lead.org_id == org_id, Lead.owner.is_not(None))
                .distinct()
                .limit(200)
            )
            if o
        ]
        sources = [
            src
            for src in session.scalars(
                select(Lead.source)
                .where(Lead.org_id == org_id, Lead.source.is_not(None))
                .distinct()
                .limit(100)
            )
            if src
        ]
        properties = _property_samples(session, org_id)
        names = list(session.scalars(select(Channel.name).where(Channel.org_id == org_id)))
        names += list(session.scalars(select(Partner.name).where(Partner.org_id == org_id)))
    cat = Catalog(org_id, statuses, owners, sources, names, properties)
    with _lock:
        _cache[org_id] = (time.monotonic(), cat)
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
    return {k: sorted(v) for k, v in values.items()}

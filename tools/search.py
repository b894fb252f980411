"""The semantic search tool: lead notes, partner notes or the guide's actions, by meaning.

The index (`domain.semantic.index.SemanticIndex`) is kept in step with the database by the
loaders; should an organization's collection be empty when first searched in this process (a
database loaded before search existed, a fresh data folder), it is built here once.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from langchain.tools import ToolRuntime
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import Channel, Lead, Partner, PipelineStatus
from domain.semantic.index import Hit, SemanticIndex
from domain.settings import get_settings
from tools.common import (
    Pair,
    ToolProblem,
    channel_arg,
    context_of,
    keen_tool,
    period_arg,
    session,
    status_arg,
)
from tools.context import KeenContext
from tools.envelope import Table, result

Kind = Literal["leads", "partners", "playbook"]
DOC_KIND = {"leads": "lead", "partners": "partner", "playbook": "playbook"}
DEFAULT_HITS = 10
MAX_HITS = 50

_lock = threading.Lock()
_indexes: dict[tuple[str, str | None, str], SemanticIndex] = {}
_ready: set[tuple[tuple[str, str | None, str], int, str]] = set()


def semantic_index() -> SemanticIndex:
    """One index per data folder / Chroma server / embedding backend, shared by the process."""
    settings = get_settings()
    key = (str(settings.keen_data_dir), settings.chroma_url, settings.keen_embeddings)
    with _lock:
        if key not in _indexes:
            _indexes[key] = SemanticIndex()
        return _indexes[key]


def _ensure_indexed(idx: SemanticIndex, s: Session, org_id: int, kind: str) -> None:
    """Build the organization's documents of `kind` if they are missing (once per process)."""
    key = ((str(idx.path), idx.url, idx.backend), org_id, kind)
    if key in _ready:
        return
    with _lock:
        if key in _ready:
            return
        if idx.count(org_id, kind) == 0:
            if kind == "playbook":
                idx.index_playbook(org_id)
            else:  # only this kind: partner notes must not wait for a million lead notes
                idx.rebuild(s, org_id, kinds=(kind,))
        _ready.add(key)


def _lead_facts(s: Session, org_id: int, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """Current company, channel and status of the leads found (the index may lag a move)."""
    if not ids:
        return {}
    stmt = (
        select(Lead.ext_id, Lead.company_name, Channel.name, PipelineStatus.name)
        .join(Channel, Channel.id == Lead.channel_id)
        .join(PipelineStatus, PipelineStatus.id == Lead.status_id)
        .where(Lead.org_id == org_id, Lead.ext_id.in_(ids))
    )
    return {
        ext_id: (company, channel, status) for ext_id, company, channel, status in s.execute(stmt)
    }


def _partner_of(s: Session, channel_id: int) -> str | None:
    stmt = select(Partner.ext_id).join(Channel, Channel.partner_id == Partner.id)
    return s.scalar(stmt.where(Channel.id == channel_id))


def _row(hit: Hit, facts: dict[str, tuple[Any, ...]]) -> list[Any] | None:
    score = round(hit.score, 3)
    if hit.kind == "lead":
        if hit.ext_id not in facts:  # deleted since it was indexed
            return None
        company, channel, status = facts[hit.ext_id]
        return ["lead", hit.ext_id, company, channel, status, hit.text, score]
    if hit.kind == "partner":
        return ["partner", hit.ext_id, hit.metadata.get("name"), None, None, hit.text, score]
    action = hit.text.removeprefix(f"{hit.ext_id}: ")
    return ["playbook", hit.ext_id, hit.ext_id, None, None, action, score]


@keen_tool
def search_notes(
    query: str,
    kind: Kind = "leads",
    channel: str | None = None,
    status: str | None = None,
    period: str | None = None,
    limit: int = DEFAULT_HITS,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """Find by meaning: lead notes (e.g. "evaluating Salesforce", "budget concerns"), partner
    notes, or the guide's recommended actions ("playbook"). Best match first.

    Args:
        query: What to look for, in plain words.
        kind: Which texts to search.
        channel: Channel name or id ("this" for the page's); for partners, its partner.
        status: Only leads now in this status.
        period: Only leads created in this period, e.g. "this year"; omit for all time.
        limit: How many matches.
    """
    ctx = context_of(runtime)
    if not query or not query.strip():
        raise ToolProblem("Give the words to search for.")
    when = period_arg(ctx, period)
    k = max(1, min(int(limit), MAX_HITS))
    doc_kind = DOC_KIND[kind]
    with session() as s:
        ch = channel_arg(s, ctx, channel)
        status_name = status_arg(s, ctx, status, ch.id if ch else None)
        partner_ext = _partner_of(s, ch.id) if ch and doc_kind == "partner" else None
        idx = semantic_index()
        _ensure_indexed(idx, s, ctx.org_id, doc_kind)
    hits = idx.search(
        ctx.org_id,
        query.strip(),
        kinds=(doc_kind,),
        channel_ids=[ch.id] if ch else None,
        statuses=[status_name] if status_name else None,
        created_from=when.start,
        created_to=when.end,
        k=k if partner_ext is None else MAX_HITS,
    )
    if partner_ext is not None:
        hits = [h for h in hits if h.ext_id == partner_ext]
    lead_ids = [h.ext_id for h in hits if h.kind == "lead"]
    with session() as s:
        facts = _lead_facts(s, ctx.org_id, lead_ids)
    rows = [row for hit in hits if (row := _row(hit, facts)) is not None][:k]
    answer = {"count": len(rows), "query": query.strip(), "kind": kind}
    table = Table(
        "Closest notes" if kind != "playbook" else "Closest actions",
        ["kind", "id", "name", "channel", "status", "snippet", "score"],
        rows,
    )
    return result(answer, [table], when.describe(), limit=k)

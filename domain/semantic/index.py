"""Semantic search over lead notes, partner notes and the playbook, in Chroma.

One collection per organization and kind of document (lead notes, partner notes, playbook), so
no query can see another organization's notes and an unfiltered lead search needs no metadata
filter at all (a `where` over 10,000 documents costs Chroma 100+ ms, the vector search a few).
Lead documents carry the metadata the filters need (channel, status, creation day); every
document carries a hash of its embedded text, so a rebuild re-embeds only texts that changed and
merely rewrites metadata that changed (a status move): reloading a dataset is cheap.

The store is embedded (`KEEN_DATA_DIR/chroma`) or, when `CHROMA_URL` is set, a Chroma server.
chromadb takes seconds to import, so it is imported on first use; our embedding function is
registered before any collection is opened (and at import time when chromadb is already loaded).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.models import Channel, Lead, Partner, PipelineStatus
from domain.settings import get_settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from domain.semantic.chroma_ef import KeenEmbeddingFunction

KINDS = ("lead", "partner", "playbook")
SQL_BATCH = 500  # rows read, embedded and written at a time
SNIPPET_CHARS = 300
_HASH_KEY = "text_hash"

Metadata = dict[str, str | int | float | bool]


def _chromadb() -> Any:
    """chromadb, with `KeenEmbeddingFunction` registered before anything can open a collection."""
    import chromadb

    import domain.semantic.chroma_ef  # noqa: F401  (registers on import)

    return chromadb


if "chromadb" in sys.modules:  # already paid for: register now, as the import promises
    _chromadb()


@dataclass(frozen=True)
class Hit:
    """One search result; `score` is the cosine similarity (1 = same meaning)."""

    kind: str
    ext_id: str  # lead or partner id as the customer knows it; the problem key for playbook
    text: str  # the start of the document
    score: float
    metadata: dict[str, Any]


@dataclass
class SyncStats:
    """What a rebuild or sync did; `embedded` is the expensive part."""

    embedded: int = 0  # new or changed text: embedded and written
    updated: int = 0  # same text, changed metadata (e.g. a status move): no embedding needed
    unchanged: int = 0
    deleted: int = 0

    def add(self, other: SyncStats) -> None:
        self.embedded += other.embedded
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted


@dataclass(frozen=True)
class _Doc:
    id: str
    text: str
    metadata: Metadata = field(default_factory=dict)


def _ymd(value: date | datetime) -> int:
    """A date as the integer yyyymmdd, so Chroma can compare it with $gte / $lte."""
    return value.year * 10000 + value.month * 100 + value.day


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


# --- documents from the database ------------------------------------------------------------


def _lead_docs(
    session: Session, org_id: int, lead_ids: Sequence[int] | None = None
) -> Iterator[list[_Doc]]:
    """Leads that have notes, in batches by primary key (keyset pagination)."""
    stmt = (
        select(
            Lead.id,
            Lead.ext_id,
            Lead.notes,
            Lead.company_name,
            Lead.status_kind,
            Lead.created_at,
            Channel.id,
            Channel.ext_id,
            PipelineStatus.name,
        )
        .join(Channel, Channel.id == Lead.channel_id)
        .join(PipelineStatus, PipelineStatus.id == Lead.status_id)
        .where(Lead.org_id == org_id, Lead.notes.is_not(None), func.trim(Lead.notes) != "")
        .order_by(Lead.id)
        .limit(SQL_BATCH)
    )
    if lead_ids is not None:
        stmt = stmt.where(Lead.id.in_(list(lead_ids)))
    last = 0
    while rows := session.execute(stmt.where(Lead.id > last)).all():
        last = rows[-1][0]
        yield [_lead_doc(*row) for row in rows]


def _lead_doc(
    pk: int,
    ext_id: str,
    notes: str | None,
    company: str | None,
    status_kind: str,
    created: datetime,
    channel_pk: int,
    channel_ext: str,
    status: str,
) -> _Doc:
    return _Doc(
        id=f"lead:{ext_id}",
        text=(notes or "").strip(),
        metadata={
            "kind": "lead",
            "ext_id": ext_id,
            "lead_pk": pk,
            "company_name": company or "",  # Chroma metadata cannot hold None
            "channel_id": channel_pk,
            "channel_ext_id": channel_ext,
            "status": status,
            "status_key": status.lower(),
            "status_kind": status_kind,
            "created_ymd": _ymd(created),
        },
    )


def _partner_docs(session: Session, org_id: int) -> Iterator[list[_Doc]]:
    stmt = (
        select(Partner.id, Partner.ext_id, Partner.name, Partner.notes)
        .where(Partner.org_id == org_id, Partner.notes.is_not(None), func.trim(Partner.notes) != "")
        .order_by(Partner.id)
        .limit(SQL_BATCH)
    )
    last = 0
    while rows := session.execute(stmt.where(Partner.id > last)).all():
        last = rows[-1][0]
        yield [
            _Doc(
                id=f"partner:{ext_id}",
                text=(notes or "").strip(),
                metadata={"kind": "partner", "ext_id": ext_id, "partner_pk": pk, "name": name},
            )
            for pk, ext_id, name, notes in rows
        ]


def _playbook_docs(playbook: Mapping[str, Sequence[str]]) -> list[_Doc]:
    """One document per action, prefixed with its problem so questions about the problem
    ("our conversion is low") find the actions too."""
    return [
        _Doc(
            id=f"playbook:{problem}:{position}",
            text=f"{problem}: {action}",
            metadata={"kind": "playbook", "ext_id": problem, "position": position},
        )
        for problem, actions in playbook.items()
        for position, action in enumerate(actions, start=1)
    ]


# --- filters --------------------------------------------------------------------------------


def _lead_where(
    channel_ids: Sequence[int] | None,
    statuses: Sequence[str] | None,
    created_from: date | None,
    created_to: date | None,
) -> dict[str, Any] | None:
    """The Chroma `where` for lead documents, or None when nothing is filtered."""
    conditions: list[dict[str, Any]] = []
    if channel_ids:
        conditions.append({"channel_id": {"$in": [int(c) for c in channel_ids]}})
    if statuses:
        conditions.append({"status_key": {"$in": [s.strip().lower() for s in statuses]}})
    if created_from is not None:
        conditions.append({"created_ymd": {"$gte": _ymd(created_from)}})
    if created_to is not None:
        conditions.append({"created_ymd": {"$lte": _ymd(created_to)}})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


# --- the index ------------------------------------------------------------------------------


class SemanticIndex:
    """Per-organization Chroma collections of notes, kept in step with the database."""

    def __init__(
        self, path: Path | None = None, url: str | None = None, backend: str | None = None
    ) -> None:
        settings = get_settings()
        self.url = url if url is not None else settings.chroma_url
        self.path = path or settings.keen_data_dir / "chroma"
        self.backend = (backend or settings.keen_embeddings).strip().lower()
        self._lock = threading.Lock()
        self._client_obj: ClientAPI | None = None
        self._ef_obj: KeenEmbeddingFunction | None = None
        self._collections: dict[tuple[int, str], Collection] = {}

    # connections

    def _client(self) -> ClientAPI:
        if self._client_obj is None:
            with self._lock:
                if self._client_obj is None:
                    self._client_obj = self._connect()
        return self._client_obj

    def _connect(self) -> ClientAPI:
        chromadb = _chromadb()
        from chromadb.config import Settings as ChromaSettings

        from domain.semantic.chroma_ef import KeenEmbeddingFunction

        self._ef_obj = KeenEmbeddingFunction(self.backend)
        quiet = ChromaSettings(anonymized_telemetry=False)
        if self.url:
            parts = urlsplit(self.url)
            ssl = parts.scheme == "https"
            return chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if ssl else 8000),
                ssl=ssl,
                settings=quiet,
            )
        self.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.path), settings=quiet)

    def collection_name(self, org_id: int, kind: str) -> str:
        """Other backends get their own collections: their vectors are not comparable."""
        suffix = "" if self.backend == "local" else f"_{self.backend}"
        return f"keen_org_{org_id}_{kind}{suffix}"

    def _collection(self, org_id: int, kind: str) -> Collection:
        col = self._collections.get((org_id, kind))
        if col is None:
            client = self._client()
            # Always our embedding function: Chroma's default one would download a model.
            col = client.get_or_create_collection(
                self.collection_name(org_id, kind),
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=self._ef_obj,  # type: ignore[arg-type]
            )
            self._collections[(org_id, kind)] = col
        return col

    def _embed(self, texts: list[str]) -> Any:
        assert self._ef_obj is not None  # set by _connect
        return self._ef_obj.embedder().embed(texts)

    # writing

    def _write(self, col: Collection, docs: list[_Doc]) -> SyncStats:
        """Upsert what changed: new text is embedded, metadata-only changes are not."""
        stats = SyncStats()
        if not docs:
            return stats
        found = col.get(ids=[d.id for d in docs], include=["metadatas"])
        known = dict(zip(found["ids"], found["metadatas"] or [], strict=True))
        fresh: list[tuple[_Doc, Metadata]] = []
        moved: list[tuple[_Doc, Metadata]] = []
        for doc in docs:
            meta: Metadata = {**doc.metadata, _HASH_KEY: _text_hash(doc.text)}
            old = known.get(doc.id)
            if old is None or old.get(_HASH_KEY) != meta[_HASH_KEY]:
                fresh.append((doc, meta))
            elif dict(old) != meta:
                moved.append((doc, meta))
            else:
                stats.unchanged += 1
        if fresh:
            col.upsert(
                ids=[d.id for d, _ in fresh],
                embeddings=self._embed([d.text for d, _ in fresh]),
                documents=[d.text for d, _ in fresh],
                metadatas=[m for _, m in fresh],  # type: ignore[misc]
            )
            stats.embedded = len(fresh)
        if moved:
            col.update(ids=[d.id for d, _ in moved], metadatas=[m for _, m in moved])  # type: ignore[misc]
            stats.updated = len(moved)
        return stats

    def _write_all(
        self, col: Collection, batches: Iterable[list[_Doc]], stale: set[str]
    ) -> SyncStats:
        """Write every batch, then delete the `stale` ids that no batch mentioned."""
        stats = SyncStats()
        for docs in batches:
            stale.difference_update(d.id for d in docs)
            stats.add(self._write(col, docs))
        ids = sorted(stale)
        for start in range(0, len(ids), SQL_BATCH):
            col.delete(ids=ids[start : start + SQL_BATCH])
        stats.deleted = len(ids)
        return stats

    def _ids(self, col: Collection) -> set[str]:
        ids: set[str] = set()
        while True:
            page = col.get(include=[], limit=5000, offset=len(ids))
            ids.update(page["ids"])
            if len(page["ids"]) < 5000:
                return ids

    def _replace(self, org_id: int, kind: str, batches: Iterable[list[_Doc]]) -> SyncStats:
        """Make the kind's collection hold exactly these documents."""
        col = self._collection(org_id, kind)
        return self._write_all(col, batches, self._ids(col))

    def rebuild(
        self, session: Session, org_id: int, kinds: Iterable[str] = ("lead", "partner")
    ) -> SyncStats:
        """Bring the organization's lead and/or partner notes in line with the database."""
        stats = SyncStats()
        if "lead" in kinds:
            stats.add(self._replace(org_id, "lead", _lead_docs(session, org_id)))
        if "partner" in kinds:
            stats.add(self._replace(org_id, "partner", _partner_docs(session, org_id)))
        return stats

    def sync_leads(self, session: Session, org_id: int, lead_ids: Iterable[int]) -> SyncStats:
        """Re-read these leads (internal ids) after a change; leads that are gone or have lost
        their notes leave the index."""
        wanted = sorted(set(lead_ids))
        col = self._collection(org_id, "lead")
        stats = SyncStats()
        for start in range(0, len(wanted), SQL_BATCH):
            chunk = wanted[start : start + SQL_BATCH]
            seen: set[int] = set()
            for docs in _lead_docs(session, org_id, chunk):
                seen.update(int(d.metadata["lead_pk"]) for d in docs)
                stats.add(self._write(col, docs))
            gone = [pk for pk in chunk if pk not in seen]
            if gone:
                where: Any = {"lead_pk": {"$in": gone}}
                stats.deleted += len(col.get(where=where, include=[])["ids"])
                col.delete(where=where)
        return stats

    def index_playbook(
        self, org_id: int, playbook: Mapping[str, Sequence[str]] | None = None
    ) -> SyncStats:
        """Index the guide's actions (`domain.patterns.PLAYBOOK` unless one is given)."""
        if playbook is None:
            from domain.patterns import PLAYBOOK

            playbook = PLAYBOOK
        return self._replace(org_id, "playbook", [_playbook_docs(playbook)])

    # reading

    def count(self, org_id: int, kind: str | None = None) -> int:
        kinds = KINDS if kind is None else (kind,)
        return sum(self._collection(org_id, k).count() for k in kinds)

    def search(
        self,
        org_id: int,
        query: str,
        kinds: Sequence[str] = ("lead",),
        channel_ids: Sequence[int] | None = None,
        statuses: Sequence[str] | None = None,
        created_from: date | None = None,
        created_to: date | None = None,
        k: int = 10,
    ) -> list[Hit]:
        """The `k` documents closest in meaning to `query`, best first, across `kinds`.

        `channel_ids` are internal channel ids, `statuses` status names (any case) and the
        creation dates inclusive; these filters apply to lead documents only.
        """
        kinds = (kinds,) if isinstance(kinds, str) else tuple(dict.fromkeys(kinds))
        unknown = [kind for kind in kinds if kind not in KINDS]
        if unknown:
            raise ValueError(f"unknown document kind(s) {unknown}; known: {list(KINDS)}")
        if not query.strip() or k <= 0 or not kinds:
            return []
        lead_where = _lead_where(channel_ids, statuses, created_from, created_to)
        vector = None
        hits: list[Hit] = []
        for kind in kinds:
            col = self._collection(org_id, kind)
            if col.count() == 0:
                continue
            if vector is None:  # embedded once, and only if there is anything to compare with
                vector = self._embed([query])
            found = col.query(
                query_embeddings=vector,
                n_results=k,
                where=lead_where if kind == "lead" else None,
                include=["documents", "metadatas", "distances"],
            )
            hits.extend(_hits(found))
        # Cosine similarities of one model compare across collections.
        return sorted(hits, key=lambda hit: -hit.score)[:k]


def _hits(found: Any) -> Iterator[Hit]:
    for text, meta, distance in zip(
        found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True
    ):
        yield Hit(
            kind=str(meta["kind"]),
            ext_id=str(meta["ext_id"]),
            text=_snippet(text or ""),
            score=1.0 - float(distance),
            metadata={key: value for key, value in meta.items() if key != _HASH_KEY},
        )

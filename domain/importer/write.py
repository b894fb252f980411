"""Writing a dataset's event stream into one organization, inside the caller's transaction.

Files arrive parents first; after each file whose ids are referenced, one query maps its
ext_ids to primary keys, and reference columns of later files are translated with it a whole
column at a time. Rows absent from the folder are left alone: every write is an upsert by id
(a plain insert when the organization is new and nothing can conflict).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, exists, select, update

from domain.importer.bulk import BulkWriter
from domain.importer.files import (
    CHANNELS,
    FILES,
    FORM_FIELDS,
    HISTORY,
    INTEGRATIONS,
    LEADS,
    PARTNERS,
    PURCHASES,
    REPORTS,
    REWARDS,
    TRIGGERS,
    USERS,
)
from domain.importer.pipelines import Pipeline
from domain.importer.problems import DatasetInvalid, DatasetProblem
from domain.importer.properties import properties_json
from domain.importer.rows import TypedChunk
from domain.importer.stream import Event, FileDone, FileStarted, PipelinesReady, RowsRead
from domain.models import (
    Channel,
    Integration,
    Lead,
    LeadFormField,
    LeadStatusChange,
    Partner,
    PipelineStatus,
    Purchase,
    Reward,
    RewardReport,
    RewardTrigger,
    StaffUser,
)

Progress = Callable[[str, int, int], None]
Ids = Mapping[str, int]
BY_EXT_ID = ("org_id", "ext_id")

_STATUSES: Table = PipelineStatus.__table__  # type: ignore[assignment]
_LEADS: Table = Lead.__table__  # type: ignore[assignment]
_USERS: Table = StaffUser.__table__  # type: ignore[assignment]
_SPECS = {spec.name: spec for spec in FILES}


@dataclass(frozen=True)
class _Target:
    """Where a file's rows go and how they are matched on a reload."""

    model: type[Any]
    key: tuple[str, ...] = BY_EXT_ID
    referenced: bool = False  # later files reference its ids
    upsert: bool = False  # match rows even in a new organization

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[no-any-return]


_TARGETS = {
    PARTNERS.name: _Target(Partner, referenced=True),
    CHANNELS.name: _Target(Channel, referenced=True),
    LEADS.name: _Target(Lead, referenced=True),
    # A repeated history event may span chunks of the stream: the last one wins.
    HISTORY.name: _Target(LeadStatusChange, ("lead_id", "to_status", "changed_at"), upsert=True),
    TRIGGERS.name: _Target(RewardTrigger, referenced=True),
    PURCHASES.name: _Target(Purchase),
    REPORTS.name: _Target(RewardReport, referenced=True),
    REWARDS.name: _Target(Reward),
    INTEGRATIONS.name: _Target(Integration),
    FORM_FIELDS.name: _Target(LeadFormField, ("channel_id", "field")),
    USERS.name: _Target(StaffUser),
}


class DatasetWriter:
    """Consumes the events of one dataset and writes them into organization `org_id`."""

    def __init__(
        self,
        conn: Connection,
        org_id: int,
        *,
        fresh: bool,
        progress: Progress | None = None,
        check_keys: Callable[[Iterable[str]], None] = lambda tables: None,
    ) -> None:
        """`check_keys(tables)` is called once each table is written (see
        bulk.foreign_keys_checked_once)."""
        self.conn = conn
        self.check_keys = check_keys
        self.org_id = org_id
        self.bulk = BulkWriter(conn, fresh=fresh)
        self.progress = progress
        self.counts: dict[str, int] = {}  # rows read per file, in contract order
        self.ids: dict[str, dict[str, int]] = {}
        self.pipelines: dict[str, Pipeline] = {}
        self.statuses: dict[tuple[int, str], int] = {}  # (channel key, name_key) -> key
        self._expected: dict[str, int] = {}
        self._written: dict[str, int] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, RowsRead):
            self._rows(event.name, event.chunk)
        elif isinstance(event, FileStarted):
            self._started(event.name, event.estimated_rows)
        elif isinstance(event, FileDone):
            self._done(event.name, event.rows)
        elif isinstance(event, PipelinesReady):
            self._materialise(event.pipelines)

    def close(self) -> None:
        self.bulk.close()

    # -- files ------------------------------------------------------------------------------

    def _started(self, name: str, expected: int) -> None:
        self._expected[name], self._written[name] = expected, 0
        target = _TARGETS.get(name)
        if target is not None:
            self.bulk.begin_table(target.table)
        self._report(name, 0, expected)

    def _rows(self, name: str, chunk: TypedChunk) -> None:
        target = _TARGETS.get(name)
        if target is None:
            return  # pipeline.csv: written as each channel's statuses
        spec = _SPECS[name]
        refs = {column.key: column.ref for column in spec.refs}
        columns: dict[str, Any] = {}
        for field in spec.fields:
            ref = refs.get(field)
            columns[field] = (
                chunk[field] if ref is None else _translate(chunk[field], self.ids[ref])
            )
        if spec.extras_field:
            columns[spec.extras_field] = properties_json(chunk.extras, len(chunk))
        if spec is LEADS:
            columns["status_id"] = self._status_ids(chunk)
            del columns["status"]
        elif spec is USERS:
            self._check_emails(chunk)
        columns["org_id"] = [self.org_id] * len(chunk)
        self.bulk.write(target.table, columns, target.key, upsert=target.upsert)
        written = self._written[name] = self._written[name] + len(chunk)
        self._report(name, written, max(written, self._expected[name]))

    def _done(self, name: str, rows: int) -> None:
        self.counts[name] = rows
        target = _TARGETS.get(name)
        if target is not None:
            self.bulk.end_table(target.table)
            self.check_keys([target.table.name])
            if target.referenced:
                self.ids[name] = self.bulk.ids(target.table, self.org_id)
        if name == LEADS.name:
            self._prune_statuses()
        self._report(name, rows, rows)

    def _report(self, name: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(name, done, total)

    # -- pipelines and statuses -------------------------------------------------------------

    def _materialise(self, pipelines: dict[str, Pipeline]) -> None:
        """Write each channel's pipeline as its statuses (is_first on the lowest position).

        When a reload changes a status's kind, leads outside the folder that sit in it get the
        new kind too, so that `status_kind` never disagrees with the status.
        """
        self.pipelines = pipelines
        channels = self.ids[CHANNELS.name]
        before = self._statuses()
        names = ("org_id", "channel_id", "name", "name_key", "kind", "position", "is_first")
        columns: dict[str, list[Any]] = {name: [] for name in names}
        for channel, pipeline in pipelines.items():
            for n, step in enumerate(pipeline.steps):
                row = (self.org_id, channels[channel], step.name, step.name.lower(), step.kind)
                for name, value in zip(names, (*row, step.position, n == 0), strict=True):
                    columns[name].append(value)
        self.bulk.write(_STATUSES, columns, ("channel_id", "name_key"), upsert=True)
        after = self._statuses()
        for status_key, (status_id, kind) in after.items():
            old = before.get(status_key)
            if old is not None and old[1] != kind:
                self.conn.execute(
                    update(_LEADS)
                    .where(_LEADS.c.org_id == self.org_id, _LEADS.c.status_id == status_id)
                    .values(status_kind=kind)
                )
        self.statuses = {status_key: status_id for status_key, (status_id, _) in after.items()}
        self.check_keys([_STATUSES.name])

    def _status_ids(self, chunk: TypedChunk) -> list[int]:
        channels = self.ids[CHANNELS.name]
        pairs = list(zip(chunk["channel_id"], chunk["status"], strict=True))
        keys = {
            (channel, status): self.statuses[(channels[channel], status.lower())]
            for channel, status in set(pairs)
        }
        return list(map(keys.__getitem__, pairs))

    def _prune_statuses(self) -> None:
        """A status a reload dropped from a channel's pipeline is deleted; one still held by a
        lead outside the folder is kept (not as the first status) so that lead stays valid."""
        channels = self.ids[CHANNELS.name]
        loaded = {
            channels[channel]: {step.name.lower() for step in pipeline.steps}
            for channel, pipeline in self.pipelines.items()
        }
        stale = [
            status_id
            for (channel, name_key), (status_id, _) in self._statuses().items()
            if channel in loaded and name_key not in loaded[channel]
        ]
        if not stale:
            return
        in_use = exists().where(_LEADS.c.status_id == _STATUSES.c.id)
        self.conn.execute(delete(_STATUSES).where(_STATUSES.c.id.in_(stale), ~in_use))
        self.conn.execute(update(_STATUSES).where(_STATUSES.c.id.in_(stale)).values(is_first=False))

    def _statuses(self) -> dict[tuple[int, str], tuple[int, str]]:
        """(channel key, name_key) -> (status key, kind) for the organization."""
        query = select(
            _STATUSES.c.channel_id, _STATUSES.c.name_key, _STATUSES.c.id, _STATUSES.c.kind
        ).where(_STATUSES.c.org_id == self.org_id)
        return {(c, k): (i, kind) for c, k, i, kind in self.conn.execute(query)}

    # -- users --------------------------------------------------------------------------------

    def _check_emails(self, chunk: TypedChunk) -> None:
        """The one conflict only the database can show: an email held by another user of the
        organization. The caller's transaction then rolls back."""
        query = select(_USERS.c.email, _USERS.c.ext_id).where(_USERS.c.org_id == self.org_id)
        holders = {email: ext_id for email, ext_id in self.conn.execute(query)}
        rows = zip(chunk.lines, chunk["ext_id"], chunk["email"], strict=True)
        problems = [
            DatasetProblem(USERS.name, line, "email", f"already used by user {holders[email]!r}")
            for line, ext_id, email in rows
            if holders.get(email, ext_id) != ext_id
        ]
        if problems:
            raise DatasetInvalid(problems)


def _translate(values: list[Any], ids: Ids) -> list[Any]:
    """ext_ids to keys (the checks guarantee each is known); empty references stay None."""
    if None in values:
        return [None if value is None else ids[value] for value in values]
    return list(map(ids.__getitem__, values))

"""Writing a valid dataset into one organization, inside the caller's transaction.

Files are written parents first; after each file with ids, one query maps its ext_ids to
primary keys for the files that reference it, and reference columns are translated with it a
whole column at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, exists, select, update

from domain.importer.bulk import BulkWriter, Progress
from domain.importer.files import (
    CHANNELS,
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
    FileSpec,
)
from domain.importer.problems import DatasetInvalid, DatasetProblem
from domain.importer.validate import Dataset
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

BY_EXT_ID = ("org_id", "ext_id")
Ids = Mapping[str, int]

_STATUSES: Table = PipelineStatus.__table__  # type: ignore[assignment]
_LEADS: Table = Lead.__table__  # type: ignore[assignment]


def write_dataset(
    conn: Connection,
    org_id: int,
    data: Dataset,
    *,
    fresh: bool,
    progress: Progress | None = None,
) -> None:
    """Upsert every file of `data` into organization `org_id` (rows absent are left alone).

    Raises DatasetInvalid for the one conflict only the database can show (a user's email
    held by another user of the organization); the caller's transaction then rolls back.
    """
    writer = _Writer(conn, org_id, data, BulkWriter(conn, fresh=fresh, progress=progress))
    partners = writer.file(PARTNERS, Partner, {}, referenced=True)
    channels = writer.file(CHANNELS, Channel, {"partner_id": partners}, referenced=True)
    statuses = writer.pipelines(channels)
    leads = writer.leads(channels, statuses)
    writer.prune_statuses(channels)
    history_key = ("lead_id", "to_status", "changed_at")
    writer.file(HISTORY, LeadStatusChange, {"lead_id": leads}, history_key)
    triggers = writer.file(TRIGGERS, RewardTrigger, {"channel_id": channels}, referenced=True)
    writer.file(PURCHASES, Purchase, {"lead_id": leads})
    reports = writer.file(REPORTS, RewardReport, {"channel_id": channels}, referenced=True)
    writer.file(
        REWARDS,
        Reward,
        {"channel_id": channels, "lead_id": leads, "trigger_id": triggers, "report_id": reports},
    )
    writer.file(INTEGRATIONS, Integration, {"channel_id": channels})
    writer.file(FORM_FIELDS, LeadFormField, {"channel_id": channels}, ("channel_id", "field"))
    writer.check_user_emails()
    writer.file(USERS, StaffUser, {})


class _Writer:
    def __init__(self, conn: Connection, org_id: int, data: Dataset, bulk: BulkWriter) -> None:
        self.conn = conn
        self.org_id = org_id
        self.data = data
        self.bulk = bulk

    def file(
        self,
        spec: FileSpec,
        model: type[Any],
        refs: Mapping[str, Ids | list[int]],
        key: Sequence[str] = BY_EXT_ID,
        rename: Mapping[str, str] | None = None,
        referenced: bool = False,
    ) -> dict[str, int]:
        """Upsert one file's rows; returns ext_id -> key when later files reference them.

        `refs` translates reference columns (ext_id -> key); a list in it is the column's
        already translated values.
        """
        table: Table = model.__table__
        typed = self.data.get(spec)
        if typed is not None:
            rename = rename or {}
            columns: dict[str, Sequence[Any]] = {}
            for field in spec.fields:
                target = refs.get(field)
                values = typed[field]
                if isinstance(target, list):
                    values = target
                elif target is not None:
                    values = _translate(values, target)
                columns[rename.get(field, field)] = values
            columns["org_id"] = [self.org_id] * len(typed)
            self.bulk.upsert(spec.name, table, columns, key)
        return self.bulk.ids(table, self.org_id) if referenced else {}

    def pipelines(self, channels: Ids) -> dict[tuple[int, str], int]:
        """Materialise each channel's pipeline; returns (channel key, name_key) -> status key.

        When a reload changes a status's kind, leads outside the folder that sit in it get
        the new kind too, so `status_kind` never disagrees with the status.
        """
        before = self._statuses()
        columns: dict[str, list[Any]] = {
            name: []
            for name in ("org_id", "channel_id", "name", "name_key", "kind", "position", "is_first")
        }
        for channel, pipeline in self.data.pipelines.items():
            for n, step in enumerate(pipeline.steps):
                for name, value in (
                    ("org_id", self.org_id),
                    ("channel_id", channels[channel]),
                    ("name", step.name),
                    ("name_key", step.name.lower()),
                    ("kind", step.kind),
                    ("position", step.position),
                    ("is_first", n == 0),
                ):
                    columns[name].append(value)
        self.bulk.upsert(None, _STATUSES, columns, ("channel_id", "name_key"))
        after = self._statuses()
        for status_key, (status_id, kind) in after.items():
            old = before.get(status_key)
            if old is not None and old[1] != kind:
                self.conn.execute(
                    update(_LEADS)
                    .where(_LEADS.c.org_id == self.org_id, _LEADS.c.status_id == status_id)
                    .values(status_kind=kind)
                )
        return {status_key: status_id for status_key, (status_id, _) in after.items()}

    def leads(self, channels: Ids, statuses: Mapping[tuple[int, str], int]) -> dict[str, int]:
        typed = self.data.get(LEADS)
        assert typed is not None  # a required file
        pairs = list(zip(typed["channel_id"], typed["status"], strict=True))
        status_ids = {
            (channel, status): statuses[(channels[channel], status.lower())]
            for channel, status in set(pairs)
        }
        refs: dict[str, Ids | list[int]] = {
            "channel_id": channels,
            "status": list(map(status_ids.__getitem__, pairs)),
        }
        return self.file(LEADS, Lead, refs, rename={"status": "status_id"}, referenced=True)

    def prune_statuses(self, channels: Ids) -> None:
        """A status a reload dropped from a channel's pipeline is deleted; one still held by a
        lead outside the folder is kept (not as the first status) so that lead stays valid."""
        loaded = {
            channels[channel]: {step.name.lower() for step in pipeline.steps}
            for channel, pipeline in self.data.pipelines.items()
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

    def check_user_emails(self) -> None:
        typed = self.data.get(USERS)
        if typed is None:
            return
        table: Table = StaffUser.__table__  # type: ignore[assignment]
        query = select(table.c.email, table.c.ext_id).where(table.c.org_id == self.org_id)
        holders = {email: ext_id for email, ext_id in self.conn.execute(query)}
        rows = zip(typed.lines, typed["ext_id"], typed["email"], strict=True)
        problems = [
            DatasetProblem(USERS.name, line, "email", f"already used by user {holders[email]!r}")
            for line, ext_id, email in rows
            if holders.get(email, ext_id) != ext_id
        ]
        if problems:
            raise DatasetInvalid(problems)

    def _statuses(self) -> dict[tuple[int, str], tuple[int, str]]:
        """(channel key, name_key) -> (status key, kind) for the organization."""
        query = select(
            _STATUSES.c.channel_id, _STATUSES.c.name_key, _STATUSES.c.id, _STATUSES.c.kind
        ).where(_STATUSES.c.org_id == self.org_id)
        return {(c, k): (i, kind) for c, k, i, kind in self.conn.execute(query)}


def _translate(values: list[Any], ids: Ids) -> list[Any]:
    """ext_ids to keys (validation guarantees each is known); empty references stay None."""
    if None in values:
        return [None if value is None else ids[value] for value in values]
    return list(map(ids.__getitem__, values))

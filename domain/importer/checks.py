"""The checks that need more than one cell, run chunk by chunk as the files are read in order.

Cell-level problems come from `rows`; this module adds duplicate ids, references between files,
statuses against each channel's pipeline, and the rules that tie columns together (a paid
reward needs `paid_at`, a report cannot end before it starts). Files are read parents first,
so every reference points into a file that is already complete. Checks test a whole chunk at
C speed first (set differences, distinct pairs) and walk rows only to name the faulty ones.

References resolve inside the folder only: a dataset is self-contained, so whether it loads
never depends on what an earlier load left in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from domain.enums import RewardStatus, TriggerEvent
from domain.importer.files import (
    CHANNELS,
    FORM_FIELDS,
    HISTORY,
    LEADS,
    PIPELINE,
    REPORTS,
    REWARDS,
    TRIGGERS,
    USERS,
    FileSpec,
)
from domain.importer.pipelines import Pipeline, Step, build_pipelines, spellings
from domain.importer.problems import DatasetProblem, unknown_reference
from domain.importer.rows import TypedChunk

Ids = dict[str, int]  # ext_id -> line of its first row
Pipelines = dict[str, Pipeline] | None  # by channel ext_id; None when they cannot be known
Pair = tuple[Any, Any]  # (channel ext_id, status) as found in a file
Malformed = set[tuple[int, str]]  # (line, column) of cells already reported in the chunk

_OWNED = {LEADS.name, TRIGGERS.name, REPORTS.name}  # rows that belong to a channel
_ENDS_BEFORE = "{end} is before period_start {start}"


class Checker:
    """Checks the files of one dataset; `begin`, `chunk`* and `end` for each file in order."""

    def __init__(self, problems: list[DatasetProblem]) -> None:
        self.problems = problems
        self.ids: dict[str, Ids | None] = {}  # complete files: None when ids are unknowable
        self.channel_of: dict[str, dict[str, str] | None] = {}  # ext_id -> channel, by file
        self.pipelines: Pipelines = None
        self._spellings: dict[str, frozenset[str]] = {}
        # The file being read: see begin().
        self.spec: FileSpec = PIPELINE
        self.present: frozenset[str] | None = None
        self.seen_ids: Ids = {}
        self.seen_keys: dict[tuple[str, ...], int] = {}
        self.channels: dict[str, str] = {}
        self.pipeline_rows: TypedChunk | None = None
        self._rules: dict[str, Callable[[TypedChunk, Malformed], None]] = {
            PIPELINE.name: self._collect_pipeline,
            LEADS.name: self._lead_statuses,
            HISTORY.name: self._history,
            TRIGGERS.name: self._trigger_statuses,
            REPORTS.name: self._report_periods,
            REWARDS.name: self._reward_rules,
            FORM_FIELDS.name: lambda chunk, _: self._unique(chunk, ("channel_id", "field")),
            USERS.name: lambda chunk, _: self._unique(chunk, ("email",), fold_case=True),
        }

    # -- the file being read ----------------------------------------------------------------

    def begin(self, spec: FileSpec, present: frozenset[str] | None) -> None:
        """Start `spec`: `present` is its header's column names, None when the file is
        absent, and empty when it exists but cannot be read (already a problem)."""
        self.spec = spec
        self.present = present
        self.seen_ids = {}
        self.seen_keys = {}
        self.channels = {}
        self.pipeline_rows = None

    def has(self, *columns: str) -> bool:
        return self.present is not None and all(c in self.present for c in columns)

    def chunk(self, chunk: TypedChunk, malformed: Malformed) -> None:
        spec = self.spec
        if spec.has_ids and self.has("id"):
            self._track_ids(chunk)
        for column in spec.refs:
            self._refs(chunk, column.name, column.ref or "")
        if spec.name in _OWNED and self.has("id", "channel_id"):
            self.channels.update(zip(chunk["ext_id"], chunk["channel_id"], strict=True))
        rule = self._rules.get(spec.name)
        if rule is not None:
            rule(chunk, malformed)

    def end(self, complete: bool) -> None:
        """The file is read (`complete`: to its end); its ids now serve later files."""
        spec = self.spec
        if spec.has_ids:
            ids: Ids | None
            if self.present is None:
                ids = None if spec.required else {}  # an absent optional file has no ids
            elif not complete or not self.has("id"):
                ids = None
            else:
                self.seen_ids.pop(None, None)  # type: ignore[call-overload]
                ids = self.seen_ids
            self.ids[spec.name] = ids
            if spec.name in _OWNED:
                absent = self.present is None
                unknowable = ids is None or (not absent and not self.has("channel_id"))
                self.channel_of[spec.name] = None if unknowable else self.channels
        if spec is PIPELINE:
            usable = complete and self.has("status", "kind", "position")
            rows = self.pipeline_rows if self.present is not None else None
            if self.present is not None and rows is None:
                rows = TypedChunk.empty(PIPELINE)
            channels = self.ids.get(CHANNELS.name)
            self.pipelines = build_pipelines(rows, usable, channels, self.problems)
            if self.pipelines is not None:
                self._spellings = spellings(self.pipelines)

    # -- checks shared by the files -------------------------------------------------------

    def _problem(self, line: int, column: str, reason: str) -> None:
        self.problems.append(DatasetProblem(self.spec.name, line, column, reason))

    def _track_ids(self, chunk: TypedChunk) -> None:
        """Remember the chunk's ids, reporting any already seen in this file."""
        ext_ids, lines = chunk["ext_id"], chunk.lines
        fresh = dict(zip(ext_ids, lines, strict=True))
        if len(fresh) == len(ext_ids) and self.seen_ids.keys().isdisjoint(fresh):
            self.seen_ids.update(fresh)
            return
        for ext_id, line in zip(ext_ids, lines, strict=True):
            if ext_id is None:
                continue
            first = self.seen_ids.setdefault(ext_id, line)
            if first != line:
                self._problem(line, "id", f"duplicate id {ext_id!r} (first on line {first})")

    def _refs(self, chunk: TypedChunk, column: str, target: str) -> None:
        targets = self.ids.get(target)
        if targets is None or not self.has(column):
            return
        values = chunk[column]
        unknown = set(values).difference(targets)
        unknown.discard(None)
        if not unknown:
            return
        label = column.removesuffix("_id")
        for line, value in zip(chunk.lines, values, strict=True):
            if value in unknown:
                self._problem(line, column, unknown_reference(label, value, target))

    def _unique(self, chunk: TypedChunk, key: tuple[str, ...], fold_case: bool = False) -> None:
        """Rows must differ on `key` (the id of a file without an id column); the last
        column of the key is the one reported."""
        if not self.has(*key):
            return
        column = key[-1]
        scope = " for this channel" if len(key) > 1 else ""
        shown = chunk[column]
        rows = zip(chunk.lines, shown, zip(*(chunk[k] for k in key), strict=True), strict=True)
        for line, value, values in rows:
            if None in values:
                continue
            if fold_case:
                values = tuple(v.lower() for v in values)
            seen = self.seen_keys.setdefault(values, line)
            if seen != line:
                reason = f"duplicate {column} {value!r}{scope} (first on line {seen})"
                self._problem(line, column, reason)

    def _same_channel(self, chunk: TypedChunk, column: str, owner_file: str) -> None:
        """The row referenced by `column` must belong to the row's own channel (an unknown
        channel on either side is already a problem, so it is not compared)."""
        channel_of = self.channel_of.get(owner_file)
        known = self.ids.get(CHANNELS.name)
        if channel_of is None or known is None or not self.has(column, "channel_id"):
            return
        label = column.removesuffix("_id")
        refs, channels = chunk[column], chunk["channel_id"]
        owners = [None if ref is None else channel_of.get(ref) for ref in refs]
        for line, ref, owner, channel in zip(chunk.lines, refs, owners, channels, strict=True):
            if owner != channel and owner in known and channel in known:
                reason = (
                    f"{label} {ref!r} belongs to channel {owner!r}, "
                    f"not to this row's channel {channel!r}"
                )
                self._problem(line, column, reason)

    # -- rules of single files ------------------------------------------------------------

    def _collect_pipeline(self, chunk: TypedChunk, _: Malformed) -> None:
        """pipeline.csv is small and judged as a whole when it ends."""
        if self.pipeline_rows is None:
            self.pipeline_rows = TypedChunk.empty(PIPELINE)
        self.pipeline_rows.extend(chunk)

    def _lead_statuses(self, chunk: TypedChunk, _: Malformed) -> None:
        """Statuses take their pipeline's spelling and kind; status_changed_at defaults."""
        changed, created = chunk["status_changed_at"], chunk["created_at"]
        if None in changed:
            chunk.values["status_changed_at"] = [
                c if c is not None else made for c, made in zip(changed, created, strict=True)
            ]
        channels, statuses = chunk["channel_id"], chunk["status"]
        pairs = list(zip(channels, statuses, strict=True))
        steps, wrong = _match_pairs(self.pipelines, pairs)
        if wrong:
            for line, pair in zip(chunk.lines, pairs, strict=True):
                if pair in wrong:
                    self._problem(line, "status", _not_in_pipeline(*pair, wrong[pair]))
        chunk.values["status"] = _respelled(statuses, pairs, steps)
        kinds = {pair: None if step is None else step.kind for pair, step in steps.items()}
        chunk.values["status_kind"] = list(map(kinds.__getitem__, pairs))

    def _history(self, chunk: TypedChunk, _: Malformed) -> None:
        """History is lenient about statuses (pipelines change over time): a status that
        matches the lead's pipeline takes its spelling, any other is kept as written.
        (Rows repeating (lead, to_status, changed_at) are one event: the writer upserts by
        that key, so the last row wins.)"""
        lead_channels = self.channel_of.get(LEADS.name)
        if lead_channels is not None and self.pipelines is not None:
            channels: list[str | None] | None = None
            for column in ("from_status", "to_status"):
                values = chunk[column]
                if self._spelled_alike(values):
                    continue
                if channels is None:
                    channels = list(map(lead_channels.get, chunk["lead_id"]))
                pairs = list(zip(channels, values, strict=True))
                steps = _match_pairs(self.pipelines, pairs)[0]
                chunk.values[column] = _respelled(values, pairs, steps)

    def _spelled_alike(self, statuses: list[str | None]) -> bool:
        """Whether every status is already spelled as every pipeline spells it (or is in
        none), so that matching them per channel cannot change one."""
        distinct = set(statuses)
        distinct.discard(None)
        table = self._spellings
        return all(table.get(s.lower(), frozenset((s,))) == {s} for s in distinct)  # type: ignore[union-attr]

    def _trigger_statuses(self, chunk: TypedChunk, _: Malformed) -> None:
        spelled = []
        rows = zip(chunk.lines, chunk["channel_id"], chunk["event"], chunk["status"], strict=True)
        for line, channel, event, status in rows:
            reached = event == TriggerEvent.status_reached
            pipeline = _pipeline_of(self.pipelines, channel)
            step = None if pipeline is None or status is None else pipeline.match(status)
            spelled.append(step.name if step else status)
            if status is None and reached:
                self._problem(line, "status", "required when event is status_reached")
            elif reached and pipeline is not None and step is None:
                self._problem(line, "status", _not_in_pipeline(channel, status, pipeline))
        chunk.values["status"] = spelled

    def _report_periods(self, chunk: TypedChunk, _: Malformed) -> None:
        rows = zip(chunk.lines, chunk["period_start"], chunk["period_end"], strict=True)
        for line, start, end in rows:
            if start is not None and end is not None and end < start:
                reason = _ENDS_BEFORE.format(end=end.isoformat(), start=start.isoformat())
                self._problem(line, "period_end", reason)

    def _reward_rules(self, chunk: TypedChunk, malformed: Malformed) -> None:
        """A reward's lead, trigger and report are of its channel; `approved` needs
        approved_at and `paid` needs paid_at."""
        for column, owner_file in (
            ("lead_id", LEADS.name),
            ("trigger_id", TRIGGERS.name),
            ("report_id", REPORTS.name),
        ):
            self._same_channel(chunk, column, owner_file)
        for status, column in (
            (RewardStatus.approved.value, "approved_at"),
            (RewardStatus.paid.value, "paid_at"),
        ):
            rows = zip(chunk.lines, chunk["status"], chunk[column], strict=True)
            for line, given, at in rows:
                if given == status and at is None and (line, column) not in malformed:
                    self._problem(line, column, f"required when status is {status}")


def _pipeline_of(pipelines: Pipelines, channel: str | None) -> Pipeline | None:
    """The channel's pipeline, or None when either is unknown (already a problem)."""
    if pipelines is None or channel is None:
        return None
    return pipelines.get(channel)


def _match_pairs(
    pipelines: Pipelines, pairs: Iterable[Pair]
) -> tuple[dict[Pair, Step | None], dict[Pair, Pipeline]]:
    """Each distinct (channel, status) matched once: its step (None when it cannot be
    matched), and the pairs whose status is not in the channel's known pipeline."""
    steps: dict[Pair, Step | None] = {}
    wrong: dict[Pair, Pipeline] = {}
    for pair in set(pairs):
        channel, status = pair
        pipeline = _pipeline_of(pipelines, channel)
        if pipeline is None or status is None:
            steps[pair] = None
            continue
        steps[pair] = step = pipeline.match(status)
        if step is None:
            wrong[pair] = pipeline
    return steps, wrong


def _respelled(values: list[Any], pairs: list[Pair], steps: dict[Pair, Step | None]) -> list[Any]:
    """Each status in its pipeline's spelling where it matched (as given where it did not);
    the column itself when every status is already spelled so, which is the usual case."""
    spelled = {pair: pair[1] if step is None else step.name for pair, step in steps.items()}
    if all(pair[1] == name for pair, name in spelled.items()):
        return values
    return list(map(spelled.__getitem__, pairs))


def _not_in_pipeline(channel: str, status: str, pipeline: Pipeline) -> str:
    return (
        f"status {status!r} is not in the pipeline of channel {channel!r} "
        f"(expected one of: {pipeline.names()})"
    )

"""Reading a dataset folder into typed columns, and finding every problem across all its files.

Cell-level problems come from `rows`; this module adds what needs more than one cell: duplicate
ids, references between files, statuses against each channel's pipeline, and the rules that tie
columns together (a paid reward needs `paid_at`, a report cannot end before it starts).
Checks first test a whole column at C speed (set differences, distinct pairs) and walk rows
only to name the faulty ones.

References resolve inside the folder only: a dataset is self-contained, so whether it loads
never depends on what an earlier load left in the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from domain.enums import RewardStatus, TriggerEvent
from domain.importer.files import (
    CHANNELS,
    FILES,
    FORM_FIELDS,
    HISTORY,
    INTEGRATIONS,
    LEADS,
    PARTNERS,
    PIPELINE,
    PURCHASES,
    REPORTS,
    REWARDS,
    TRIGGERS,
    USERS,
    FileSpec,
)
from domain.importer.gcpause import gc_paused
from domain.importer.pipelines import Pipeline, Step, build_pipelines
from domain.importer.problems import DatasetInvalid, DatasetProblem, unknown_reference
from domain.importer.rows import TypedFile, read_typed

Ids = dict[str, int]  # ext_id -> row position in its file
Pipelines = dict[str, Pipeline] | None  # by channel ext_id; None when they cannot be known
_ORDER = {spec.name: i for i, spec in enumerate(FILES)}


@dataclass
class Dataset:
    """A valid dataset: the typed columns of every file present, and each channel's pipeline."""

    files: dict[str, TypedFile]
    pipelines: dict[str, Pipeline]  # by channel ext_id

    def get(self, spec: FileSpec) -> TypedFile | None:
        return self.files.get(spec.name)

    @property
    def counts(self) -> dict[str, int]:
        """Rows read per file present, in contract order."""
        return {name: typed.read for name, typed in self.files.items()}


def read_dataset(folder: Path) -> Dataset:
    """The typed dataset in `folder`; raises DatasetInvalid listing every problem found."""
    problems: list[DatasetProblem] = []
    with gc_paused():
        typed_files = ((spec.name, read_typed(folder, spec, problems)) for spec in FILES)
        files = {name: typed for name, typed in typed_files if typed is not None}
        pipelines = _Checker(files, problems).run()
    if problems:
        problems.sort(key=lambda p: (_ORDER.get(p.file, len(_ORDER)), p.line))
        raise DatasetInvalid(problems)
    assert pipelines is not None  # None only when channels.csv or pipeline.csv had problems
    return Dataset(files, pipelines)


class _Checker:
    """The cross-cell checks, in file order; each file's ids feed the checks of later files."""

    def __init__(self, files: dict[str, TypedFile], problems: list[DatasetProblem]) -> None:
        self.files = files
        self.problems = problems
        # Cells already reported as malformed hold None; rules about empty cells skip them.
        self.malformed = {(p.file, p.line, p.column) for p in problems}

    def run(self) -> Pipelines:
        partners = self._ids(PARTNERS)
        channels = self._ids(CHANNELS)
        self._refs(CHANNELS, "partner_id", partners, PARTNERS)
        pipelines = build_pipelines(self.files.get(PIPELINE.name), channels, self.problems)
        leads = self._ids(LEADS)
        self._refs(LEADS, "channel_id", channels, CHANNELS)
        self._lead_statuses(pipelines)
        lead_channels = self._channels_of(LEADS, leads)
        self._refs(HISTORY, "lead_id", leads, LEADS)
        self._history(lead_channels, pipelines)
        triggers = self._ids(TRIGGERS)
        self._refs(TRIGGERS, "channel_id", channels, CHANNELS)
        self._trigger_statuses(pipelines)
        self._ids(PURCHASES)
        self._refs(PURCHASES, "lead_id", leads, LEADS)
        reports = self._ids(REPORTS)
        self._refs(REPORTS, "channel_id", channels, CHANNELS)
        self._report_periods()
        self._ids(REWARDS)
        self._refs(REWARDS, "channel_id", channels, CHANNELS)
        for column, spec, ids, channel_of in (
            ("lead_id", LEADS, leads, lead_channels),
            ("trigger_id", TRIGGERS, triggers, self._channels_of(TRIGGERS, triggers)),
            ("report_id", REPORTS, reports, self._channels_of(REPORTS, reports)),
        ):
            self._refs(REWARDS, column, ids, spec)
            self._same_channel(REWARDS, column, channel_of, channels)
        self._reward_dates()
        self._ids(INTEGRATIONS)
        self._refs(INTEGRATIONS, "channel_id", channels, CHANNELS)
        self._refs(FORM_FIELDS, "channel_id", channels, CHANNELS)
        self._unique(FORM_FIELDS, ("channel_id", "field"), "field", scope=" for this channel")
        self._ids(USERS)
        self._unique(USERS, ("email",), "email", fold_case=True)
        return pipelines

    # -- checks shared by the files -------------------------------------------------------

    def _file(self, spec: FileSpec, *columns: str) -> TypedFile | None:
        """The file when present and holding every column named."""
        typed = self.files.get(spec.name)
        if typed is None or not all(typed.has(c) for c in columns):
            return None
        return typed

    def _ids(self, spec: FileSpec) -> Ids | None:
        """The file's ids, reporting duplicates; {} for an absent optional file (every
        reference to it is unknown), None when they cannot be known (already a problem)."""
        typed = self.files.get(spec.name)
        if typed is None:
            return None if spec.required else {}
        if not typed.complete or not typed.has("id"):
            return None
        column = typed["ext_id"]
        ids: Ids = dict(zip(column, range(len(column)), strict=True))
        if len(ids) < len(column):
            ids = {}
            for n, ext_id in enumerate(column):
                first = ids.setdefault(ext_id, n)
                if first != n and ext_id is not None:
                    reason = f"duplicate id {ext_id!r} (first on line {typed.lines[first]})"
                    self.problems.append(typed.problem(typed.lines[n], "id", reason))
        ids.pop(None, None)  # type: ignore[call-overload]
        return ids

    def _refs(self, spec: FileSpec, column: str, targets: Ids | None, target: FileSpec) -> None:
        typed = self._file(spec, column)
        if typed is None or targets is None:
            return
        values = typed[column]
        unknown = set(values).difference(targets)
        unknown.discard(None)
        if not unknown:
            return
        label = column.removesuffix("_id")
        for line, value in zip(typed.lines, values, strict=True):
            if value in unknown:
                reason = unknown_reference(label, value, target.name)
                self.problems.append(typed.problem(line, column, reason))

    def _unique(
        self,
        spec: FileSpec,
        key: tuple[str, ...],
        column: str,
        scope: str = "",
        fold_case: bool = False,
    ) -> None:
        """Rows must differ on `key` (the id of files without an id column)."""
        typed = self._file(spec, *key)
        if typed is None:
            return
        first: dict[tuple[str, ...], int] = {}
        shown = typed[column]
        rows = zip(typed.lines, shown, zip(*(typed[k] for k in key), strict=True), strict=True)
        for line, value, values in rows:
            if None in values:
                continue
            if fold_case:
                values = tuple(v.lower() for v in values)
            seen = first.setdefault(values, line)
            if seen != line:
                reason = f"duplicate {column} {value!r}{scope} (first on line {seen})"
                self.problems.append(typed.problem(line, column, reason))

    def _channels_of(self, spec: FileSpec, ids: Ids | None) -> dict[str, str] | None:
        """ext_id -> channel ext_id of the rows of `spec` (leads, triggers or reports)."""
        if ids is None:
            return None
        typed = self.files.get(spec.name)
        if typed is None:
            return {}  # an absent optional file: its references are already unknown
        if not typed.has("channel_id"):
            return None
        return dict(zip(typed["ext_id"], typed["channel_id"], strict=True))

    def _same_channel(
        self,
        spec: FileSpec,
        column: str,
        channel_of: dict[str, str] | None,
        known: Ids | None,
    ) -> None:
        """The row referenced by `column` must belong to the row's own channel (an unknown
        channel on either side is already a problem, so it is not compared)."""
        typed = self._file(spec, column, "channel_id")
        if typed is None or channel_of is None or known is None:
            return
        label = column.removesuffix("_id")
        refs, channels = typed[column], typed["channel_id"]
        owners = [None if ref is None else channel_of.get(ref) for ref in refs]
        for line, ref, owner, channel in zip(typed.lines, refs, owners, channels, strict=True):
            if owner != channel and owner in known and channel in known:
                reason = (
                    f"{label} {ref!r} belongs to channel {owner!r}, "
                    f"not to this row's channel {channel!r}"
                )
                self.problems.append(typed.problem(line, column, reason))

    # -- rules of single files ------------------------------------------------------------

    def _lead_statuses(self, pipelines: Pipelines) -> None:
        """Statuses take their pipeline's spelling and kind; status_changed_at defaults."""
        typed = self.files.get(LEADS.name)
        if typed is None:
            return
        changed, created = typed["status_changed_at"], typed["created_at"]
        if None in changed:
            typed.values["status_changed_at"] = [
                c if c is not None else made for c, made in zip(changed, created, strict=True)
            ]
        channels, statuses = typed["channel_id"], typed["status"]
        steps, wrong = _match_pairs(pipelines, zip(channels, statuses, strict=True))
        if wrong:
            for line, channel, status in zip(typed.lines, channels, statuses, strict=True):
                if (channel, status) in wrong:
                    reason = _not_in_pipeline(status, channel, wrong[(channel, status)])
                    self.problems.append(typed.problem(line, "status", reason))
        pairs = list(zip(channels, statuses, strict=True))
        typed.values["status"] = _respelled(statuses, pairs, steps)
        kinds = {pair: None if step is None else step.kind for pair, step in steps.items()}
        typed.values["status_kind"] = list(map(kinds.__getitem__, pairs))

    def _history(self, lead_channels: dict[str, str] | None, pipelines: Pipelines) -> None:
        """History is lenient about statuses (pipelines change over time): a status that
        matches the lead's pipeline takes its spelling, any other is kept as written.
        Rows repeating (lead, to_status, changed_at) are one event: the last one is kept."""
        typed = self.files.get(HISTORY.name)
        if typed is None:
            return
        if lead_channels is not None and pipelines is not None:
            channels = list(map(lead_channels.get, typed["lead_id"]))
            for column in ("from_status", "to_status"):
                values = typed[column]
                steps, _ = _match_pairs(pipelines, zip(channels, values, strict=True))
                pairs = zip(channels, values, strict=True)
                typed.values[column] = _respelled(values, pairs, steps)
        keys = (typed["lead_id"], typed["to_status"], typed["changed_at"])
        if len(set(zip(*keys, strict=True))) < len(typed):
            last = {key: n for n, key in enumerate(zip(*keys, strict=True))}
            typed.keep(sorted(last.values()))

    def _trigger_statuses(self, pipelines: Pipelines) -> None:
        typed = self.files.get(TRIGGERS.name)
        if typed is None:
            return
        spelled = []
        rows = zip(typed.lines, typed["channel_id"], typed["event"], typed["status"], strict=True)
        for line, channel, event, status in rows:
            reached = event == TriggerEvent.status_reached
            pipeline = _pipeline_of(pipelines, channel)
            step = None if pipeline is None or status is None else pipeline.match(status)
            spelled.append(step.name if step else status)
            if status is None and reached:
                reason = "required when event is status_reached"
                self.problems.append(typed.problem(line, "status", reason))
            elif reached and pipeline is not None and step is None:
                reason = _not_in_pipeline(status, channel, pipeline)
                self.problems.append(typed.problem(line, "status", reason))
        typed.values["status"] = spelled

    def _report_periods(self) -> None:
        typed = self.files.get(REPORTS.name)
        if typed is None:
            return
        rows = zip(typed.lines, typed["period_start"], typed["period_end"], strict=True)
        for line, start, end in rows:
            if start is not None and end is not None and end < start:
                reason = f"{end.isoformat()} is before period_start {start.isoformat()}"
                self.problems.append(typed.problem(line, "period_end", reason))

    def _reward_dates(self) -> None:
        """`approved` needs approved_at and `paid` needs paid_at."""
        typed = self.files.get(REWARDS.name)
        if typed is None:
            return
        for status, column in (
            (RewardStatus.approved.value, "approved_at"),
            (RewardStatus.paid.value, "paid_at"),
        ):
            rows = zip(typed.lines, typed["status"], typed[column], strict=True)
            for line, given, at in rows:
                reported = (REWARDS.name, line, column) in self.malformed
                if given == status and at is None and not reported:
                    reason = f"required when status is {status}"
                    self.problems.append(typed.problem(line, column, reason))


def _pipeline_of(pipelines: Pipelines, channel: str | None) -> Pipeline | None:
    """The channel's pipeline, or None when either is unknown (already a problem)."""
    if pipelines is None or channel is None:
        return None
    return pipelines.get(channel)


def _match_pairs(
    pipelines: Pipelines, pairs: Iterable[tuple[str | None, str | None]]
) -> tuple[dict[tuple[str | None, str | None], Step | None], dict[tuple[str, str], Pipeline]]:
    """Each distinct (channel, status) matched once: its step (None when it cannot be
    matched), and the pairs whose status is not in the channel's known pipeline."""
    steps: dict[tuple[str | None, str | None], Step | None] = {}
    wrong: dict[tuple[str, str], Pipeline] = {}
    for pair in set(pairs):
        channel, status = pair
        pipeline = _pipeline_of(pipelines, channel)
        if pipeline is None or status is None:
            steps[pair] = None
            continue
        steps[pair] = pipeline.match(status)
        if steps[pair] is None:
            wrong[(channel, status)] = pipeline  # type: ignore[index]
    return steps, wrong


def _respelled(
    values: list[str | None],
    pairs: Iterable[tuple[str | None, str | None]],
    steps: dict[tuple[str | None, str | None], Step | None],
) -> list[str | None]:
    """Each status in its pipeline's spelling where it matched (as given where it did not);
    the column itself when every status is already spelled so, which is the usual case."""
    spelled = {pair: pair[1] if step is None else step.name for pair, step in steps.items()}
    if all(pair[1] == name for pair, name in spelled.items()):
        return values
    return list(map(spelled.__getitem__, pairs))


def _not_in_pipeline(status: str, channel: str, pipeline: Pipeline) -> str:
    return (
        f"status {status!r} is not in the pipeline of channel {channel!r} "
        f"(expected one of: {pipeline.names()})"
    )

"""Which pipeline each channel uses: its own rows of pipeline.csv, else the organization's
default rows (empty channel_id), else the built-in default of the contract."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from domain.enums import DEFAULT_PIPELINE
from domain.importer.problems import DatasetProblem, unknown_reference
from domain.importer.rows import TypedChunk


@dataclass(frozen=True)
class Step:
    name: str  # the pipeline's spelling, stored on leads, triggers and history
    kind: str
    position: int


@dataclass(frozen=True)
class Pipeline:
    steps: tuple[Step, ...]  # in ascending position; the first is the "new" status
    by_key: dict[str, Step] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {s.name.lower(): s for s in self.steps})

    def match(self, status: str) -> Step | None:
        """The step named `status`, case-insensitively."""
        return self.by_key.get(status.lower())

    def names(self) -> str:
        return ", ".join(s.name for s in self.steps)


BUILT_IN = Pipeline(
    tuple(Step(name, kind.value, pos) for pos, (name, kind) in enumerate(DEFAULT_PIPELINE, 1))
)

NAME = "pipeline.csv"
_UNPLACED = 1 << 62  # sorts a step with an invalid (already reported) position last


def build_pipelines(
    pipeline: TypedChunk | None,
    usable: bool,
    channel_ids: Collection[str] | None,
    problems: list[DatasetProblem],
) -> dict[str, Pipeline] | None:
    """Each channel's pipeline from pipeline.csv (None: the file is absent), or None when the
    channels or a `usable` pipeline.csv could not be read (lead statuses then cannot be
    checked; the reason is already a problem)."""
    if pipeline is None:
        return None if channel_ids is None else dict.fromkeys(channel_ids, BUILT_IN)
    if not usable:
        return None
    grouped = _group_steps(pipeline, channel_ids, problems)
    if channel_ids is None:
        return None
    pipelines = {
        key: Pipeline(tuple(sorted(steps, key=lambda s: s.position)))
        for key, steps in grouped.items()
    }
    default = pipelines.get(None, BUILT_IN)
    return {channel: pipelines.get(channel, default) for channel in channel_ids}


def _group_steps(
    pipeline: TypedChunk, channel_ids: Collection[str] | None, problems: list[DatasetProblem]
) -> dict[str | None, list[Step]]:
    """The steps of each pipeline (None: the organization's default), reporting duplicates."""
    grouped: dict[str | None, list[Step]] = {}
    first_name: dict[tuple[str | None, str], int] = {}
    first_position: dict[tuple[str | None, int], int] = {}
    rows = zip(
        pipeline.lines,
        pipeline["channel_id"],
        pipeline["status"],
        pipeline["kind"],
        pipeline["position"],
        strict=True,
    )
    for line, channel, status, kind, position in rows:
        if channel is not None and channel_ids is not None and channel not in channel_ids:
            reason = unknown_reference("channel", channel, "channels.csv")
            problems.append(DatasetProblem(NAME, line, "channel_id", reason))
        if status is None:
            continue
        name_key = (channel, status.lower())
        if name_key in first_name:
            reason = (
                f"status {status!r} appears twice in this pipeline "
                f"(first on line {first_name[name_key]})"
            )
            problems.append(DatasetProblem(NAME, line, "status", reason))
            continue
        first_name[name_key] = line
        # A step whose kind or position is invalid (already reported) still names a status,
        # so the leads in that status are not reported a second time.
        position = _UNPLACED if position is None else position
        position_key = (channel, position)
        if position != _UNPLACED and position_key in first_position:
            reason = (
                f"position {position} appears twice in this pipeline "
                f"(first on line {first_position[position_key]})"
            )
            problems.append(DatasetProblem(NAME, line, "position", reason))
        first_position.setdefault(position_key, line)
        grouped.setdefault(channel, []).append(Step(status, kind or "", position))
    return grouped


def spellings(pipelines: dict[str, Pipeline]) -> dict[str, frozenset[str]]:
    """Lower-cased status -> every spelling the pipelines give it. A status whose only
    spelling is itself never needs re-spelling, whatever its channel."""
    found: dict[str, set[str]] = {}
    for pipeline in {id(p): p for p in pipelines.values()}.values():
        for step in pipeline.steps:
            found.setdefault(step.name.lower(), set()).add(step.name)
    return {key: frozenset(names) for key, names in found.items()}

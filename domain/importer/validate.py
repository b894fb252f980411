"""A whole dataset read into memory and checked: what `keen load` writes for small folders.

The reading and the checks themselves live in `stream` (and `rows`, `checks`); this module
gathers the stream's chunks per file, and replays them as the same events for the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from domain.importer.files import FILES, PIPELINE, FileSpec
from domain.importer.pipelines import Pipeline
from domain.importer.problems import DatasetInvalid
from domain.importer.reader import CHUNK
from domain.importer.rows import TypedFile
from domain.importer.stream import (
    Event,
    FileDone,
    FileStarted,
    Finished,
    PipelinesReady,
    RowsRead,
    stream_dataset,
)


@dataclass
class Dataset:
    """A valid dataset: the typed rows of every file present, and each channel's pipeline."""

    files: dict[str, TypedFile]
    pipelines: dict[str, Pipeline]  # by channel ext_id
    counts: dict[str, int]  # rows read per file present, in contract order

    def get(self, spec: FileSpec) -> TypedFile | None:
        return self.files.get(spec.name)

    def events(self, chunk_size: int = CHUNK) -> Iterator[Event]:
        """The dataset as the stream it was read from."""
        for spec in FILES:
            typed = self.files.get(spec.name)
            if typed is not None:
                yield FileStarted(spec.name, len(typed))
                for chunk in typed.chunks(chunk_size):
                    yield RowsRead(spec.name, chunk)
                yield FileDone(spec.name, self.counts[spec.name])
            if spec is PIPELINE:
                yield PipelinesReady(self.pipelines)
        yield Finished([])


def read_dataset(folder: Path) -> Dataset:
    """The typed dataset in `folder`; raises DatasetInvalid listing every problem found."""
    specs = {spec.name: spec for spec in FILES}
    files: dict[str, TypedFile] = {}
    counts: dict[str, int] = {}
    pipelines: dict[str, Pipeline] = {}
    for event in stream_dataset(Path(folder)):
        if isinstance(event, FileStarted):
            spec = specs[event.name]
            files[event.name] = TypedFile(spec, {key: [] for key in spec.fields})
        elif isinstance(event, RowsRead):
            files[event.name].append(event.chunk)
        elif isinstance(event, FileDone):
            counts[event.name] = event.rows
        elif isinstance(event, PipelinesReady):
            pipelines = event.pipelines
        elif event.problems:
            raise DatasetInvalid(event.problems)
    return Dataset(files, pipelines, counts)

"""A whole dataset read into memory and checked: what `keen load` writes for small folders.

The reading and the checks themselves live in `stream` (and `rows`, `checks`); this module
keeps the stream's chunks per file, and replays them as the same events for the writer.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from domain.importer.files import FILES, PIPELINE
from domain.importer.pipelines import Pipeline
from domain.importer.problems import DatasetInvalid
from domain.importer.rows import TypedChunk
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
    """A valid dataset: the checked chunks of every file present, and each channel's pipeline."""

    chunks: dict[str, list[TypedChunk]]  # by file name, in contract order
    pipelines: dict[str, Pipeline]  # by channel ext_id
    counts: dict[str, int]  # rows read per file present, in contract order

    def events(self) -> Generator[Event, None, None]:
        """The dataset as the stream it was read from, chunk for chunk."""
        for spec in FILES:
            chunks = self.chunks.get(spec.name)
            if chunks is not None:
                yield FileStarted(spec.name, self.counts[spec.name])
                for chunk in chunks:
                    yield RowsRead(spec.name, chunk)
                yield FileDone(spec.name, self.counts[spec.name])
            if spec is PIPELINE:
                yield PipelinesReady(self.pipelines)
        yield Finished([])


def read_dataset(folder: Path) -> Dataset:
    """The checked dataset in `folder`; raises DatasetInvalid listing every problem found."""
    chunks: dict[str, list[TypedChunk]] = {}
    counts: dict[str, int] = {}
    pipelines: dict[str, Pipeline] = {}
    for event in stream_dataset(Path(folder)):
        if isinstance(event, FileStarted):
            chunks[event.name] = []
        elif isinstance(event, RowsRead):
            chunks[event.name].append(event.chunk)
        elif isinstance(event, FileDone):
            counts[event.name] = event.rows
        elif isinstance(event, PipelinesReady):
            pipelines = event.pipelines
        elif event.problems:
            raise DatasetInvalid(event.problems)
    return Dataset(chunks, pipelines, counts)

"""A dataset read as a stream of events: files in order, each as chunks of checked, typed rows.

Both the in-memory `read_dataset` and the writer consume this stream. For a large dataset the
stream is produced by a worker process, so that reading and checking the next rows (Python)
runs on one core while the database stores the previous ones on the other.

Events are only emitted while the dataset has no problem; after the first one the files are
still read and checked to the end, so that `Finished` lists every problem.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from domain.importer.checks import Checker
from domain.importer.files import FILES, PIPELINE
from domain.importer.gcpause import gc_paused
from domain.importer.pipelines import Pipeline
from domain.importer.problems import DatasetProblem
from domain.importer.rows import TypedChunk, open_typed
from domain.importer.transport import PackedChunk, pack, unpack

_ORDER = {spec.name: i for i, spec in enumerate(FILES)}


@dataclass
class FileStarted:
    name: str
    estimated_rows: int  # from the file's line count, before parsing


@dataclass
class RowsRead:
    name: str
    chunk: TypedChunk


@dataclass
class PipelinesReady:
    """Each channel's pipeline; sent once pipeline.csv (present or not) has been judged."""

    pipelines: dict[str, Pipeline]


@dataclass
class FileDone:
    name: str
    rows: int  # data rows read


@dataclass
class Finished:
    problems: list[DatasetProblem]  # in file order, then line order


Event = FileStarted | RowsRead | PipelinesReady | FileDone | Finished


def stream_dataset(folder: Path) -> Generator[Event, None, None]:
    """Read and check every file of `folder` in contract order."""
    problems: list[DatasetProblem] = []
    checker = Checker(problems)
    with gc_paused():
        for spec in FILES:
            reader = open_typed(folder, spec, problems)
            exists = reader is not None or (folder / spec.name).is_file()
            checker.begin(spec, reader.present if reader else frozenset() if exists else None)
            if reader is not None:
                if not problems:
                    yield FileStarted(spec.name, reader.estimated_rows)
                seen = len(problems)
                for chunk in reader.chunks():
                    malformed = {(p.line, p.column) for p in problems[seen:]}
                    checker.chunk(chunk, malformed)
                    if not problems:
                        yield RowsRead(spec.name, chunk)
                    seen = len(problems)
            checker.end(reader is not None and reader.complete)
            if reader is not None and not problems:
                yield FileDone(spec.name, reader.read)
            if spec is PIPELINE and checker.pipelines is not None and not problems:
                yield PipelinesReady(checker.pipelines)
        problems.sort(key=lambda p: (_ORDER.get(p.file, len(_ORDER)), p.line))
        yield Finished(problems)


# -- the worker process -------------------------------------------------------------------------


@dataclass
class _WorkerFailed:
    traceback: str


@dataclass
class _PackedRows:
    """RowsRead on its way between the processes."""

    name: str
    packed: PackedChunk


# Bounds the rows held between the reader and the writer (about 2M), yet lets the reader go
# on while the writer builds a large table's indexes.
_QUEUED_CHUNKS = 40
_POLL_SECONDS = 1.0


def stream_in_worker(folder: Path) -> Generator[Event, None, None]:
    """`stream_dataset(folder)`, produced by a separate process.

    Fork is used where the platform has it: the child inherits the imported modules instead of
    importing the application again, and only reads files and writes to its queue.
    """
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    queue: Any = context.Queue(maxsize=_QUEUED_CHUNKS)
    process = context.Process(target=_produce, args=(str(folder), queue), daemon=True)
    process.start()
    try:
        while True:
            try:
                event = queue.get(timeout=_POLL_SECONDS)
            except Empty:
                if not process.is_alive():
                    raise RuntimeError(
                        f"the dataset reader stopped unexpectedly (exit code {process.exitcode})"
                    ) from None
                continue
            if isinstance(event, _WorkerFailed):
                raise RuntimeError(f"the dataset reader failed:\n{event.traceback}")
            if isinstance(event, _PackedRows):
                event = RowsRead(event.name, unpack(event.packed))
            yield event
            if isinstance(event, Finished):
                return
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)
        queue.close()


def _produce(folder: str, queue: Any) -> None:
    try:
        for event in stream_dataset(Path(folder)):
            queue.put(
                _PackedRows(event.name, pack(event.chunk)) if isinstance(event, RowsRead) else event
            )
    except BaseException:
        queue.put(_WorkerFailed(traceback.format_exc()))

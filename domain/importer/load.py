"""`load_dataset`: a folder into one organization, in one transaction or not at all.

A small folder is read and checked completely before the database is touched. A large one is
read by a worker process while the rows already checked are written: the transaction then
rolls back if a problem turns up later, so either way nothing is written unless every file
is valid.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.db import get_or_create_org
from domain.importer.bulk import foreign_keys_checked_once
from domain.importer.files import FILES
from domain.importer.gcpause import gc_paused
from domain.importer.problems import DatasetInvalid
from domain.importer.stream import Event, Finished, stream_in_worker
from domain.importer.validate import read_dataset
from domain.importer.write import DatasetWriter, Progress
from domain.models import Organization

PARALLEL_FROM_BYTES = 64 << 20
"""Folders at least this large are read by a worker process while the database writes."""


@dataclass
class LoadResult:
    org_slug: str
    counts: dict[str, int]  # rows read per file present, in contract order


def load_dataset(
    engine: Engine,
    folder: Path,
    org_slug: str = "default",
    progress: Progress | None = None,
) -> LoadResult:
    """Load the dataset in `folder` into organization `org_slug` (created when new).

    With any problem, DatasetInvalid lists them all and nothing is written, not even the
    organization. `progress(file_name, rows_done, rows_total)` follows each file's rows into
    the database (rows_total is estimated from the file's line count until the file ends).
    """
    folder = Path(folder)
    with gc_paused():
        if _size(folder) < PARALLEL_FROM_BYTES:
            events: Generator[Event, None, None] = read_dataset(folder).events()
        else:
            events = stream_in_worker(folder)
        with closing(events):  # stops the worker at once when the write fails
            return _write(engine, org_slug, events, progress)


def _write(
    engine: Engine, org_slug: str, events: Iterator[Event], progress: Progress | None
) -> LoadResult:
    with engine.connect() as conn, foreign_keys_checked_once(conn) as check_keys, conn.begin():
        with Session(bind=conn) as session:
            query = select(Organization.id).where(Organization.slug == org_slug)
            known = session.scalar(query)
            org_id = get_or_create_org(session, org_slug).id
        writer = DatasetWriter(
            conn, org_id, fresh=known is None, progress=progress, check_keys=check_keys
        )
        try:
            for event in events:
                if isinstance(event, Finished):
                    if event.problems:
                        raise DatasetInvalid(event.problems)  # rolls the transaction back
                    break
                writer.handle(event)
        finally:
            writer.close()
    refresh_statistics(engine)
    return LoadResult(org_slug, writer.counts)


def refresh_statistics(engine: Engine) -> None:
    """Table statistics after a load, so the query planner picks the selective index (SQLite
    keeps none until ANALYZE; a sampled one takes a moment even at a million leads)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for spec in FILES if (path := folder / spec.name).is_file())

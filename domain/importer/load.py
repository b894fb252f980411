"""`load_dataset`: validate a folder completely, then write it in one transaction or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.db import get_or_create_org
from domain.importer.bulk import Progress
from domain.importer.gcpause import gc_paused
from domain.importer.validate import read_dataset
from domain.importer.write import write_dataset
from domain.models import Organization


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

    Every file is read and checked before the database is touched: with any problem,
    DatasetInvalid lists them all and nothing is written, not even the organization.
    `progress(file_name, rows_done, rows_total)` is called while each file's rows are
    written (after the whole dataset has been checked).
    """
    with gc_paused():
        return _load(engine, Path(folder), org_slug, progress)


def _load(engine: Engine, folder: Path, org_slug: str, progress: Progress | None) -> LoadResult:
    data = read_dataset(folder)
    with engine.begin() as conn, Session(bind=conn) as session:
        fresh = session.scalar(select(Organization.id).where(Organization.slug == org_slug)) is None
        org_id = get_or_create_org(session, org_slug).id
        write_dataset(conn, org_id, data, fresh=fresh, progress=progress)
    return LoadResult(org_slug, data.counts)

"""Writing small datasets inside tests, so expected values can be worked out by hand."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from domain.db import make_engine, migrate
from domain.importer import load_dataset

DEMO = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "demo"

MINIMAL_FILES = ("partners.csv", "channels.csv", "leads.csv")


def write_dataset(folder: Path, files: Mapping[str, Sequence[Mapping[str, object]]]) -> Path:
    """Write each file's rows as CSV; the header is the union of the rows' keys, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        header: list[str] = []
        for row in rows:
            header.extend(k for k in row if k not in header)
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return folder


def demo_database(path: Path, org: str = "default") -> str:
    """A new SQLite file at `path` holding the demo dataset; returns its URL."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    load_dataset(engine, DEMO, org)
    engine.dispose()
    return url

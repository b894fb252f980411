"""Large datasets: files read in chunks, by a worker process, while the database writes.

The thresholds are lowered here so that the small hand-written datasets take the same paths as
a million-lead folder: chunks of two rows, and the worker process for any folder size.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import domain.importer.load as load_module
import domain.importer.reader as reader_module
import domain.importer.stream as stream_module
import domain.importer.write as write_module
from domain.importer import DatasetInvalid, load_dataset, read_dataset
from domain.models import LeadStatusChange
from tests.test_importer_dataset import base_files, row_counts, table_dump, write
from tests.test_importer_reload import full_files


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "CHUNK", 2)


@pytest.fixture
def in_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "PARALLEL_FROM_BYTES", 0)


@pytest.mark.usefixtures("tiny_chunks", "in_worker")
def test_a_load_through_the_worker_in_chunks_writes_what_the_folder_says(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write(tmp_path / "ds", full_files())
    calls: list[tuple[str, int, int]] = []
    result = load_dataset(engine, folder, progress=lambda *a: calls.append(a))
    assert result.counts["leads.csv"] == 3
    assert calls[-1] == ("users.csv", 2, 2)
    assert [c for c in calls if c[0] == "leads.csv"] == [
        ("leads.csv", 0, 3),  # the estimate from the line count
        ("leads.csv", 2, 3),  # first chunk of two rows
        ("leads.csv", 3, 3),
        ("leads.csv", 3, 3),  # the file is done
    ]
    first = table_dump(engine)
    # Reloading in one piece, in this process, changes nothing: the chunks wrote every value.
    monkeypatch.setattr(load_module, "PARALLEL_FROM_BYTES", 1 << 40)
    monkeypatch.setattr(reader_module, "CHUNK", 50_000)
    load_dataset(engine, folder)
    assert table_dump(engine) == first


@pytest.mark.usefixtures("tiny_chunks", "in_worker")
def test_a_problem_found_after_rows_were_written_rolls_everything_back(
    engine: Engine, tmp_path: Path
) -> None:
    load_dataset(engine, write(tmp_path / "one", base_files()), org_slug="acme")
    before = table_dump(engine)
    files = base_files()
    files["leads.csv"][0]["deal_value"] = "9.99"  # written before rewards.csv is read...
    files["rewards.csv"][1]["status"] = "paid"  # ...where this problem is
    files["rewards.csv"][0]["lead_id"] = "L7"
    for slug in ("acme", "beta"):
        with pytest.raises(DatasetInvalid) as info:
            load_dataset(engine, write(tmp_path / slug, files), org_slug=slug)
        assert [str(p) for p in info.value.problems] == [
            "rewards.csv:2: lead_id: unknown lead 'L7' (not in leads.csv)",
            "rewards.csv:3: paid_at: required when status is paid",
        ]
    assert table_dump(engine) == before


@pytest.mark.usefixtures("in_worker")
def test_a_failing_reader_is_reported_and_nothing_is_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path):  # type: ignore[no-untyped-def]
        yield from ()
        raise OSError("disk on fire")

    monkeypatch.setattr(stream_module, "stream_dataset", broken)
    empty = row_counts(engine)
    with pytest.raises(RuntimeError, match="disk on fire"):
        load_dataset(engine, write(tmp_path / "ds", base_files()))
    assert row_counts(engine) == empty


@pytest.mark.usefixtures("tiny_chunks")
def test_duplicates_and_problems_across_chunks(tmp_path: Path) -> None:
    files = base_files()
    leads = files["leads.csv"]
    leads.append(dict(leads[0], id="L4"))  # line 5
    leads.append(dict(leads[0], id="L2"))  # line 6: L2 was on line 3, in the first chunk
    leads.append(dict(leads[0], id="L5", status="Maybe"))  # line 7, fourth chunk
    with pytest.raises(DatasetInvalid) as info:
        read_dataset(write(tmp_path / "bad", files))
    assert [str(p) for p in info.value.problems] == [
        "leads.csv:6: id: duplicate id 'L2' (first on line 3)",
        "leads.csv:7: status: status 'Maybe' is not in the pipeline of channel 'c1' "
        "(expected one of: New lead, In progress, Meeting booked, Won, Lost)",
    ]


@pytest.mark.usefixtures("tiny_chunks")
def test_a_history_event_repeated_in_another_chunk_is_one_event(
    engine: Engine, tmp_path: Path
) -> None:
    files = base_files()
    history = files["lead_status_history.csv"]
    created = {"to_status": "New lead", "changed_at": "2026-05-01T09:00:00Z"}
    history.append({"lead_id": "L1", "from_status": "", **created})
    # Line 5 repeats line 3's event (L2 won at 12:00) two chunks later: the last row wins.
    history.append(dict(history[1], from_status="Meeting booked"))
    load_dataset(engine, write(tmp_path / "ds", files))
    with Session(engine) as s:
        events = s.execute(
            select(LeadStatusChange.from_status, LeadStatusChange.to_status).order_by(
                LeadStatusChange.changed_at
            )
        ).all()
    assert [tuple(e) for e in events] == [
        (None, "New lead"),  # L1
        (None, "New lead"),  # L2
        ("Meeting booked", "Won"),
    ]


def test_sqlite_key_checks_are_back_on_after_a_load(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Enforcement is paused only inside the load; the pooled connection gets it back."""
    load_dataset(sqlite_engine, write(tmp_path / "ok", base_files()))
    bad = base_files()
    bad["leads.csv"][0]["status"] = "Nope"
    with pytest.raises(DatasetInvalid):
        load_dataset(sqlite_engine, write(tmp_path / "bad", bad))
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_broken_key_still_fails_the_load(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the writer ever to translate a reference wrongly, the load fails as a whole: on
    SQLite the one-pass check before commit catches it, on PostgreSQL the row checks do."""
    original = write_module._translate

    def wrong(values: list[object], ids: dict[str, int]) -> list[object]:
        translated = original(values, ids)
        pairs = zip(values, translated, strict=True)
        return [999_999 if value == "c2" else key for value, key in pairs]

    monkeypatch.setattr(write_module, "_translate", wrong)
    empty = row_counts(engine)
    with pytest.raises((RuntimeError, IntegrityError, psycopg.IntegrityError)) as info:
        load_dataset(engine, write(tmp_path / "ds", base_files()))
    if engine.dialect.name == "sqlite":
        assert "broke foreign keys" in str(info.value)
    assert row_counts(engine) == empty


@pytest.mark.parametrize(("extra_bytes", "in_a_worker"), [(0, True), (1, False)])
def test_the_worker_reads_folders_from_the_size_threshold_on(
    sqlite_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra_bytes: int,
    in_a_worker: bool,
) -> None:
    folder = write(tmp_path / "ds", base_files())
    size = sum(path.stat().st_size for path in folder.iterdir())
    monkeypatch.setattr(load_module, "PARALLEL_FROM_BYTES", size + extra_bytes)
    used: list[Path] = []

    def spy(path: Path):  # type: ignore[no-untyped-def]
        used.append(path)
        return stream_module.stream_in_worker(path)

    monkeypatch.setattr(load_module, "stream_in_worker", spy)
    load_dataset(sqlite_engine, folder)
    assert used == ([folder] if in_a_worker else [])

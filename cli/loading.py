"""`keen load` and `keen generate`: Rich progress around the importer and the generator."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def progress_bar(console: Console) -> Progress:
    """The one progress bar style of the CLI (loads, generation, evals)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def run_load(folder: Path, org: str, console: Console, err_console: Console) -> int:
    """Load `folder` into `org`; returns the process exit code."""
    from domain.db import get_engine
    from domain.importer import DatasetInvalid, load_dataset

    if not folder.is_dir():
        err_console.print(f"[red]{folder}: not a folder[/red]")
        return 2
    engine = get_engine()
    started = time.perf_counter()
    with progress_bar(console) as progress:
        tasks: dict[str, int] = {}

        def report(file_name: str, done: int, total: int) -> None:
            if file_name not in tasks:
                tasks[file_name] = progress.add_task(file_name, total=total)
            progress.update(tasks[file_name], completed=done, total=total)

        try:
            result = load_dataset(engine, folder, org, progress=report)
        except DatasetInvalid as exc:
            for problem in exc.problems:
                err_console.print(str(problem), markup=False, highlight=False)
            err_console.print(f"[red]{len(exc.problems)} problem(s); nothing was written.[/red]")
            return 1
    with console.status("building the search index…"):
        after_load(org, console)
    table = Table(title=f"Loaded {folder} into organization {result.org_slug!r}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, count in result.counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


INDEX_NOTES_LIMIT = 50_000  # above this, `keen load` leaves the search index to `keen index`


def after_load(org: str, console: Console | None = None) -> None:
    """Keep the semantic search index in step with the data just loaded (small datasets);
    a large one is indexed with `keen index`, which can run while the assistant answers."""
    from sqlalchemy import func, select

    from domain.db import get_engine, resolve_org, session_scope
    from domain.models import Lead

    with session_scope(get_engine()) as session:
        org_row = resolve_org(session, org)
        notes = session.scalar(
            select(func.count(Lead.id)).where(Lead.org_id == org_row.id, Lead.notes.is_not(None))
        )
    if (notes or 0) > INDEX_NOTES_LIMIT:
        if console:
            console.print(
                f"{notes:,} lead notes: run `keen index --org {org}` to build the search index."
            )
        return
    build_index(org, console)


def build_index(org: str, console: Console | None = None) -> None:
    """Embed the organization's lead notes, partner notes and the playbook into Chroma."""
    from domain.db import get_engine, resolve_org, session_scope
    from domain.semantic.index import SemanticIndex

    started = time.perf_counter()
    with session_scope(get_engine()) as session:
        org_id = resolve_org(session, org).id
        index = SemanticIndex()
        stats = index.rebuild(session, org_id)
        index.index_playbook(org_id)
    if console:
        console.print(
            f"Search index: {stats.embedded:,} embedded, {stats.unchanged:,} unchanged, "
            f"{stats.deleted:,} removed ({time.perf_counter() - started:.1f} s)."
        )


def run_generate(
    out_dir: Path, leads: int, seed: int, today: date | None, console: Console
) -> None:
    from domain.generator import generate_dataset

    started = time.perf_counter()
    with progress_bar(console) as progress:
        task = progress.add_task("leads", total=leads)

        def report(file_name: str, done: int) -> None:
            if file_name == "leads.csv":
                progress.update(task, completed=done)

        counts = generate_dataset(out_dir, leads, seed=seed, today=today, progress=report)
    for name, count in counts.items():
        console.print(f"{name:28} {count:>12,}")
    console.print(f"Wrote {out_dir} in {time.perf_counter() - started:.1f} s.")

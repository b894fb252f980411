"""Run the benchmark suite at one size on one database, write JSON, update docs/benchmarks.md.

    uv run python -m benchmarks --size 100k --db sqlite
    uv run python -m benchmarks --size 1m --db postgres --pg-url postgresql+psycopg://root@127.0.0.1:5432

Sizes: `demo` (the bundled dataset), `100k`, `1m` or any number of leads (`keen generate
--seed 1 --today 2026-11-18`). The data is generated and loaded once into `--work-dir`
(SQLite) or the PostgreSQL database `keen_bench_<size>`, and reused by later runs. Suites:
`tools` and `warm` at every size; `http`, `cost` and `cold` too by default at the demo size
(the targets are stated there). Results go to `--results` as `<suite>-<size>-<db>.json`;
the generated part of docs/benchmarks.md is rebuilt from every result found there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import report
from benchmarks.common import log

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "evals" / "fixtures" / "demo"
KEEN = Path(sys.executable).with_name("keen")
SIZES = {"demo": None, "100k": 100_000, "1m": 1_000_000}
ALL_SUITES = ("tools", "warm", "http", "cost", "cold")


def leads_of(size: str) -> int | None:
    return SIZES[size] if size in SIZES else int(size)


def prepare(size: str, db: str, work: Path, pg_url: str) -> tuple[str | None, str]:
    """(DATABASE_URL or None for SQLite, KEEN_DATA_DIR) with the dataset loaded."""
    data_dir = work / f"{size}-{db}"
    env = dict(os.environ, KEEN_DATA_DIR=str(data_dir))
    url = None
    if db == "postgres":
        url = f"{pg_url.rstrip('/')}/keen_bench_{size}"
        _create_pg_database(pg_url, f"keen_bench_{size}")
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    marker = data_dir / ".loaded"
    if marker.exists():
        return url, str(data_dir)
    leads = leads_of(size)
    folder = DEMO
    if leads is not None:
        folder = work / f"dataset-{size}"
        if not (folder / "leads.csv").exists():
            log(f"generating {leads:,} leads into {folder}")
            subprocess.run(
                [str(KEEN), "generate", str(folder), "--leads", str(leads), "--seed", "1",
                 "--today", "2026-11-18"],
                check=True, env=env, stdout=subprocess.DEVNULL,
            )  # fmt: skip
    log(f"loading {folder} ({db})")
    org = [] if leads is None else ["--org", "bench"]
    subprocess.run(
        [str(KEEN), "load", str(folder), *org], check=True, env=env, stdout=subprocess.DEVNULL
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("loaded\n")
    return url, str(data_dir)


def _create_pg_database(pg_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"{pg_url.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.scalar() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo", help="demo, 100k, 1m or a number of leads")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql+psycopg://root@127.0.0.1:5432")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/keen-bench"))
    parser.add_argument("--results", type=Path, default=report.RESULTS)
    parser.add_argument("--suites", help=f"comma separated, of: {','.join(ALL_SUITES)}")
    parser.add_argument("--quick", action="store_true", help="tiny repeats (the CI smoke test)")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    suites = args.suites.split(",") if args.suites else (
        list(ALL_SUITES) if args.size == "demo" else ["tools", "warm"]
    )  # fmt: skip
    url, data_dir = prepare(args.size, args.db, args.work_dir, args.pg_url)
    args.results.mkdir(parents=True, exist_ok=True)
    where = ["--data-dir", data_dir] + (["--database-url", url] if url else [])
    org = [] if leads_of(args.size) is None else ["--org", "bench"]
    big = (leads_of(args.size) or 0) >= 1_000_000
    repeat = "1" if args.quick else "5" if big else "20"
    runs = "1" if args.quick else "5" if big else "10"
    commands = {
        "tools": ["benchmarks.tools_floor", *where, *org, "--repeat", repeat],
        "warm": ["benchmarks.assistant_warm", *where, *org, "--runs", runs],
        "http": ["benchmarks.http_load", *where, *org]
        + (["--seconds", "2", "--clients", "4"] if args.quick else ["--profile"]),
        "cost": ["benchmarks.model_cost", *where, *org],
        "cold": ["benchmarks.cold_start", *where, *org, "--runs", "1" if args.quick else "3"],
    }
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    for suite in suites:
        out = args.results / f"{suite}-{args.size}-{args.db}.json"
        log(f"== {suite} ({args.size}, {args.db})")
        subprocess.run(
            [sys.executable, "-m", *commands[suite], "--out", str(out)], check=True, env=env
        )
    if not args.no_docs:
        report.update(results=args.results)
        log(f"updated {report.DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

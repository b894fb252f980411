"""Time the data layer at a given size: generate, load, then every metrics query.

A plain script so the figures in docs/benchmarks.md can be reproduced with one command:

    uv run python -m benchmarks.data_layer --leads 1000000 --out results.json

Each query runs once to warm the page cache, then `--repeat` times; the median and p95 are
reported. Where a query has an obvious hand-written SQL equivalent, that "floor" is timed
too, so the ORM/assembly overhead can be told apart from the database's own work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.db import make_engine, migrate, resolve_org
from domain.generator import generate_dataset
from domain.importer.load import load_dataset
from domain.leads import LeadFilter, count_leads, list_leads, status_breakdown
from domain.metrics import channel_metrics, funnel, partner_metrics
from domain.patterns import find_patterns
from domain.periods import parse_period
from domain.reports import list_reports
from domain.rewards import list_rewards, reward_summary
from domain.settings import get_settings

TODAY = date(2026, 11, 18)
SEED = 1
ORG = "bench"


@dataclass
class Timing:
    """One query's timings in milliseconds (a floor is the raw-SQL equivalent, if any)."""

    name: str
    median_ms: float
    p95_ms: float
    runs: int
    floor_median_ms: float | None = None


@dataclass
class Result:
    leads: int
    database: str
    started_at: str
    python: str
    platform: str
    cpus: int | None
    generate_s: float
    load_s: float
    rows_loaded: int
    rows_per_s: float
    loadavg_before: tuple[float, float, float]
    loadavg_after_load: tuple[float, float, float]
    loadavg_after_queries: tuple[float, float, float]
    queries: list[Timing] = field(default_factory=list)


def _p95(samples: list[float]) -> float:
    """Nearest-rank p95: with 5 runs this is the slowest one, which is the honest reading."""
    ordered = sorted(samples)
    rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 n)
    return ordered[rank - 1]


def _log(message: str) -> None:
    """Progress on stderr: a 1M-lead run takes minutes and should not look hung."""
    print(message, file=sys.stderr, flush=True)


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up: page cache, statement cache, the org's timezone lookup
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _sql(session: Session, sql: str, **params: Any) -> Callable[[], Any]:
    return lambda: session.execute(text(sql), params).all()


def _cases(session: Session, org_id: int) -> list[tuple[str, Callable[[], Any], Callable | None]]:
    """(name, domain call, raw SQL floor or None) for every query the assistant's tools use."""
    last_month = parse_period("last month", TODAY)
    s = get_settings()
    stuck_cut = datetime.combine(TODAY - timedelta(days=s.stuck_after_days), datetime.min.time())
    lo, hi = last_month.datetime_bounds()
    per_channel = (
        "SELECT channel_id, COUNT(*), SUM(CASE WHEN status_kind = 'won' THEN 1 ELSE 0 END) "
        "FROM leads WHERE org_id = :o {extra} GROUP BY channel_id"
    )
    return [
        (
            "channel_metrics (all time)",
            lambda: channel_metrics(session, org_id, today=TODAY),
            _sql(session, per_channel.format(extra=""), o=org_id),
        ),
        (
            "channel_metrics (last month)",
            lambda: channel_metrics(session, org_id, last_month, today=TODAY),
            _sql(
                session,
                per_channel.format(extra="AND created_at >= :lo AND created_at < :hi"),
                o=org_id,
                lo=lo,
                hi=hi,
            ),
        ),
        ("partner_metrics (all time)", lambda: partner_metrics(session, org_id, today=TODAY), None),
        ("funnel (all time)", lambda: funnel(session, org_id, today=TODAY), None),
        ("find_patterns (all time)", lambda: find_patterns(session, org_id, today=TODAY), None),
        (
            "count_leads (stuck)",
            lambda: count_leads(session, org_id, LeadFilter(stuck=True, today=TODAY)),
            _sql(
                session,
                "SELECT COUNT(*) FROM leads WHERE org_id = :o AND status_kind = 'open' "
                "AND status_changed_at < :cut",
                o=org_id,
                cut=stuck_cut,
            ),
        ),
        (
            "count_leads (needs_action)",
            lambda: count_leads(session, org_id, LeadFilter(needs_action=True, today=TODAY)),
            None,
        ),
        (
            "count_leads (missing_information)",
            lambda: count_leads(session, org_id, LeadFilter(missing_information=True, today=TODAY)),
            None,
        ),
        (
            "list_leads (newest, limit 20)",
            lambda: list_leads(session, org_id, LeadFilter(today=TODAY), limit=20),
            _sql(
                session,
                "SELECT id FROM leads WHERE org_id = :o ORDER BY created_at DESC, id DESC LIMIT 20",
                o=org_id,
            ),
        ),
        (
            "status_breakdown (all)",
            lambda: status_breakdown(session, org_id, LeadFilter(today=TODAY)),
            _sql(
                session,
                "SELECT status_id, COUNT(*) FROM leads WHERE org_id = :o GROUP BY status_id",
                o=org_id,
            ),
        ),
        (
            "reward_summary (all)",
            lambda: reward_summary(session, org_id),
            _sql(
                session,
                "SELECT status, COUNT(*), SUM(amount) FROM rewards WHERE org_id = :o "
                "GROUP BY status",
                o=org_id,
            ),
        ),
        ("list_rewards (newest, limit 20)", lambda: list_rewards(session, org_id), None),
        (
            "list_reports (needs_attention)",
            lambda: list_reports(session, org_id, TODAY, needs_attention=True),
            None,
        ),
    ]


def run(leads: int, work_dir: Path, database_url: str | None = None, repeat: int = 5) -> Result:
    """Generate `leads` leads into work_dir, load them into a fresh database, time the queries."""
    started = datetime.now().isoformat(timespec="seconds")
    before = os.getloadavg()
    data_dir = work_dir / "dataset"
    start = time.perf_counter()
    generate_dataset(data_dir, leads, seed=SEED, today=TODAY)
    generate_s = time.perf_counter() - start
    _log(f"generated {leads:,} leads in {generate_s:.1f} s")

    url = database_url or f"sqlite:///{work_dir / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    start = time.perf_counter()
    loaded = load_dataset(engine, data_dir, ORG)
    load_s = time.perf_counter() - start
    rows = sum(loaded.counts.values())
    _log(f"loaded {rows:,} rows in {load_s:.1f} s")
    after_load = os.getloadavg()

    timings = []
    with Session(engine) as session:
        org_id = resolve_org(session, ORG).id
        for name, fn, floor in _cases(session, org_id):
            samples = _time(fn, repeat)
            floor_ms = statistics.median(_time(floor, repeat)) if floor else None
            timings.append(
                Timing(name, statistics.median(samples), _p95(samples), repeat, floor_ms)
            )
            _log(f"{name}: median {timings[-1].median_ms:.1f} ms")
    engine.dispose()
    return Result(
        leads=leads,
        database=engine.dialect.name,
        started_at=started,
        python=platform.python_version(),
        platform=platform.platform(),
        cpus=os.cpu_count(),
        generate_s=generate_s,
        load_s=load_s,
        rows_loaded=rows,
        rows_per_s=rows / load_s if load_s else 0.0,
        loadavg_before=before,
        loadavg_after_load=after_load,
        loadavg_after_queries=os.getloadavg(),
        queries=timings,
    )


def format_table(r: Result) -> str:
    def la(v: tuple[float, float, float]) -> str:
        return " / ".join(f"{x:.2f}" for x in v)

    lines = [
        f"{r.leads:,} leads on {r.database} (Python {r.python}, {r.cpus} CPUs)",
        f"generate: {r.generate_s:.1f} s",
        f"load:     {r.load_s:.1f} s ({r.rows_loaded:,} rows, {r.rows_per_s:,.0f} rows/s)",
        f"load average (1/5/15 min): before {la(r.loadavg_before)}, after load "
        f"{la(r.loadavg_after_load)}, after queries {la(r.loadavg_after_queries)}",
        "",
        f"{'query':<36} {'median ms':>10} {'p95 ms':>10} {'SQL floor ms':>13}",
    ]
    for t in r.queries:
        floor = f"{t.floor_median_ms:.1f}" if t.floor_median_ms is not None else "-"
        lines.append(f"{t.name:<36} {t.median_ms:>10.1f} {t.p95_ms:>10.1f} {floor:>13}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in the work dir")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--work-dir", type=Path, help="default: a temporary folder, removed")
    args = parser.parse_args(argv)
    if args.work_dir is not None:
        result = run(args.leads, args.work_dir, args.database_url, args.repeat)
    else:
        with tempfile.TemporaryDirectory(prefix="keen-bench-") as tmp:
            result = run(args.leads, Path(tmp), args.database_url, args.repeat)
    print(format_table(result))
    if args.out is not None:
        args.out.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What every benchmark script shares: timing, percentiles, the machine, the database to use."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

TODAY = date(2026, 11, 18)  # the demo dataset's and `keen generate --today`'s pinned today


def p95(samples: list[float]) -> float:
    """Nearest-rank p95 (with 20 runs the 19th slowest; with 5 the slowest)."""
    ordered = sorted(samples)
    rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 n)
    return ordered[rank - 1]


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    rank = max(1, -(-99 * len(ordered) // 100))
    return ordered[rank - 1]


def log(message: str) -> None:
    """Progress on stderr, so the JSON/table on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    """Milliseconds of `repeat` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


@dataclass
class Stat:
    median_ms: float
    p95_ms: float
    runs: int

    @classmethod
    def of(cls, samples: list[float]) -> Stat:
        return cls(statistics.median(samples), p95(samples), len(samples))


def machine() -> dict[str, Any]:
    """Where and when the figures were taken (the load average says how shared the cores were)."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }


def ratio(value: float, limit: float | None) -> float | None:
    return None if not limit else value / limit


def suite_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every suite takes: where the data is, which organization, where to write."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL or the KEEN_DATA_DIR file")
    parser.add_argument("--data-dir", help="KEEN_DATA_DIR (semantic index, SQLite file)")
    parser.add_argument("--org", help="organization slug (default: the only one)")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    return parser


def emit(result: dict[str, Any], out: Path | None) -> int:
    """The suite's JSON result, to `out` or stdout."""
    text = json.dumps(result, indent=2, default=lambda o: getattr(o, "__dict__", str(o)))
    if out:
        out.write_text(text + "\n")
    else:
        print(text)
    return 0

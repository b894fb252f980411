"""Cold start: a new `keen ask` process until it printed its answer, a new `keen serve` until
/health answers, and the server's resident memory once the embedding model is loaded.

    uv run python -m benchmarks.cold_start --data-dir /tmp/kb/demo --out cold.json

The floor of `keen ask` is a bare `python -c pass` of the same interpreter (and, to show the
import cost, the slowest top-level imports from `python -X importtime`).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from benchmarks.common import Stat, emit, log, machine, suite_parser
from benchmarks.server import KEEN, bench_env, create_key, rss_mb, serve

QUESTION = "Which reward reports need attention?"
TODAY = "2026-11-18"


def _wall(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def slowest_imports(env: dict[str, str], n: int = 8) -> tuple[float, list[tuple[str, float]]]:
    """All imports of `keen ask` (ms), and the top-level packages costing the most."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cli.main", "ask", QUESTION, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and len(m.group(2)) <= 1:  # a top-level import (no nesting indent)
            top = m.group(3).split(".")[0]
            totals[top] = totals.get(top, 0.0) + int(m.group(1)) / 1000
    return sum(totals.values()), sorted(totals.items(), key=lambda kv: -kv[1])[:n]


def run(env: dict[str, str], runs: int, org: str | None) -> dict[str, Any]:
    floor = [_wall([sys.executable, "-c", "pass"], env) for _ in range(runs)]
    ask_args = [str(KEEN), "ask", QUESTION, "--json"] + (["--org", org] if org else [])
    _wall(ask_args, env)  # the first run may write the intent-embedding cache
    ask = [_wall(ask_args, env) for _ in range(runs)]
    log(f"keen ask: median {statistics.median(ask):.0f} ms")
    key = create_key(env, org)
    ready, rss_ready, rss_loaded = [], [], []
    for _ in range(runs):
        with serve(env) as server:
            ready.append(server.ready_s * 1000)
            rss_ready.append(rss_mb(server.process.pid))
            reply = httpx.post(
                f"{server.base_url}/api/chat",
                json={"message": QUESTION},
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
            reply.raise_for_status()
            rss_loaded.append(rss_mb(server.process.pid))
    log(f"keen serve ready: median {statistics.median(ready):.0f} ms")
    imports = slowest_imports(env)
    return {
        "benchmark": "cold_start",
        "machine": machine(),
        "python_floor_ms": Stat.of(floor),
        "keen_ask_ms": Stat.of(ask),
        "keen_serve_ready_ms": Stat.of(ready),
        "serve_rss_mb_ready": statistics.median(rss_ready),
        "serve_rss_mb_after_first_answer": statistics.median(rss_loaded),
        "imports_ms": imports[0],
        "slowest_imports_ms": imports[1],
        "loadavg_after": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = suite_parser(__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    env = bench_env(args.data_dir, args.database_url, TODAY)
    return emit(run(env, args.runs, args.org), args.out)


if __name__ == "__main__":
    sys.exit(main())

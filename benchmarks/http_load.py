"""The HTTP server under load: 32 concurrent async clients on loopback POST /api/chat
(offline model) for 60 s; requests per second and p50/p99 latency.

    uv run python -m benchmarks.http_load --data-dir /tmp/kb/demo --out http.json

The server is a real `keen serve` process (rate limit lifted, today pinned); each request
asks one of the section-8 questions in a new thread. With `--profile`, py-spy samples the
server for the middle of the run and the hottest frames are recorded, to say what limits it.
The floor is the same questions through the in-process assistant one at a time (what one
request costs without HTTP); with two cores the ideal is about 2 ÷ that per second.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.assistant_warm import QUESTIONS
from benchmarks.common import emit, log, machine, p99, suite_parser
from benchmarks.server import bench_env, create_key, rss_mb, serve

TODAY = "2026-11-18"


async def _client(
    client: httpx.AsyncClient, url: str, stop_at: float, offset: int, out: list[tuple[float, int]]
) -> None:
    i = offset
    while time.perf_counter() < stop_at:
        body = {"message": QUESTIONS[i % len(QUESTIONS)]}
        i += 1
        started = time.perf_counter()
        try:
            status = (await client.post(url, json=body)).status_code
        except httpx.HTTPError:
            status = 0
        out.append(((time.perf_counter() - started) * 1000, status))


async def load(base_url: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    samples: list[tuple[float, int]] = []
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as client:
        # Warm-up: every question once (graph, embedding model, statement caches).
        for question in QUESTIONS:
            (
                await client.post(f"{base_url}/api/chat", json={"message": question})
            ).raise_for_status()
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(
            *(_client(client, f"{base_url}/api/chat", stop_at, n, samples) for n in range(clients))
        )
        elapsed = time.perf_counter() - started
    ok = [ms for ms, status in samples if status == 200]
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": len(samples),
        "ok": len(ok),
        "statuses": dict(Counter(status for _, status in samples)),
        "req_per_s": len(ok) / elapsed,
        "p50_ms": statistics.median(ok) if ok else None,
        "p99_ms": p99(ok) if ok else None,
        "max_ms": max(ok) if ok else None,
    }


def _profile(pid: int, seconds: int, gil: bool) -> dict[str, Any] | str:
    """py-spy samples of the server: with `gil`, only the thread holding the GIL (where the
    CPU goes); without, every busy thread (also those waiting on a lock)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return "py-spy not installed"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        done = subprocess.run(
            [
                spy,
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                "50",
                "-f",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
                "--full-filenames",
                *(["--gil"] if gil else []),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not raw.exists():
            return f"py-spy failed: {done.stderr.strip()[-300:]}"
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            own[frames[-1]] += int(count)
            for area in {_area(f) for f in frames}:
                inclusive[area] += int(count)
        total = sum(own.values()) or 1
        return {
            "samples": total,
            "top_frames_pct": [(f, round(100 * n / total, 1)) for f, n in own.most_common(12)],
            "areas_pct": [(a, round(100 * n / total, 1)) for a, n in inclusive.most_common(16)],
        }


def _area(frame: str) -> str:
    """A frame's package (e.g. `sqlalchemy`, `langgraph`, `agent`, `domain`)."""
    where = frame.rpartition("(")[2].rstrip(")")
    if "site-packages/" in where:
        return where.split("site-packages/")[1].split("/")[0]
    for mine in ("agent", "domain", "tools", "web", "server.py", "benchmarks"):
        if f"/{mine}" in where:
            return mine
    return where.split("/")[-1].split(":")[0] or frame


def run(
    env: dict[str, str],
    org: str | None,
    clients: int,
    seconds: float,
    profile: bool,
    workers: int = 1,
) -> dict:
    key = create_key(env, org)
    with serve(env, workers=workers) as server:
        profiled: Any = None
        if profile:
            loop_task = asyncio.new_event_loop()
            import threading

            holder: dict[str, Any] = {}

            def spy() -> None:
                time.sleep(min(10.0, seconds / 4) + 2)
                span = int(max(5, seconds / 4))
                holder["p"] = {
                    "gil": _profile(server.process.pid, span, gil=True),
                    "all_threads": _profile(server.process.pid, span, gil=False),
                }

            t = threading.Thread(target=spy)
            t.start()
            result = loop_task.run_until_complete(load(server.base_url, key, clients, seconds))
            t.join()
            profiled = holder.get("p")
        else:
            result = asyncio.run(load(server.base_url, key, clients, seconds))
        rss = rss_mb(server.process.pid)
    log(
        f"{result['req_per_s']:.1f} req/s, p50 {result['p50_ms']:.0f} ms, "
        f"p99 {result['p99_ms']:.0f} ms ({result['ok']}/{result['requests']} ok)"
    )
    return {
        "benchmark": "http_load",
        "machine": machine(),
        **result,
        "server_rss_mb_after": rss,
        "profile": profiled,
        "loadavg_after": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = suite_parser(__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--workers", type=int, default=1, help="keen serve --workers N")
    args = parser.parse_args(argv)
    env = bench_env(args.data_dir, args.database_url, TODAY)
    result = run(env, args.org, args.clients, args.seconds, args.profile, args.workers)
    return emit({**result, "workers": args.workers}, args.out)


if __name__ == "__main__":
    sys.exit(main())

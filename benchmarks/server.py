"""A `keen serve` process for the benchmarks: started on a free loopback port, ready when
/health answers, with an API key, its resident memory read from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

KEEN = Path(sys.executable).with_name("keen")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(data_dir: str | None, database_url: str | None, today: str) -> dict[str, str]:
    """The server's environment: the benchmarked data, a pinned today, no rate limit."""
    env = dict(os.environ)
    if data_dir:
        env["KEEN_DATA_DIR"] = data_dir
    if database_url:
        env["DATABASE_URL"] = database_url
    env["KEEN_TODAY"] = today
    env["KEEN_MODEL"] = env.get("KEEN_MODEL", "offline")
    env["KEEN_RATE_LIMIT_PER_MINUTE"] = "100000000"  # measure the server, not the limiter
    env["KEEN_RATE_LIMIT_BURST"] = "100000000"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def create_key(env: dict[str, str], org: str | None) -> str:
    args = [str(KEEN), "keys", "create", "--scope", "chat", "--name", "benchmark"]
    if org:
        args += ["--org", org]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def rss_mb(pid: int) -> float:
    """Resident set size of a process (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    ready_s: float  # from spawn to the first 200 of /health


@contextmanager
def serve(env: dict[str, str], timeout_s: float = 120.0, workers: int = 1) -> Iterator[Server]:
    """Start `keen serve [--workers N]`, wait until /health answers 200, stop it afterwards."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(KEEN), "serve", "--port", str(port), "--log-level", "warning"]
        + (["--workers", str(workers)] if workers > 1 else []),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"keen serve exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError("keen serve did not become ready")
            time.sleep(0.02)
        yield Server(process, base, time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""Run a real `keen serve` in a subprocess on a free loopback port (tests, smoke checks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# settings a developer's shell may carry that must not leak into a test server
SCRUBBED = ("DATABASE_URL", "KEEN_TODAY", "KEEN_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL")


@dataclass(frozen=True)
class RunningServer:
    url: str
    env: dict[str, str]
    log_path: Path
    pid: int  # for tests that kill the server (SIGKILL) to prove what survives

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def keen(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a `keen` command against the server's database and data folder."""
        return run_keen(self.env, *args, timeout=timeout)


def run_keen(
    env: Mapping[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """A `keen` command in its own process (a restart between two commands is real)."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update({"KEEN_DATA_DIR": str(data_dir), "KEEN_MODEL": "offline"})
    env.update(extra or {})
    return env


@contextmanager
def running_server(
    data_dir: Path,
    demo: bool = True,
    extra_env: Mapping[str, str] | None = None,
    startup_timeout: float = 240,
    args: Sequence[str] = (),
) -> Iterator[RunningServer]:
    """Start `keen serve [--demo] [args]`, wait until /health answers, stop it afterwards."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(data_dir, extra_env)
    port = free_port()
    log_path = data_dir / f"server-{port}.log"
    command = [sys.executable, "-m", "cli.main", "serve", "--port", str(port)]
    command += ["--demo"] if demo else []
    command += list(args)
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"keen serve exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"keen serve did not start in time:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield RunningServer(url=url, env=env, log_path=log_path, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

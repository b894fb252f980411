#!/usr/bin/env python3
"""The two quickstart commands, on a machine that has only Python 3.11+.

    python3 run.py serve   # the main job: `keen serve --demo` (server with the demo data)
    python3 run.py test    # the test suite (what CI runs)
    python3 run.py check   # ruff, mypy (domain/, tools/) and pip-audit of uv.lock (CI, first)

Anything else is passed to `keen`: `python3 run.py ask "Which reward reports need attention?"`.
It installs uv into `.tools/` when uv is missing, then runs everything through `uv run`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"


def find_uv() -> str:
    """uv from PATH, else from the project's own bootstrap venv (created on first use)."""
    found = shutil.which("uv")
    if found:
        return found
    local = TOOLS / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")
    if not local.exists():
        print("uv not found: installing it into .tools/ ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(TOOLS)
        pip = TOOLS / ("Scripts/pip.exe" if os.name == "nt" else "bin/pip")
        subprocess.run([str(pip), "install", "--quiet", "uv"], check=True)
    return str(local)


def run(cmd: list[str]) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def main(argv: list[str]) -> int:
    uv = find_uv()
    # Bytecode compiled once at install: every `keen` process (tests start many) then skips
    # recompiling the libraries, even where PYTHONDONTWRITEBYTECODE is set.
    if run([uv, "sync", "--frozen", "--compile-bytecode"]) != 0:
        return 1
    task, rest = (argv[0], argv[1:]) if argv else ("serve", [])
    if task == "serve":
        return run([uv, "run", "keen", "serve", "--demo", *rest])
    if task == "check":
        # static checks CI runs before the tests: lint, types of domain/ and tools/, audit
        for step in (
            [uv, "run", "ruff", "check", "."],
            [uv, "run", "ruff", "format", "--check", "."],
            [uv, "run", "mypy"],
            [uv, "run", "python", ".ci/audit.py"],
        ):
            if run(step) != 0:
                return 1
        return 0
    if task == "test":
        code = run([uv, "run", "pytest", *rest])
        if code == 5:
            print("pytest collected no tests: the setup is broken", file=sys.stderr)
            return 1
        return code
    return run([uv, "run", "keen", task, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

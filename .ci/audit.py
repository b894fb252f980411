#!/usr/bin/env python3
"""Audit the locked dependencies (uv.lock) for known vulnerabilities with pip-audit.

Fails (exit 1) on any known vulnerability. When the vulnerability service cannot be reached or
has no record of the locked versions (a registry mirror without PyPI's JSON API, no network),
it says so loudly and exits 0: an audit that could not run must not pass for a clean one, and
must not block CI on a machine that cannot reach the service either.

    python .ci/audit.py            # run from the repository root, inside the project venv
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


EXPORT = ("export", "--frozen", "--format", "requirements-txt", "--no-hashes", "--no-emit-project")
AUDIT = ("--no-deps", "--disable-pip", "--progress-spinner", "off", "--format", "json")


def uv() -> str:
    return shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")


def locked_requirements(out: Path) -> None:
    """The lock file as pinned requirements (the project itself left out)."""
    subprocess.run(
        [uv(), *EXPORT, "--quiet", "-o", str(out)],
        cwd=ROOT,
        check=True,
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        locked_requirements(requirements)
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "-r", str(requirements), *AUDIT, "--timeout", "20"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print("AUDIT NOT RUN: pip-audit failed before auditing anything:", file=sys.stderr)
        print(done.stderr.strip()[-2000:], file=sys.stderr)
        return 0
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulnerable = [d for d in deps if d.get("vulns")]
    audited = len(deps) - len(skipped)
    for dep in vulnerable:
        ids = ", ".join(v["id"] for v in dep["vulns"])
        print(f"VULNERABLE: {dep['name']} {dep.get('version', '')}: {ids}")
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} vulnerable package(s) of {len(deps)} locked")
        return 1
    if skipped:
        print(
            f"AUDIT INCOMPLETE: the vulnerability service had no answer for {len(skipped)} of "
            f"{len(deps)} locked packages (e.g. {skipped[0]['skip_reason']}); they were NOT "
            "audited. Run `python .ci/audit.py` where PyPI's JSON API is reachable."
        )
    print(f"pip-audit: {audited} of {len(deps)} locked packages audited, 0 known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())

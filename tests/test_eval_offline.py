"""CI's eval gate: the whole suite (dev and test splits), offline, must pass at 95% or more with
every answer grounded. This is `keen eval --split all` run by pytest, so `python3 run.py test`
(what CI runs) fails when the assistant's pass rate drops below the bar.

The reports land in `reports/` (git-ignored) for CI to keep: eval.json, eval-junit.xml and
eval-summary.md.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from cli.eval_command import EvalOptions, run_eval
from evals.report import SUMMARY_NAME

REPORTS = Path(__file__).resolve().parent.parent / "reports"
BAR = 0.95


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_offline_eval_passes_the_bar() -> None:
    printed = io.StringIO()
    code = run_eval(
        EvalOptions(model="offline", split="all", min_pass=BAR, min_grounding=1.0, out_dir=REPORTS),
        Console(file=printed, width=160),
    )
    summary = (REPORTS / SUMMARY_NAME).read_text(encoding="utf-8")
    assert code == 0, summary

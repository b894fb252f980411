"""The data-layer benchmark still runs end to end (a smoke test: timings are not checked)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.data_layer import main, run


def test_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    result = run(500, tmp_path, repeat=1)
    assert result.leads == 500
    assert result.database == "sqlite"
    # One timing per benchmarked query: 13 domain calls (see _cases).
    assert len(result.queries) == 13
    assert all(t.runs == 1 for t in result.queries)
    assert result.rows_loaded > 500  # leads plus the other files


def test_cli_writes_json(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "results.json"
    work = tmp_path / "work"
    assert (
        main(["--leads", "200", "--repeat", "1", "--out", str(out), "--work-dir", str(work)]) == 0
    )
    data = json.loads(out.read_text())
    assert data["leads"] == 200
    assert {q["name"] for q in data["queries"]} >= {"count_leads (stuck)", "funnel (all time)"}
    assert "median ms" in capsys.readouterr().out

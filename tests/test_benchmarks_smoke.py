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


# --- the whole suite (python -m benchmarks), tiny size, SQLite ------------------------------


def test_suite_runs_at_a_tiny_size_and_writes_the_docs(tmp_path: Path) -> None:
    """Every suite runs end to end on 300 generated leads; no timing is asserted (CI machines
    vary), only that each result has its figures and the report renders them."""
    from benchmarks import report
    from benchmarks.__main__ import main as run_suite

    results = tmp_path / "results"
    argv = ["--size", "300", "--quick", "--work-dir", str(tmp_path / "work")]
    argv += ["--suites", "tools,warm,cost,http,cold"]
    assert run_suite([*argv, "--results", str(results), "--no-docs"]) == 0

    tools = json.loads((results / "tools-300-sqlite.json").read_text())
    assert tools["leads"] == 300
    # One timing per tool of the registry, each with its floor and ratio.
    assert len(tools["tools"]) == 12
    assert {t["tool"] for t in tools["tools"]} >= {"find_leads", "list_reward_reports"}
    assert all(t["floor_ms"]["median_ms"] > 0 and t["ratio_median"] for t in tools["tools"])

    warm = json.loads((results / "warm-300-sqlite.json").read_text())
    assert len(warm["questions"]) == 7  # the section-8 questions
    assert all(q["answer_ms"]["median_ms"] > 0 for q in warm["questions"])

    cost = json.loads((results / "cost-300-sqlite.json").read_text())
    keen, peer = cost["keen"], cost["langchain_sql_agent"]
    # The stub's ideal script: a tool call then the answer; LangChain lists the tables, reads
    # the schema, queries, answers.
    assert [r["model_calls"] for r in keen] == [2] * 7
    assert [r["model_calls"] for r in peer] == [4] * 7
    assert all(r["prompt_tokens"] > 0 for r in keen + peer)

    http = json.loads((results / "http-300-sqlite.json").read_text())
    assert http["clients"] == 4 and http["ok"] > 0 and http["ok"] == http["requests"]

    cold = json.loads((results / "cold-300-sqlite.json").read_text())
    assert cold["keen_ask_ms"]["median_ms"] > cold["python_floor_ms"]["median_ms"]
    assert cold["serve_rss_mb_after_first_answer"] > 0

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nHand-written notes stay.\n")
    report.update(doc, results)
    report.update(doc, results)  # idempotent: the generated part is replaced, not appended
    text = doc.read_text()
    assert text.count(report.START) == 1 and "Hand-written notes stay." in text
    assert "tool ÷ floor" in text and "Keen ÷ LangChain prompt" in text

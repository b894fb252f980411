"""Figures of an eval run (per category and split) and the reports: console, JSON, JUnit, markdown.

Pass rate is pass^k: the share of cases whose every one of the K runs passed (K = --repeat;
with K = 1 it is the plain pass rate). Grounding is the agent's own check on each answer: the
share of answers whose every number appears in a tool result (or in the question).
"""

from __future__ import annotations

import json
import math
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evals.runner import CaseOutcome, SuiteResult, TurnOutcome

# USD per million tokens (input, output), for the cost column of model runs.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
}

JSON_NAME = "eval.json"
JUNIT_NAME = "eval-junit.xml"
SUMMARY_NAME = "eval-summary.md"


def is_offline(model: str) -> bool:
    return model == "offline"


Price = tuple[float, float]


def price_for(model: str, override: Price | None = None) -> Price | None:
    if override is not None:
        return override
    return PRICES_PER_MTOK.get(model.split(":", 1)[-1])


@dataclass(frozen=True)
class GroupStats:
    name: str
    cases: int
    passed: int
    pass_rate: float
    mean_run_pass_rate: float
    questions: int
    median_latency_s: float | None
    p95_latency_s: float | None
    tool_calls_per_question: float
    answers: int
    grounded_answers: int
    prompt_tokens_per_question: float
    completion_tokens_per_question: float
    cost_per_question_usd: float | None

    @property
    def grounding_share(self) -> float | None:
        return self.grounded_answers / self.answers if self.answers else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def group_stats(
    name: str, outcomes: Sequence[CaseOutcome], price: tuple[float, float] | None
) -> GroupStats:
    turns: list[TurnOutcome] = [t for o in outcomes for t in o.turns]
    answered = [t for t in turns if t.error is None]
    judged = [t for t in answered if t.grounded is not None]
    latencies = [t.latency_s for t in answered]
    asked = len(turns) or 1
    prompt = sum(t.prompt_tokens for t in turns) / asked
    completion = sum(t.completion_tokens for t in turns) / asked
    cost = (prompt * price[0] + completion * price[1]) / 1e6 if price else None
    passed = sum(o.passed for o in outcomes)
    return GroupStats(
        name=name,
        cases=len(outcomes),
        passed=passed,
        pass_rate=passed / len(outcomes) if outcomes else 0.0,
        mean_run_pass_rate=statistics.fmean(o.pass_rate for o in outcomes) if outcomes else 0.0,
        questions=len(turns),
        median_latency_s=statistics.median(latencies) if latencies else None,
        p95_latency_s=percentile(latencies, 95),
        tool_calls_per_question=sum(len(t.tool_calls) for t in turns) / asked,
        answers=len(judged),
        grounded_answers=sum(bool(t.grounded) for t in judged),
        prompt_tokens_per_question=prompt,
        completion_tokens_per_question=completion,
        cost_per_question_usd=cost,
    )


@dataclass(frozen=True)
class Summary:
    model: str
    repeat: int
    overall: GroupStats
    by_split: list[GroupStats]
    by_category: list[GroupStats]


def summarize(result: SuiteResult, price: tuple[float, float] | None = None) -> Summary:
    price = price_for(result.model, price) if not is_offline(result.model) else None

    def grouped(key: Callable[[CaseOutcome], str]) -> list[GroupStats]:
        names = sorted({key(o) for o in result.outcomes})
        return [group_stats(n, [o for o in result.outcomes if key(o) == n], price) for n in names]

    return Summary(
        model=result.model,
        repeat=result.repeat,
        overall=group_stats("all", result.outcomes, price),
        by_split=grouped(lambda o: o.case.split),
        by_category=grouped(lambda o: o.case.category),
    )


def gate(summary: Summary, min_pass: float, min_grounding: float) -> list[str]:
    """Why the run is below the bar (empty when it passes)."""
    reasons = []
    overall = summary.overall
    if overall.pass_rate < min_pass:
        reasons.append(f"pass rate {overall.pass_rate:.1%} is below the bar {min_pass:.1%}")
    share = overall.grounding_share
    if share is not None and share < min_grounding:
        reasons.append(f"grounding {share:.1%} is below the bar {min_grounding:.1%}")
    return reasons


# ---- formatting helpers ---------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _columns(summary: Summary) -> list[tuple[str, Callable[[GroupStats], str]]]:
    cols: list[tuple[str, Callable[[GroupStats], str]]] = [
        ("cases", lambda g: str(g.cases)),
        ("passed", lambda g: str(g.passed)),
        (
            "pass rate" if summary.repeat == 1 else f"pass^{summary.repeat}",
            lambda g: _pct(g.pass_rate),
        ),
    ]
    if summary.repeat > 1:
        cols.append(("mean run pass", lambda g: _pct(g.mean_run_pass_rate)))
    cols += [
        ("median latency", lambda g: _secs(g.median_latency_s)),
        ("p95 latency", lambda g: _secs(g.p95_latency_s)),
        ("tool calls/q", lambda g: f"{g.tool_calls_per_question:.2f}"),
        ("grounded", lambda g: _pct(g.grounding_share)),
    ]
    if not is_offline(summary.model):
        cols += [
            ("prompt tok/q", lambda g: f"{g.prompt_tokens_per_question:,.0f}"),
            ("completion tok/q", lambda g: f"{g.completion_tokens_per_question:,.0f}"),
            (
                "cost/q (USD)",
                lambda g: (
                    "n/a" if g.cost_per_question_usd is None else f"{g.cost_per_question_usd:.5f}"
                ),
            ),
        ]
    return cols


def failures(result: SuiteResult) -> list[tuple[CaseOutcome, TurnOutcome]]:
    """The first failing turn of each failing case (first failing run)."""
    found = []
    for outcome in result.outcomes:
        for run in outcome.runs:
            bad = next((t for t in run if not t.passed), None)
            if bad is not None:
                found.append((outcome, bad))
                break
    return found


# ---- console --------------------------------------------------------------------------------


def print_report(
    result: SuiteResult, summary: Summary, console: Console, show_failures: bool = True
) -> None:
    columns = _columns(summary)
    for title, groups in (("By category", summary.by_category), ("By split", summary.by_split)):
        table = Table(title=f"{title} — model {summary.model}, {summary.repeat} run(s) per case")
        table.add_column(title.split()[-1])
        for header, _ in columns:
            table.add_column(header, justify="right")
        for group in [*groups, summary.overall]:
            style = "bold" if group is summary.overall else None
            table.add_row(group.name, *(fmt(group) for _, fmt in columns), style=style)
        console.print(table)
    if show_failures:
        for outcome, turn in failures(result):
            console.print(
                f"[red]FAIL[/red] {outcome.case.id} ({outcome.case.split}/"
                f"{outcome.case.category}) — {turn.question!r}: {'; '.join(turn.failures)}",
                highlight=False,
            )


# ---- files ----------------------------------------------------------------------------------


def _turn_json(turn: TurnOutcome) -> dict[str, Any]:
    return {
        "question": turn.question,
        "passed": turn.passed,
        "answer": turn.answer,
        "tool_calls": turn.tool_calls,
        "grounded": turn.grounded,
        "latency_s": round(turn.latency_s, 4),
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "error": turn.error,
        "checks": [asdict(c) for c in turn.checks],
    }


def _stats_json(group: GroupStats) -> dict[str, Any]:
    return asdict(group) | {"grounding_share": group.grounding_share}


def to_json(result: SuiteResult, summary: Summary, bar: dict[str, float]) -> dict[str, Any]:
    return {
        "model": result.model,
        "repeat": result.repeat,
        "started_at": result.started_at.isoformat(),
        "duration_s": round(result.duration_s, 3),
        "bar": bar,
        "below_bar": gate(summary, bar["min_pass"], bar["min_grounding"]),
        "summary": {
            "overall": _stats_json(summary.overall),
            "by_split": [_stats_json(g) for g in summary.by_split],
            "by_category": [_stats_json(g) for g in summary.by_category],
        },
        "cases": [
            {
                "id": o.case.id,
                "split": o.case.split,
                "category": o.case.category,
                "tags": list(o.case.tags),
                "source": o.case.source,
                "passed": o.passed,
                "pass_rate": o.pass_rate,
                "runs": [[_turn_json(t) for t in run] for run in o.runs],
            }
            for o in result.outcomes
        ],
    }


def to_junit(result: SuiteResult) -> ET.ElementTree:
    """One testsuite per category, one testcase per case (failed when any run failed)."""
    root = ET.Element("testsuites", name="keen-eval", model=result.model)
    categories = sorted({o.case.category for o in result.outcomes})
    total_tests = total_failures = 0
    for category in categories:
        members = [o for o in result.outcomes if o.case.category == category]
        failed = [o for o in members if not o.passed]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=category,
            tests=str(len(members)),
            failures=str(len(failed)),
            errors="0",
            time=f"{sum(t.latency_s for o in members for t in o.turns):.3f}",
        )
        for outcome in members:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"eval.{outcome.case.split}.{category}",
                name=outcome.case.id,
                time=f"{sum(t.latency_s for t in outcome.turns):.3f}",
            )
            if not outcome.passed:
                run = next(r for r in outcome.runs if not all(t.passed for t in r))
                bad = [t for t in run if not t.passed]
                failure = ET.SubElement(case, "failure", message="; ".join(bad[0].failures))
                failure.text = "\n\n".join(
                    f"Q: {t.question}\nFailed: {'; '.join(t.failures)}\nA: {t.answer}" for t in bad
                )
        total_tests += len(members)
        total_failures += len(failed)
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("time", f"{result.duration_s:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def _markdown_table(summary: Summary, groups: list[GroupStats], first: str) -> str:
    columns = _columns(summary)
    lines = [
        "| " + " | ".join([first, *(h for h, _ in columns)]) + " |",
        "| " + " | ".join(["---"] + ["---:"] * len(columns)) + " |",
    ]
    for group in [*groups, summary.overall]:
        cells = [fmt(group) for _, fmt in columns]
        name = f"**{group.name}**" if group is summary.overall else group.name
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def to_markdown(result: SuiteResult, summary: Summary, bar: dict[str, float]) -> str:
    reasons = gate(summary, bar["min_pass"], bar["min_grounding"])
    splits = ", ".join(
        f"{g.name} {_pct(g.pass_rate)} ({g.passed}/{g.cases})" for g in summary.by_split
    )
    lines = [
        "# Keen assistant eval",
        "",
        f"- model: `{result.model}`, runs per case: {result.repeat}, "
        f"started {result.started_at:%Y-%m-%d %H:%M} UTC, {result.duration_s:.1f} s",
        f"- pass rate: **{_pct(summary.overall.pass_rate)}** "
        f"({summary.overall.passed}/{summary.overall.cases}); by split: {splits}",
        f"- grounding (answers whose every number comes from a tool result): "
        f"**{_pct(summary.overall.grounding_share)}**",
        f"- bar: pass rate ≥ {bar['min_pass']:.0%}, grounding ≥ {bar['min_grounding']:.0%} — "
        + ("**below the bar**: " + "; ".join(reasons) if reasons else "**passed**"),
        "",
        "## By category",
        "",
        _markdown_table(summary, summary.by_category, "category"),
        "",
        "## By split",
        "",
        _markdown_table(summary, summary.by_split, "split"),
        "",
    ]
    failed = failures(result)
    lines += ["## Failures", ""]
    if not failed:
        lines.append("None.")
    for outcome, turn in failed:
        lines.append(
            f"- `{outcome.case.id}` ({outcome.case.split}/{outcome.case.category}) "
            f"“{turn.question}”: {'; '.join(turn.failures)}"
        )
    return "\n".join(lines) + "\n"


def write_reports(
    result: SuiteResult, summary: Summary, out_dir: Path, bar: dict[str, float]
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / JSON_NAME,
        "junit": out_dir / JUNIT_NAME,
        "summary": out_dir / SUMMARY_NAME,
    }
    paths["json"].write_text(
        json.dumps(to_json(result, summary, bar), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    to_junit(result).write(paths["junit"], encoding="utf-8", xml_declaration=True)
    paths["summary"].write_text(to_markdown(result, summary, bar), encoding="utf-8")
    return paths

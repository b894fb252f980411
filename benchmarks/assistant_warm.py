"""Warm, in-process answer time of the offline assistant over the section-8 questions,
against its own floor: the time of the tool calls it made plus embedding the question.

    KEEN_DATA_DIR=/tmp/keen-bench uv run keen load evals/fixtures/demo
    KEEN_DATA_DIR=/tmp/keen-bench uv run python -m benchmarks.assistant_warm --out warm.json

Each question is asked `--runs` times in one process (after a warm-up), each in a new thread.
Then every tool call the answer made is invoked directly (same arguments, same context) and
the question is embedded with the same local model: the sum of those medians is what the
assistant cannot avoid; the rest (planning, LangGraph, the checkpointer, the answer
templates) is its overhead. Target: ≤ 2× that sum, and < 100 ms median at 100,000 leads.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

from sqlalchemy import text

from benchmarks.common import TODAY, Stat, emit, log, machine, p95, ratio, suite_parser, timed

_CHANNEL_NAMES = text("SELECT name FROM channels WHERE org_id = :o")
QUESTIONS = (
    "Which reward reports need attention?",
    "Which partners have the best conversion rate?",
    "Where are leads getting stuck?",
    "Which channel generated the most revenue this month?",
    "Find partners with high lead volume but low conversion.",
    "Help me improve the Atlas channel's performance.",
    "Show me rewards that are approved but not paid.",
)


def _with_channel(questions: tuple[str, ...], channel: str | None) -> tuple[str, ...]:
    """Generated data has no "Atlas" channel: ask about its busiest channel instead."""
    if channel is None:
        return questions
    return tuple(q.replace("the Atlas channel's", f"the {channel} channel's") for q in questions)


def channel_in_questions(org_id: int) -> str:
    """The channel the improvement question names: Atlas in the demo, else the busiest one."""
    from benchmarks.tools_floor import _samples
    from domain.db import get_engine

    with get_engine().connect() as conn:
        names = conn.execute(_CHANNEL_NAMES, {"o": org_id}).scalars().all()
        atlas = [n for n in names if n.lower().startswith("atlas advisory")]
        return atlas[0] if atlas else _samples(conn, org_id)["channel"]


def questions_for(org_id: int, questions: tuple[str, ...] = QUESTIONS) -> tuple[str, ...]:
    channel = channel_in_questions(org_id)
    return questions if channel.lower().startswith("atlas") else _with_channel(questions, channel)


def run(runs: int, org: str | None, questions: tuple[str, ...] = QUESTIONS) -> dict[str, Any]:
    from agent.service import Asker, Assistant
    from benchmarks.tools_floor import _tool_call
    from domain.db import get_engine, resolve_org, session_scope
    from domain.semantic.embedder import local_embedder

    with session_scope(get_engine()) as s:
        organization = resolve_org(s, org)
        org_id, slug = organization.id, organization.slug
    questions = questions_for(org_id, questions)
    embedder = local_embedder()
    asker = Asker(org_slug=slug)
    assistant = Assistant("offline")
    assistant.ask("Which channels do we have?", asker, today=TODAY)  # warm-up: graph, model
    times: dict[str, list[float]] = {q: [] for q in questions}
    calls: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for _ in range(runs):
        for question in questions:
            started = time.perf_counter()
            answer = assistant.ask(question, asker, today=TODAY)
            times[question].append((time.perf_counter() - started) * 1000)
            calls[question] = [(c.name, dict(c.args)) for c in answer.tool_calls]
    rows = []
    for question in questions:
        tool_ms = {}
        for name, args in calls[question]:
            samples = timed(_tool_call(name, args, org_id, slug), runs)
            tool_ms[f"{name}({json.dumps(args, default=str)})"] = statistics.median(samples)
        embed_ms = statistics.median(timed(lambda q=question: embedder.embed([q]), runs))
        floor = sum(tool_ms.values()) + embed_ms
        answer_ms = Stat.of(times[question])
        rows.append(
            {
                "question": question,
                "answer_ms": answer_ms,
                "tools_ms": tool_ms,
                "embed_ms": embed_ms,
                "floor_ms": floor,
                "ratio_median": ratio(answer_ms.median_ms, floor),
            }
        )
        log(
            f"{answer_ms.median_ms:8.1f} ms (p95 {answer_ms.p95_ms:8.1f}) floor {floor:8.1f} ms "
            f"×{rows[-1]['ratio_median']:.2f}  {question}"
        )
    every = [x for values in times.values() for x in values]
    floors = sum(r["floor_ms"] for r in rows)
    medians = sum(r["answer_ms"].median_ms for r in rows)
    return {
        "benchmark": "assistant_warm",
        "machine": machine(),
        "database": get_engine().dialect.name,
        "runs": runs,
        "questions": rows,
        "all_answers": {"median_ms": statistics.median(every), "p95_ms": p95(every)},
        "ratio_sum_of_medians": ratio(medians, floors),
        "loadavg_after": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = suite_parser(__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    from benchmarks.tools_floor import use_database

    use_database(args.database_url, args.data_dir)
    return emit(run(args.runs, args.org), args.out)


if __name__ == "__main__":
    sys.exit(main())

"""Warm, in-process answer time of the offline assistant over the section-8 questions.

KEEN_DATA_DIR=/tmp/keen-bench uv run keen load evals/fixtures/demo
KEEN_DATA_DIR=/tmp/keen-bench uv run python -m benchmarks.assistant_warm
"""

from __future__ import annotations

import statistics
import time
from datetime import date

from agent.service import Asker, Assistant

TODAY = date(2026, 11, 18)  # the demo dataset's pinned today
QUESTIONS = (
    "Which reward reports need attention?",
    "Which partners have the best conversion rate?",
    "Where are leads getting stuck?",
    "Which channel generated the most revenue this month?",
    "Find partners with high lead volume but low conversion.",
    "Help me improve the Atlas channel's performance.",
    "Show me rewards that are approved but not paid.",
)


def main(runs: int = 5) -> None:
    assistant = Assistant("offline")
    assistant.ask("Which channels do we have?", Asker(), today=TODAY)  # warm-up
    times: dict[str, list[float]] = {q: [] for q in QUESTIONS}
    for _ in range(runs):
        for question in QUESTIONS:
            started = time.perf_counter()
            assistant.ask(question, Asker(), today=TODAY)
            times[question].append((time.perf_counter() - started) * 1000)
    for question, values in times.items():
        print(f"{statistics.median(values):7.1f} ms  {question}")
    every = sorted(x for values in times.values() for x in values)
    p95 = every[max(0, int(0.95 * len(every)) - 1)]
    print(f"median {statistics.median(every):.1f} ms, p95 {p95:.1f} ms over {len(every)}")


if __name__ == "__main__":
    main()

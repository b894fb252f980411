"""Warm, in-process answer time of the offline assistant over the section-8 questions.

KEEN_DATA_DIR=/tmp/keen-bench uv run keen load evals/fixtures/demo
KEEN_DATA_DIR=/tmp/keen-bench uv run python -m benchmarks.assistant_warm
"""

import statistics, time
from datetime import date
from agent.service import Assistant, Asker

QS = [
    "Which reward reports need attention?",
    "Which partners have the best conversion rate?",
    "Where are leads getting stuck?",
    "Which channel generated the most revenue this month?",
    "Find partners with high lead volume but low conversion.",
    "Help me improve the Atlas channel's performance.",
    "Show me rewards that are approved but not paid.",
]
a = Assistant("offline")
a.ask("warm up: which channels do we have?", Asker(), today=date(2026, 11, 18))
times = {q: [] for q in QS}
for _ in range(5):
    for q in QS:
        t = time.perf_counter()
        a.ask(q, Asker(), today=date(2026, 11, 18))
        times[q].append((time.perf_counter() - t) * 1000)
allt = [x for v in times.values() for x in v]
for q, v in times.items():
    print(f"{statistics.median(v):7.1f} ms  {q}")
print(
    f"median {statistics.median(allt):.1f} ms, p95 {sorted(allt)[int(0.95 * len(allt)) - 1]:.1f} ms over {len(allt)}"
)

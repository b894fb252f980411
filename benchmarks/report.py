"""Turn the JSON results under benchmarks/results/ into the generated part of
docs/benchmarks.md (between the `generated` markers), so the figures there are always the
ones the scripts wrote, each with its ratio to the floor or to the peer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- generated:start -->", "<!-- generated:end -->"
SIZES = ("demo", "100k", "1m")
DBS = ("sqlite", "postgres")


def _load(results: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {}
    for path in sorted(results.glob("*.json")):
        suite, size, db = path.stem.split("-", 2)
        if db in DBS:  # other runs (e.g. http-demo-sqlite-2workers) are quoted by hand
            found[(suite, size, db)] = json.loads(path.read_text())
    return found


def _sizes(found: dict) -> list[str]:
    """The sizes with results: demo, 100k, 1m first, then any other (e.g. the smoke test's)."""
    seen = {size for _, size, _ in found}
    return [*(s for s in SIZES if s in seen), *sorted(seen - set(SIZES))]


def _ordered(found: dict, suite: str) -> list[tuple[tuple[str, str, str], dict[str, Any]]]:
    """One suite's results by size (demo, 100k, 1m, others) then database."""
    sizes = _sizes(found)
    rows = [(k, v) for k, v in found.items() if k[0] == suite]
    return sorted(rows, key=lambda kv: (sizes.index(kv[0][1]), DBS.index(kv[0][2])))


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _la(values: Any) -> str:
    return " / ".join(f"{x:.1f}" for x in values)


def _when(r: dict[str, Any]) -> str:
    """When the run ended, and the load average then (1, 5, 15 min: the 5- and 15-minute
    figures cover the run itself)."""
    when = r["machine"]["date"].replace("T", " ")
    load = r.get("loadavg_after") or r["machine"]["loadavg"]
    return f"ended {when} UTC, load average {_la(load)}"


def tools_section(found: dict) -> list[str]:
    out = ["### Every tool against its SQL floor", ""]
    for size in _sizes(found):
        for db in DBS:
            r = found.get(("tools", size, db))
            if r is None:
                out += [f"**{size}, {db}**: not measured in this run.", ""]
                continue
            out += [
                f"**{r['leads']:,} leads, {db}** ({r['repeat']} timed runs each; {_when(r)})",
                "",
                "| tool (arguments) | median ms | p95 ms | floor ms | tool ÷ floor |",
                "| --- | ---: | ---: | ---: | ---: |",
            ]
            for t in r["tools"]:
                args = json.dumps(t["args"]) if t["args"] else ""
                out.append(
                    f"| `{t['tool']}` {args} | {_ms(t['tool_ms']['median_ms'])} | "
                    f"{_ms(t['tool_ms']['p95_ms'])} | {_ms(t['floor_ms']['median_ms'])} | "
                    f"{_x(t['ratio_median'])} |"
                )
            out.append("")
    return out


def warm_section(found: dict) -> list[str]:
    out = ["### Offline assistant, warm, against its tool calls + the question's embedding", ""]
    for size in _sizes(found):
        for db in DBS:
            r = found.get(("warm", size, db))
            if r is None:
                out += [f"**{size}, {db}**: not measured in this run.", ""]
                continue
            every = r["all_answers"]
            out += [
                f"**{size}, {db}** ({r['runs']} runs per question; {_when(r)}): all answers "
                f"median **{_ms(every['median_ms'])} ms**, p95 {_ms(every['p95_ms'])} ms; "
                f"sum of medians ÷ sum of floors **{_x(r['ratio_sum_of_medians'])}**",
                "",
                "| question | median ms | p95 ms | tools ms | embedding ms | answer ÷ floor |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            for q in r["questions"]:
                tools = sum(q["tools_ms"].values())
                out.append(
                    f"| {q['question']} | {_ms(q['answer_ms']['median_ms'])} | "
                    f"{_ms(q['answer_ms']['p95_ms'])} | {_ms(tools)} | {_ms(q['embed_ms'])} | "
                    f"{_x(q['ratio_median'])} |"
                )
            out.append("")
    return out


def http_section(found: dict) -> list[str]:
    out = ["### HTTP server under load (POST /api/chat, offline)", ""]
    rows = _ordered(found, "http")
    if not rows:
        return [*out, "Not measured in this run.", ""]
    out += [
        "| size, db | clients | seconds | req/s | p50 ms | p99 ms | errors | RSS MiB after | "
        "ideal req/s | req/s ÷ ideal |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (_, size, db), r in rows:
        errors = r["requests"] - r["ok"]
        warm = found.get(("warm", size, db))
        # The floor: both cores answering back to back at the warm in-process median.
        ideal = 2000 / warm["all_answers"]["median_ms"] if warm else None
        out.append(
            f"| {size}, {db} | {r['clients']} | {r['seconds']:.0f} | {r['req_per_s']:.1f} | "
            f"{_ms(r['p50_ms'])} | {_ms(r['p99_ms'])} | {errors} | {r['server_rss_mb_after']:.0f} "
            f"| {_ms(ideal)} | {_x(r['req_per_s'] / ideal if ideal else None)} |"
        )
    out.append("")
    for (_, size, db), r in rows:
        out.append(f"{size}, {db}: {_when(r)}.")
        profile = r.get("profile") or {}
        for kind, p in profile.items():
            if isinstance(p, dict):
                areas = ", ".join(f"{a} {pct}%" for a, pct in p["areas_pct"][:10])
                top = ", ".join(
                    f"`{f.split(' (')[0]}` {pct}%" for f, pct in p["top_frames_pct"][:6]
                )
                out.append(f"- py-spy ({kind}, {p['samples']} samples) — on the stack: {areas}.")
                out.append(f"  Innermost frames: {top}.")
        out.append("")
    return out


def cost_section(found: dict) -> list[str]:
    out = ["### Model mode: calls and tokens per question, Keen vs LangChain's SQL agent", ""]
    rows = _ordered(found, "cost")
    if not rows:
        return [*out, "Not measured in this run.", ""]
    for (_, size, db), r in rows:
        out += [
            f"**{size}, {db}** ({_when(r)})",
            "",
            "| question | Keen calls | Keen prompt | Keen completion | LangChain calls | "
            "LangChain prompt | LangChain completion | Keen ÷ LangChain prompt |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for k, p in zip(r["keen"], r["langchain_sql_agent"], strict=True):
            out.append(
                f"| {k['question']} | {k['model_calls']} | {k['prompt_tokens']:,} | "
                f"{k['completion_tokens']:,} | {p['model_calls']} | {p['prompt_tokens']:,} | "
                f"{p['completion_tokens']:,} | {_x(k['prompt_ratio_to_langchain'])} |"
            )
        out.append("")
    return out


def cold_section(found: dict) -> list[str]:
    out = ["### Cold start and memory", ""]
    rows = _ordered(found, "cold")
    if not rows:
        return [*out, "Not measured in this run.", ""]
    out += [
        "| size, db | `keen ask` ms (median / p95) | `python -c pass` ms | ask ÷ bare python | "
        "`keen serve` ready ms | RSS ready MiB | RSS with the model MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (_, size, db), r in rows:
        ask, floor = r["keen_ask_ms"], r["python_floor_ms"]
        out.append(
            f"| {size}, {db} | {_ms(ask['median_ms'])} / {_ms(ask['p95_ms'])} | "
            f"{_ms(floor['median_ms'])} | {_x(ask['median_ms'] / floor['median_ms'])} | "
            f"{_ms(r['keen_serve_ready_ms']['median_ms'])} | {r['serve_rss_mb_ready']:.0f} | "
            f"{r['serve_rss_mb_after_first_answer']:.0f} |"
        )
    out.append("")
    for (_, size, db), r in rows:
        top = ", ".join(f"{name} {ms:,.0f} ms" for name, ms in r["slowest_imports_ms"])
        out.append(
            f"{size}, {db}: {_when(r)}. Imports of `keen ask`: {r['imports_ms']:,.0f} ms in all; "
            f"slowest top-level packages: {top}."
        )
    out.append("")
    return out


def generated(results: Path = RESULTS) -> str:
    found = _load(results)
    lines = [
        *tools_section(found),
        *warm_section(found),
        *http_section(found),
        *cost_section(found),
        *cold_section(found),
    ]
    return "\n".join(lines).rstrip() + "\n"


def update(doc: Path = DOC, results: Path = RESULTS) -> None:
    """Replace the generated part of `doc` (appending the markers when they are missing)."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    body = f"{START}\n{generated(results)}{END}"
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        text = head + body + tail
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    update()

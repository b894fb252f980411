"""Writing the answer from tool results: a direct first sentence, the table, what was left
out and the period used. Every figure is copied from a tool result, never computed here."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import ToolMessage

from tools.context import KeenContext

TABLE_ROWS_SHOWN = 10
METRIC_WORDS = {
    "lead_volume": "lead volume",
    "won_leads": "won leads",
    "conversion_rate": "conversion rate",
    "won_deals": "won deals",
    "revenue": "revenue",
    "average_deal_size": "average deal size",
    "reward_total": "reward total",
    "net_value": "net value",
    "reward_to_revenue": "reward-to-revenue",
}
STATE_WORDS = {
    "awaiting_review": "awaiting review",
    "approved": "approved but not paid",
    "paid": "paid",
    "rejected": "rejected",
}


def money(totals: dict[str, str] | None) -> str:
    """'USD 1,250.00 and EUR 300.00' — per currency, never added together."""
    if not totals:
        return "nothing"
    parts = [f"{cur} {_thousands(amount)}" for cur, amount in sorted(totals.items())]
    return " and ".join(parts)


def _thousands(amount: Any) -> str:
    try:
        value = float(amount)
    except (TypeError, ValueError):
        return str(amount)
    text = str(amount)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{value:,.{decimals}f}"


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "…"


def markdown_table(table: dict[str, Any], limit: int = TABLE_ROWS_SHOWN) -> str:
    columns = table.get("columns", [])
    rows = table.get("rows", [])
    if not columns or not rows:
        return ""
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:limit]]
    hidden = len(rows) - min(len(rows), limit) + int(table.get("left_out", 0))
    text = "\n".join(lines)
    if hidden:
        text += f"\n\n{hidden} more not shown (the full table is in the data)."
    return text


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# ---- first sentences per tool -------------------------------------------------------------


def _leads(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    filters = a.get("filters")
    what = f" ({filters})" if filters else ""
    return f"{_plural(a['count'], 'lead')} match{'es' if a['count'] == 1 else ''}{what}."


def _lead(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    lead = a.get("lead", {})
    flags = [f for f in ("stuck", "needs_action") if lead.get(f)]
    extra = f" It is {' and '.join(f.replace('_', ' ') for f in flags)}." if flags else ""
    value = f", deal value {lead.get('currency')} {_thousands(lead['deal_value'])}" if lead.get("deal_value") else ""
    return (
        f"Lead {lead.get('id')} ({lead.get('company') or 'no company'}) is in **{lead.get('status')}** "
        f"on {lead.get('channel')}{value}, in that status for {lead.get('days_in_status')} days.{extra}"
    )


def _overview(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    if "channels" in a:
        return f"You have {_plural(a['channels'], 'channel')}, {a.get('active', 0)} of them active."
    problems = a.get("integration_problems") or []
    issue = f" Integration problems: {'; '.join(problems)}." if problems else ""
    pipeline = " → ".join(a.get("pipeline", []))
    return (
        f"**{a.get('channel')}** ({a.get('status')}, {a.get('currency')}) is the partnership with "
        f"{a.get('partner')}: {_plural(a.get('leads', 0), 'lead')}; pipeline {pipeline}.{issue}"
    )


def _performance(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    leaders = a.get("leaders") or []
    rank_by = a.get("rank_by")
    group = a.get("group_by", "channel")
    if rank_by and leaders:
        word = METRIC_WORDS.get(rank_by, rank_by)
        best = "lowest" if a.get("order") == "asc" else "highest"
        parts = []
        for leader in leaders:
            value = leader.get("value")
            cur = leader.get("currency")
            shown = f"{value}%" if rank_by in ("conversion_rate", "reward_to_revenue") else (
                f"{cur} {_thousands(value)}" if cur and rank_by not in ("lead_volume", "won_leads", "won_deals") else f"{value}"
            )
            parts.append(f"**{leader['name']}** ({shown})")
        sentence = f"{' and '.join(parts)} {'has' if len(parts) == 1 else 'have'} the {best} {word}"
        if len(parts) > 1:
            sentence += " in their currencies"
        sentence += "."
        left = a.get("left_out") or []
        if left:
            sentence += (
                f" Left out for having fewer than {a.get('min_leads', 5)} leads in the period: "
                f"{', '.join(left)}."
            )
        return sentence
    if a.get("rows") == 1 and leaders == []:
        return "Here are the figures."
    return f"Performance of {_plural(a.get('rows', 0), group)}."


def _funnel(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    scope = a.get("scope") or "all channels"
    if a.get("most_stuck_status") and a.get("most_stuck_count"):
        return (
            f"Leads are most stuck in **{a['most_stuck_status']}**: {a['most_stuck_count']} of "
            f"the {_plural(a.get('stuck', 0), 'stuck lead')} ({scope}, {_plural(a.get('leads', 0), 'lead')} in the funnel)."
        )
    return f"No leads are stuck ({scope}, {_plural(a.get('leads', 0), 'lead')} in the funnel)."


def _patterns(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    matches = a.get("matches") or []
    if not matches:
        wanted = args.get("pattern")
        what = f" the pattern “{wanted.replace('_', ' ')}”" if wanted else " any pattern"
        return f"No active channel shows{what}."
    parts = [f"**{m['channel']}** ({m['pattern'].replace('_', ' ')}: {m['reading']})" for m in matches]
    return f"{_plural(len(matches), 'finding')}: " + "; ".join(parts) + "."


def _plan(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    diagnosis = a.get("diagnosis") or []
    actions = a.get("actions") or []
    head = f"**{a.get('channel')}**: " + ("; ".join(diagnosis) if diagnosis else "no problem pattern found") + "."
    if actions:
        head += "\n\nRecommended actions:\n" + "\n".join(f"- {x}" for x in actions)
    return head


def _rewards(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    status = a.get("status") or args.get("status")
    state = STATE_WORDS.get(status or "", "")
    count = a.get("count", 0)
    if state:
        return f"{_plural(count, 'reward')} {'is' if count == 1 else 'are'} {state}, totalling {money(a.get('totals'))}."
    by_status = a.get("by_status") or {}
    parts = [f"{v['count']} {STATE_WORDS.get(k, k)} ({money(v.get('totals'))})" for k, v in by_status.items()]
    return f"{_plural(count, 'reward')}: " + "; ".join(parts) + "." if parts else f"{_plural(count, 'reward')}."


def _explain(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    return a.get("explanation") or f"Reward {a.get('reward')} is {a.get('currency')} {a.get('amount')}."


def _reports(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    if "report" in a:
        reasons = a.get("reasons") or []
        why = f" It needs attention: {'; '.join(reasons)}." if a.get("needs_attention") else ""
        return f"Report {a['report']} ({a.get('channel')}) is **{a.get('state')}**, totalling {money(a.get('totals'))}.{why}"
    if args.get("needs_attention"):
        n = a.get("needs_attention", a.get("count", 0))
        return f"{_plural(n, 'reward report')} need{'s' if n == 1 else ''} attention." if n else "No reward report needs attention."
    states = a.get("states") or {}
    parts = ", ".join(f"{v} {k}" for k, v in states.items())
    return f"{_plural(a.get('count', 0), 'reward report')}" + (f": {parts}." if parts else ".")


def _triggers(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    return f"{_plural(a.get('count', 0), 'reward trigger')}, {a.get('active', 0)} active."


def _search(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    kind = a.get("kind", "leads")
    if kind == "playbook":
        return "From the playbook (section 7 of the partnership guide), the closest actions:"
    noun = {"leads": "lead note", "partners": "partner note"}.get(kind, "note")
    return f"The {_plural(a.get('count', 0), noun)} closest to “{a.get('query')}”:"


HEADLINES: dict[str, Callable[[dict[str, Any], dict[str, Any], str], str]] = {
    "find_leads": _leads,
    "get_lead": _lead,
    "channel_overview": _overview,
    "channel_performance": _performance,
    "lead_funnel": _funnel,
    "find_patterns": _patterns,
    "improvement_plan": _plan,
    "list_rewards": _rewards,
    "explain_reward": _explain,
    "list_reward_reports": _reports,
    "list_reward_triggers": _triggers,
    "search_notes": _search,
}


def _error_text(payload: dict[str, Any]) -> str:
    text = str(payload["error"])
    options = payload.get("candidates") or payload.get("suggestions")
    if options:
        text += " " + ("Which one do you mean: " if payload.get("candidates") else "Did you mean: ") + ", ".join(map(str, options)) + "?"
    return text


def compose_answer(
    question: str,
    plan: dict[str, Any],
    results: Sequence[ToolMessage],
    calls: dict[str, dict[str, Any]],
    ctx: KeenContext,
) -> tuple[str, dict[str, Any]]:
    """The markdown answer, and facts worth remembering for follow-ups."""
    intent = plan.get("intent", "unknown")
    sections: list[str] = []
    periods: list[str] = []
    facts: dict[str, Any] = {}
    for message in results:
        try:
            payload = json.loads(str(message.content))
        except json.JSONDecodeError:
            sections.append(str(message.content))
            continue
        if "error" in payload:
            sections.append(_error_text(payload))
            continue
        call = calls.get(message.tool_call_id, {})
        name = call.get("name") or message.name or ""
        args = call.get("args") or {}
        answer = payload.get("answer", {})
        headline = HEADLINES.get(name, lambda a, b, c: "Here is what I found.")(answer, args, intent)
        parts = [headline]
        for table in payload.get("tables", [])[:2]:
            rendered = markdown_table(table)
            if rendered:
                title = table.get("title")
                parts.append((f"**{title}**\n\n" if title and len(payload.get("tables", [])) > 1 else "") + rendered)
        sections.append("\n\n".join(parts))
        if payload.get("period"):
            periods.append(payload["period"])
        if name == "lead_funnel" and answer.get("most_stuck_status"):
            facts["most_stuck_status"] = answer["most_stuck_status"]
    text = "\n\n".join(sections) if sections else "I found nothing to answer with."
    unique_periods = list(dict.fromkeys(periods))
    if unique_periods:
        text += "\n\nPeriod: " + "; ".join(unique_periods) + "."
    return text, facts


def tables_only_answer(tool_contents: Sequence[str]) -> str:
    """The grounding guard's last resort: the tool tables, without unverified prose."""
    parts = ["I could not verify every figure of my answer, so here are the results as the tools returned them:"]
    for content in tool_contents:
        try:
            payload = json.loads(content)
        except json.JSONDecodeError:
            continue
        for table in payload.get("tables", []):
            parts.append(markdown_table(table))
        if payload.get("period"):
            parts.append(f"Period: {payload['period']}.")
    return "\n\n".join(p for p in parts if p)

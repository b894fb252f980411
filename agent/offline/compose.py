"""Writing the answer from tool results: a direct first sentence, the table, what was left
out and the period used. Every figure is copied from a tool result, never computed here."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import ToolMessage

from tools.context import KeenContext

TABLE_ROWS_SHOWN = 20
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


IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]*)[^)]*\)")


def inert(text: str) -> str:
    """Data shown as data: markdown images and links become plain words, so nothing from a
    note is fetched or clickable in disguise."""
    text = IMAGE.sub(lambda m: f"(image “{m.group(1)}” from {m.group(2)}, not shown)", text)
    return LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    text = inert(str(value)).replace("|", "\\|").replace("\n", " ")
    if len(text) <= 160:
        return text
    return text[:160].rsplit(" ", 1)[0] + " …"  # cut between words: never inside a number


# The columns worth reading in the answer text; the full table stays in the answer's data.
DISPLAY_COLUMNS: dict[str, tuple[str, ...]] = {
    "Reward reports": ("id", "channel", "state", "reasons", "total", "currency", "period_end"),
    "Leads": (
        "id",
        "channel",
        "status",
        "company",
        "deal_value",
        "currency",
        "days_in_status",
        "missing",
    ),
    "Rewards": ("id", "channel", "lead", "amount", "currency", "status", "created"),
    "Reward triggers": (
        "channel",
        "name",
        "event",
        "status",
        "amount_type",
        "amount",
        "requires_approval",
        "active",
    ),
    "Search results": ("id", "name", "channel", "status", "snippet"),
}
PERFORMANCE_COLUMNS = (
    "rank",
    "name",
    "currency",
    "lead_volume",
    "won_leads",
    "conversion_rate_pct",
    "revenue",
    "reward_total",
    "net_value",
)
METRIC_COLUMN = {
    "conversion_rate": "conversion_rate_pct",
    "reward_to_revenue": "reward_to_revenue_pct",
}


def display_columns(table: dict[str, Any], rank_by: str | None = None) -> list[str]:
    columns = list(table.get("columns", []))
    wanted = DISPLAY_COLUMNS.get(str(table.get("title")))
    if "lead_volume" in columns and "revenue" in columns:
        wanted = PERFORMANCE_COLUMNS
        if rank_by:
            metric = METRIC_COLUMN.get(rank_by, rank_by)
            wanted = tuple(
                dict.fromkeys(("rank", "name", "currency", metric, "lead_volume", "won_leads"))
            )
    if not wanted:
        return columns[:8]
    chosen = [c for c in wanted if c in columns]
    return chosen or columns[:8]


def project(table: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    index = [table["columns"].index(c) for c in columns]
    rows = [[row[i] for i in index] for row in table.get("rows", [])]
    return {**table, "columns": columns, "rows": rows}


def markdown_table(
    table: dict[str, Any], limit: int = TABLE_ROWS_SHOWN, rank_by: str | None = None
) -> str:
    if table.get("columns"):
        table = project(table, display_columns(table, rank_by))
    columns = table.get("columns", [])
    rows = table.get("rows", [])
    if not columns or not rows:
        return ""
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:limit]]
    left_out = table.get("left_out")
    text = "\n".join(lines)
    if left_out:
        text += f"\n\n{left_out} more not shown here (the full table is in the answer's data)."
    return text


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# ---- first sentences per tool -------------------------------------------------------------


def _leads(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    filters = a.get("filters")
    if (not filters or filters == "none") and args.get("period"):
        head = f"{_plural(a['count'], 'lead')} created in the period."
    elif not filters or filters == "none":
        head = f"{_plural(a['count'], 'lead')} in all."
    else:
        head = f"{_plural(a['count'], 'lead')} match{'es' if a['count'] == 1 else ''} ({filters})."
    if args.get("sort") == "deal_value":
        head += " Largest deal values first."
    return head


def _lead(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    lead = a.get("lead", {})
    flags = [f for f in ("stuck", "needs_action") if lead.get(f)]
    extra = f" It is {' and '.join(f.replace('_', ' ') for f in flags)}." if flags else ""
    value = (
        f", deal value {lead.get('currency')} {_thousands(lead['deal_value'])}"
        if lead.get("deal_value")
        else ""
    )
    text = (
        f"Lead {lead.get('id')} ({lead.get('company') or 'no company'}) is in "
        f"**{lead.get('status')}** on {lead.get('channel')}{value}, in that status for "
        f"{lead.get('days_in_status')} days.{extra}"
    )
    facts = [
        f"{label}: {lead[key]}"
        for key, label in (
            ("contact", "Contact"),
            ("email", "Email"),
            ("phone", "Phone"),
            ("owner", "Owner"),
            ("source", "Source"),
        )
        if lead.get(key)
    ]
    if lead.get("missing"):
        facts.append("Missing: " + ", ".join(map(str, lead["missing"])))
    facts += [f"{k}: {v}" for k, v in (lead.get("properties") or {}).items()]
    if facts:
        text += "\n\n" + "; ".join(facts) + "."
    if lead.get("notes"):
        quoted = "\n".join(f"> {line}" for line in inert(str(lead["notes"])).splitlines())
        text += f"\n\nPartner's notes (shown as written, not followed as instructions):\n{quoted}"
    return text


def _overview(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    problems = a.get("integration_problems") or []
    issue = f" Integration problems: {'; '.join(problems)}." if problems else ""
    if "channels" in a:
        return (
            f"You have {_plural(a['channels'], 'channel')}, {a.get('active', 0)} of them active."
            + (issue or " All integrations are connected.")
        )
    integrations = next(
        (t for t in a.get("_tables", []) if t.get("title") == "Integrations"), {"rows": []}
    )
    names = [f"{row[1]} ({row[2]})" for row in integrations.get("rows", [])]
    if names:
        issue = f" Integrations: {', '.join(names)}." + issue
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
            shown = (
                f"{value}%"
                if rank_by in ("conversion_rate", "reward_to_revenue")
                else (
                    f"{cur} {_thousands(value)}"
                    if cur and rank_by not in ("lead_volume", "won_leads", "won_deals")
                    else f"{value}"
                )
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
    table = (a.get("_tables") or [{}])[0]
    rows = [dict(zip(table.get("columns", []), row, strict=False)) for row in table.get("rows", [])]
    metric = a.get("_metric")
    if rows and len({r.get("name") for r in rows}) == 1:
        return _figures_sentence(rows, metric)
    totals = a.get("totals")
    if totals:
        return _totals_sentence(totals, a.get("rows", len(rows)), group, metric)
    return f"Performance of {_plural(a.get('rows', 0), group)}:"


def _value(row: dict[str, Any], metric: str) -> str:
    value = row.get(METRIC_COLUMN.get(metric, metric))
    if value is None:
        return "n/a"
    if metric in METRIC_COLUMN:
        return f"{value}%"
    if metric in ("lead_volume", "won_leads", "won_deals"):
        return str(value)
    return f"{row.get('currency')} {_thousands(value)}"


def _figures_sentence(rows: list[dict[str, Any]], metric: str | None) -> str:
    """One channel or partner: the asked metric first, then every figure (per currency)."""
    name = rows[0].get("name")
    first = rows[0]
    lead = ""
    if metric:
        values = " and ".join(_value(r, metric) for r in rows)
        lead = f"**{name}** — {METRIC_WORDS.get(metric, metric)}: {values}.\n\n"
    parts = [
        f"{_plural(first.get('lead_volume') or 0, 'lead')}",
        f"{first.get('won_leads')} won ({_value(first, 'conversion_rate')} conversion)",
        f"{_plural(first.get('won_deals') or 0, 'won deal')}",
    ]
    for r in rows:
        if r.get("currency"):
            parts += [
                f"revenue {_value(r, 'revenue')}",
                f"average deal size {_value(r, 'average_deal_size')}",
                f"reward total {_value(r, 'reward_total')}",
                f"net value {_value(r, 'net_value')}",
                f"reward-to-revenue {_value(r, 'reward_to_revenue')}",
            ]
    return f"{lead}**{name}**: " + ", ".join(parts) + "."


def _totals_sentence(totals: dict[str, Any], count: int, group: str, metric: str | None) -> str:
    money_part = ", ".join(
        f"{METRIC_WORDS[k]} {money(totals[k])}"
        for k in ("revenue", "reward_total", "net_value")
        if totals.get(k)
    )
    rate = totals.get("conversion_rate_pct")
    return (
        f"Across {_plural(count, group)}: {totals.get('lead_volume')} leads, "
        f"{totals.get('won_leads')} won ({'n/a' if rate is None else f'{rate}%'} conversion), "
        f"{totals.get('won_deals')} won deals; {money_part}."
    )


def _funnel(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    scope = a.get("scope") or "all channels"
    if a.get("most_stuck_status") and a.get("most_stuck_count"):
        return (
            f"Leads are most stuck in **{a['most_stuck_status']}**: {a['most_stuck_count']} of "
            f"the {_plural(a.get('stuck', 0), 'stuck lead')} ({scope}, "
            f"{_plural(a.get('leads', 0), 'lead')} in the funnel)."
        )
    return f"No leads are stuck ({scope}, {_plural(a.get('leads', 0), 'lead')} in the funnel)."


def _patterns(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    matches = a.get("matches") or []
    if not matches:
        wanted = args.get("pattern")
        what = f" the pattern “{wanted.replace('_', ' ')}”" if wanted else " any pattern"
        return f"No active channel shows{what}." + _not_checked(a)
    parts = [f"**{m['channel']}** — {m['pattern']} ({m['reading']})" for m in matches]
    text = "Channels showing a pattern: " + "; ".join(parts) + _more(a, "matches") + "."
    if a.get("no_pattern"):
        text += f" No pattern: {', '.join(a['no_pattern'])}{_more(a, 'no_pattern')}."
    return text + _not_checked(a)


def _more(a: dict[str, Any], key: str) -> str:
    left = a.get(f"{key}_left_out")
    return f" and {left} more (all in the table)" if left else ""


def _not_checked(a: dict[str, Any]) -> str:
    skipped = a.get("not_checked") or []
    return (
        f" Only active channels are checked; not checked: {', '.join(skipped)}"
        f"{_more(a, 'not_checked')}."
        if skipped
        else ""
    )


def _plan(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    diagnosis = a.get("diagnosis") or []
    actions = a.get("actions") or []
    head = (
        f"**{a.get('channel')}**: "
        + ("; ".join(diagnosis) if diagnosis else "no problem pattern found")
        + "."
    )
    if actions:
        head += "\n\nRecommended actions:\n" + "\n".join(f"- {x}" for x in actions)
    return head


def _rewards(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    status = a.get("status") or args.get("status")
    state = STATE_WORDS.get(status or "", "")
    count = a.get("count", 0)
    if state:
        verb = "is" if count == 1 else "are"
        return f"{_plural(count, 'reward')} {verb} {state}, totalling {money(a.get('totals'))}."
    by_status = a.get("by_status") or {}
    parts = [
        f"{v['count']} {STATE_WORDS.get(k, k)} ({money(v.get('totals'))})"
        for k, v in by_status.items()
    ]
    return (
        f"{_plural(count, 'reward')}: " + "; ".join(parts) + "."
        if parts
        else f"{_plural(count, 'reward')}."
    )


def _explain(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    return (
        a.get("explanation")
        or f"Reward {a.get('reward')} is {a.get('currency')} {a.get('amount')}."
    )


def _reports(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    if "report" in a:
        reasons = a.get("reasons") or []
        why = f" It needs attention: {'; '.join(reasons)}." if a.get("needs_attention") else ""
        return (
            f"Report {a['report']} ({a.get('channel')}) is **{a.get('state')}**, totalling "
            f"{money(a.get('totals'))}.{why}"
        )
    if args.get("needs_attention"):
        n = a.get("needs_attention", a.get("count", 0))
        return (
            f"{_plural(n, 'reward report')} need{'s' if n == 1 else ''} attention."
            if n
            else "No reward report needs attention."
        )
    states = a.get("states") or {}
    parts = ", ".join(f"{v} {k}" for k, v in states.items())
    return f"{_plural(a.get('count', 0), 'reward report')}" + (f": {parts}." if parts else ".")


def _triggers(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    return f"{_plural(a.get('count', 0), 'reward trigger')}, {a.get('active', 0)} active."


def _search(a: dict[str, Any], args: dict[str, Any], intent: str) -> str:
    kind = a.get("kind", "leads")
    if kind == "playbook":
        return "From the playbook (the partnership guide's improvement actions), the closest ones:"
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
        text += (
            " "
            + ("Which one do you mean: " if payload.get("candidates") else "Did you mean: ")
            + ", ".join(map(str, options))
            + "?"
        )
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
        answer = {
            **payload.get("answer", {}),
            "_tables": payload.get("tables", []),
            "_metric": plan.get("slots", {}).get("metric"),
        }
        headline = HEADLINES.get(name, lambda a, b, c: "Here is what I found.")(
            answer, args, intent
        )
        parts = [headline]
        for table in payload.get("tables", [])[:2]:
            rendered = markdown_table(table, rank_by=args.get("rank_by"))
            if rendered:
                title = table.get("title")
                parts.append(
                    (f"**{title}**\n\n" if title and len(payload.get("tables", [])) > 1 else "")
                    + rendered
                )
        sections.append("\n\n".join(parts))
        periods.append(payload.get("period") or "")
        if name == "lead_funnel" and answer.get("most_stuck_status"):
            facts["most_stuck_status"] = answer["most_stuck_status"]
        if args.get("rank_by") and payload.get("tables"):
            leader = _leader(payload["tables"][0], args.get("group_by") or "channel")
            if leader:
                facts["leader"] = leader
        if name == "list_rewards" and payload.get("tables"):
            facts["rewards"] = _reward_facts(payload["tables"][0])
    unique_periods = [p for p in dict.fromkeys(periods) if p]
    if len(unique_periods) > 1 and len(periods) == len(sections):
        # "this month vs last month": each section says which period it covers
        sections = [f"**{p}**\n\n{t}" if p else t for t, p in zip(sections, periods, strict=True)]
    text = "\n\n".join(sections) if sections else "I found nothing to answer with."
    if len(unique_periods) == 1:
        text += f"\n\nPeriod: {unique_periods[0]}."
    return text, facts


def _leader(table: dict[str, Any], group_by: str) -> list[str] | None:
    """The first-ranked channel or partner of a ranking, for "their ..." next."""
    columns, rows = table.get("columns", []), table.get("rows", [])
    if "name" not in columns or not rows:
        return None
    return [group_by, str(rows[0][columns.index("name")])]


def _reward_facts(table: dict[str, Any]) -> list[list[Any]]:
    """The rewards an answer showed (id, channel, amount, status), for "why is that one…"."""
    columns = table.get("columns", [])
    wanted = ("id", "channel", "amount", "status")
    if not all(c in columns for c in wanted):
        return []
    index = [columns.index(c) for c in wanted]
    return [[row[i] for i in index] for row in table.get("rows", [])[:20]]


def tables_only_answer(tool_contents: Sequence[str]) -> str:
    """The grounding guard's last resort: the tool tables, without unverified prose."""
    parts = [
        "I could not verify every figure of my answer, so here are the results as the tools "
        "returned them:"
    ]
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

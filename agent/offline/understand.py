"""Understanding a question: intent (examples + cues), slots, follow-ups, clarifications."""

from __future__ import annotations

import re
from typing import Any

from agent.offline.catalog import catalog_for
from agent.offline.intents import classifier
from agent.offline.plan import (
    READ_ONLY_NOTE,
    Plan,
    ToolCall,
    build_calls,
    follow_up,
    inherited_scope,
    is_follow_up,
)
from agent.offline.slots import Slots, extract
from agent.offline.typos import repair_typos
from tools.context import KeenContext

CONFIDENT = 0.55  # score (similarity + cues) above which the top intent is taken as meant
IN_SCOPE_SIMILARITY = 0.35  # below this for every in-scope intent, an unknown question is off-topic

EXAMPLE_QUESTIONS = (
    "Which reward reports need attention?",
    "Which partners have the best conversion rate?",
    "Show me rewards that are approved but not paid.",
)
IN_SCOPE_INTENTS = frozenset(
    {
        "reports_attention",
        "reports",
        "rewards",
        "reward_explain",
        "triggers",
        "conversion_ranking",
        "metric_ranking",
        "channel_metrics",
        "stuck",
        "patterns",
        "improve",
        "advice",
        "leads",
        "lead_detail",
        "overview",
        "search",
    }
)

OTHER_ORG = re.compile(
    r"\b(?:other|another|different|every|all(?: the)?) (?:organi[sz]ations?|companies|tenants?|"
    r"customers'? data|orgs?)\b|\borg(?:anization)?\s+(?!default\b)[a-z0-9-]+'s\b",
    re.IGNORECASE,
)
INJECTION = re.compile(
    r"ignore (?:all |any |your |the )?(?:previous |prior |above |earlier )?(?:instructions|rules|prompt)"
    r"|system prompt|system override|developer mode|admin mode|jailbreak|you are now|"
    r"disregard (?:all |your |the )?(?:previous |prior )?(?:instructions|rules)",
    re.IGNORECASE,
)
ACTION = re.compile(
    r"(?:^|[.!?;:,]\s*|\b(?:please|pls|can you|could you|go ahead and|now|then|and|also|just)\s+)"
    r"(?:approve|reject|decline|mark|pay out|pay|move|record|flag|update|change|delete|remove|set|"
    r"create|add|edit|send|email|book|schedule|transfer|refund|cancel)\b",
    re.IGNORECASE,
)
THAT_RECORD = re.compile(r"\b(?:that|this|the) (?:lead|reward|report)\b", re.IGNORECASE)


def _boosts(slots: Slots) -> dict[str, float]:
    """Slots that make an intent more likely: a reward state means rewards, and so on."""
    boosts: dict[str, float] = {}

    def add(intent: str, value: float) -> None:
        boosts[intent] = boosts.get(intent, 0.0) + value

    if slots.reward_status:
        add("rewards", 0.25)
    if slots.pattern:
        add("patterns", 0.35)
    if slots.flags:
        add("leads", 0.2)
    if slots.metric and (slots.order or slots.top):
        add("conversion_ranking" if slots.metric == "conversion_rate" else "metric_ranking", 0.3)
    if slots.metric and (slots.channels or slots.partners or slots.this_channel):
        add("channel_metrics", 0.3)
    if slots.statuses or slots.status_kind:
        add("leads", 0.1)
    if slots.custom_property or slots.owner:
        add("leads", 0.3)
    return boosts


def _clarify(reason: str) -> str:
    examples = "\n".join(f"- {q}" for q in EXAMPLE_QUESTIONS)
    return f"{reason}\n\nFor example, you can ask:\n{examples}"


OUT_OF_SCOPE = (
    "That is outside what I can help with: I only answer questions about your partnerships in "
    "Keen — leads, rewards, reward reports, triggers and channel performance."
)


def _direct_reply(intent: str) -> str | None:
    if intent == "help":
        return _clarify(
            "I answer questions about your partner channels from your Keen data: leads and "
            "their statuses, rewards and reward reports, reward triggers, channel and partner "
            "performance, and what to do to improve a channel."
        )
    if intent == "out_of_scope":
        return _clarify(OUT_OF_SCOPE)
    if intent == "action":
        return (
            f"{READ_ONLY_NOTE} I can show you the records first — for example, ask which "
            "rewards are awaiting review."
        )
    if intent == "invent":
        return (
            "I only state figures that come from your data, so I won't estimate, forecast or "
            "make up numbers. I can show the actual figures, for example revenue per channel "
            "this year."
        )
    return None


def _period_phrase(question: str, slots: Slots, today: Any) -> str | None:
    from domain.periods import find_period

    found = find_period(question, today)
    if not found:
        return None
    _period, (start, end) = found
    return question[start:end].strip()


def _record_intent(slots: Slots, records: dict[str, str], question: str) -> Plan | None:
    """A question naming a lead, reward or report id is about that record."""
    for rid in slots.record_ids:
        kind = records.get(rid)
        if kind == "reward":
            return Plan("reward_explain", [ToolCall("explain_reward", {"reward_id": rid})])
        if kind == "report":
            return Plan("reports", [ToolCall("list_reward_reports", {"report_id": rid})])
        if kind == "lead":
            if re.search(r"\brewards?\b|commissions?|payouts?", question, re.IGNORECASE):
                return Plan("rewards", [ToolCall("list_rewards", {"lead_id": rid})])
            return Plan("lead_detail", [ToolCall("get_lead", {"lead_id": rid})])
    return None


def _unknown_ids(slots: Slots, records: dict[str, str]) -> list[str]:
    return [rid for rid in slots.record_ids if rid not in records and "-" in rid]


def understand(question: str, ctx: KeenContext, previous: dict[str, Any] | None) -> Plan:
    catalog = catalog_for(ctx.org_id)
    text = repair_typos(question)
    slots = extract(text, ctx.today, catalog)
    records = catalog.record_ids(slots.record_ids)
    if OTHER_ORG.search(text):
        return Plan(
            "refuse",
            reply="I can only see your own organization's data, so I can't answer about other organizations.",
        )
    if INJECTION.search(text):
        return Plan(
            "refuse",
            reply="I can't do that: I follow Keen's rules, answer only from your data and cannot change it or reveal my instructions.",
        )
    if ACTION.search(text) and not re.search(
        r"\b(?:which|what|how many|show|list)\b", text, re.IGNORECASE
    ):
        return Plan("action", reply=_direct_reply("action"))
    record_plan = _record_intent(slots, records, text)
    if record_plan is not None:
        return record_plan
    ranked = classifier().rank(text, _boosts(slots))
    top = ranked[0]
    confident = top.score >= CONFIDENT
    phrase = _period_phrase(text, slots, ctx.today) if slots.period else None
    if previous and is_follow_up(text, slots, confident and top.intent != "help"):
        return follow_up(Plan.from_dict(previous), slots, text, phrase, ctx.channel_id)
    intent = top.intent if confident else _fallback_intent(slots)
    if intent is None:
        in_scope = max((r.similarity for r in ranked if r.intent in IN_SCOPE_INTENTS), default=0)
        if in_scope < IN_SCOPE_SIMILARITY and not slots.names_something:
            return Plan("out_of_scope", reply=_clarify(OUT_OF_SCOPE))
        return Plan(
            "clarify",
            reply=_clarify("I'm not sure what you are asking — could you be more specific?"),
        )
    reply = _direct_reply(intent)
    if reply is not None:
        return Plan(intent, reply=reply)
    if slots.period_error:
        return Plan("clarify", reply=_clarify(f"I could not read the period: {slots.period_error}"))
    unknown = _unknown_ids(slots, records)
    if unknown and intent in ("lead_detail", "reward_explain", "reports"):
        return Plan(
            "clarify",
            reply=f"I found no lead, reward or report with the id {unknown[0]} — could you check the id?",
        )
    if (
        THAT_RECORD.search(text)
        and not slots.record_ids
        and intent in ("lead_detail", "reward_explain")
    ):
        return Plan("clarify", reply="Which one do you mean? Please give me its id.")
    if slots.ambiguous and not (slots.channels or slots.partners):
        name, candidates = slots.ambiguous[0]
        return Plan(
            "clarify", reply=f"Which one do you mean by “{name}”: {', '.join(candidates[:5])}?"
        )
    if intent == "advice" and (slots.channels or (slots.this_channel and ctx.channel_id)):
        intent = "improve"
    inherited = inherited_scope(text, slots, previous)
    if (
        slots.this_channel
        and not ctx.channel_id
        and not slots.channels
        and intent in ("improve", "channel_metrics", "stuck", "triggers", "overview")
    ):
        return Plan(
            "clarify",
            reply="Which channel do you mean? Please name it, or ask from the channel's page.",
        )
    calls = build_calls(intent, slots, text, phrase, ctx.channel_id, inherited)
    if not calls:
        return Plan("clarify", reply=_missing(intent))
    return Plan(intent, calls, slots={"question_intent": intent, "metric": slots.metric})


def _fallback_intent(slots: Slots) -> str | None:
    """No confident reading of the wording: let what the question names decide, if anything."""
    if slots.reward_status:
        return "rewards"
    if slots.flags or slots.custom_property or slots.owner:
        return "leads"
    if slots.pattern:
        return "patterns"
    if slots.metric and (slots.order or slots.top):
        return "conversion_ranking" if slots.metric == "conversion_rate" else "metric_ranking"
    if slots.channels or slots.partners or (slots.this_channel and slots.metric):
        return "channel_metrics"
    return None


def _missing(intent: str) -> str:
    if intent == "improve":
        return "Which channel should I diagnose? Please name it, or ask from the channel's page."
    if intent == "reward_explain":
        return "Which reward do you mean? Please give me its id (for example from the list of rewards)."
    if intent == "lead_detail":
        return "Which lead do you mean? Please give me its id."
    return _clarify("I'm not sure what you are asking — could you be more specific?")

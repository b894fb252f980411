"""Understanding a question: intent (examples + cues), slots, follow-ups, clarifications."""

from __future__ import annotations

import re
from typing import Any

from agent.offline.catalog import catalog_for
from agent.offline.intents import classifier
from agent.offline.plan import (
    READ_ONLY_NOTE,
    Plan,
    build_calls,
    follow_up,
    is_follow_up,
)
from agent.offline.slots import Slots, extract
from tools.context import KeenContext

CONFIDENT = 0.55  # score (similarity + cues) above which the top intent is taken as meant
MARGIN = 0.03

EXAMPLE_QUESTIONS = (
    "Which reward reports need attention?",
    "Which partners have the best conversion rate?",
    "Show me rewards that are approved but not paid.",
)

OTHER_ORG = re.compile(
    r"\b(?:other|another|different|all) (?:organi[sz]ations?|companies|tenants?|customers' data)\b"
    r"|\borg(?:anization)?\s+(?!default\b)[a-z0-9-]+'s\b",
    re.IGNORECASE,
)


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
    return boosts


def _clarify(reason: str) -> str:
    examples = "\n".join(f"- {q}" for q in EXAMPLE_QUESTIONS)
    return f"{reason}\n\nFor example, you can ask:\n{examples}"


def _direct_reply(intent: str, question: str) -> str | None:
    if intent == "help":
        return _clarify(
            "I answer questions about your partner channels from your Keen data: leads and "
            "their statuses, rewards and reward reports, reward triggers, channel and partner "
            "performance, and what to do to improve a channel."
        )
    if intent == "out_of_scope":
        return _clarify("That is outside what I can help with: I answer questions about your partnerships in Keen.")
    if intent == "action":
        return READ_ONLY_NOTE + " I can show you the records first, for example the rewards awaiting review."
    if intent == "invent":
        return (
            "I only state figures that come from your data, so I won't estimate, forecast or make "
            "up numbers. I can show the actual figures, for example this year's revenue per channel."
        )
    return None


def period_phrase(question: str, slots: Slots, today: Any) -> str | None:
    from domain.periods import find_period

    found = find_period(question, today)
    if not found:
        return None
    _period, (start, end) = found
    return question[start:end].strip()


def understand(question: str, ctx: KeenContext, previous: dict[str, Any] | None) -> Plan:
    catalog = catalog_for(ctx.org_id)
    slots = extract(question, ctx.today, catalog)
    if OTHER_ORG.search(question):
        return Plan("refuse", reply="I can only see your own organization's data.")
    if slots.period_error:
        return Plan("clarify", reply=_clarify(f"I could not read the period: {slots.period_error}"))
    ranked = classifier().rank(question, _boosts(slots))
    top = ranked[0]
    confident = top.score >= CONFIDENT
    phrase = period_phrase(question, slots, ctx.today) if slots.period else None
    if previous and is_follow_up(question, slots, confident and top.intent not in ("help",)):
        return follow_up(Plan.from_dict(previous), slots, question, phrase, ctx.channel_id)
    if not confident:
        return Plan("clarify", reply=_clarify("I'm not sure what you are asking."))
    intent = top.intent
    reply = _direct_reply(intent, question)
    if reply is not None:
        return Plan(intent, reply=reply)
    if slots.ambiguous and not (slots.channels or slots.partners):
        text, candidates = slots.ambiguous[0]
        options = ", ".join(candidates[:5])
        return Plan("clarify", reply=f"Which one do you mean by “{text}”: {options}?")
    if slots.this_channel and not ctx.channel_id and not slots.channels and intent in (
        "improve", "channel_metrics", "stuck", "triggers", "overview"
    ):
        return Plan("clarify", reply="Which channel do you mean? Open the channel's page or name it in the question.")
    calls = build_calls(intent, slots, question, phrase, ctx.channel_id)
    if not calls:
        return Plan("clarify", reply=_missing(intent))
    return Plan(intent, calls, slots={"question_intent": intent})


def _missing(intent: str) -> str:
    if intent == "improve":
        return "Which channel should I diagnose? Name it, or ask from the channel's page."
    if intent == "reward_explain":
        return "Which reward do you mean? Give me its id (for example from the list of rewards)."
    if intent == "lead_detail":
        return "Which lead do you mean? Give me its id."
    return _clarify("I'm not sure what you are asking.")

"""Understanding a question: intent (examples + cues), slots, follow-ups, clarifications."""

from __future__ import annotations

import re
from typing import Any

from agent.grounding import normalise, numbers_in
from agent.offline.acting import CAPABILITIES, action_kind, understand_action
from agent.offline.catalog import catalog_for
from agent.offline.intents import classifier
from agent.offline.plan import (
    Plan,
    ToolCall,
    build_calls,
    follow_up,
    inherited_scope,
    is_follow_up,
)
from agent.offline.slots import Slots, extract
from agent.offline.typos import repair_typos
from domain.permissions import NotAllowed, check_allowed
from tools.actions import REQUEST_START
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
    r"ignore (?:all |any |your |the )?(?:previous |prior |above |earlier )?"
    r"(?:instructions|rules|prompt)"
    r"|system prompt|system override|developer mode|admin mode|jailbreak|you are now|"
    r"disregard (?:all |your |the )?(?:previous |prior )?(?:instructions|rules)",
    re.IGNORECASE,
)
ACTION = re.compile(  # any change request, including ones no tool makes (to decline them)
    REQUEST_START + r"(?:approve|accept|reject|decline|mark|pay out|pay|settle|move|advance|"
    r"record|log|register|flag|update|change|delete|remove|set|"
    r"create|add|edit|send|email|book|schedule|transfer|refund|cancel)\b",
    re.IGNORECASE,
)
THAT_RECORD = re.compile(r"\b(?:that|this) (?:lead|reward|report)\b", re.IGNORECASE)
INVENT = re.compile(
    r"\bestimate|\bpredict|forecast|\bguess|make up|made[- ]up|invent|projection|project(?:ed)? "
    r"(?:revenue|leads|numbers)|extrapolat|hypothetical|what if\b|\bwould\b.{0,50}\bbe if\b|"
    r"\bif we (?:doubled|halved|increased|decreased|cut|changed|raised|lowered)|"
    r"next (?:month|quarter|year)'s",
    re.IGNORECASE,
)
IMPROVE_ASK = re.compile(
    r"what (?:do|should|can|could) (?:we|i) do|how (?:do|can|should|could) (?:we|i) "
    r"(?:improve|grow|fix|get|make|turn|boost|increase|help)|recommend|improv|"
    r"grow (?:it|this|them)|"
    r"get more out of|what now|next steps?|action plan|turn (?:it|this) around",
    re.IGNORECASE,
)
RANKING_WORDS = re.compile(
    r"\b(?:which|who|rank|ranking|top|best|worst|compare|most|least)\b", re.I
)
REPORT_WORD = re.compile(r"\breports?\b", re.IGNORECASE)
REWARDS_NOT_REPORT = re.compile(r"\brewards\b(?!\s+reports?)", re.IGNORECASE)
OFF_TOPIC = re.compile(
    r"\b(?:haiku|poem|limerick|joke|song|lyrics|story|weather|forecast for|stock|share price|"
    r"ceo of|capital of|recipe|lunch|dinner|restaurant|flights?|hotel|translate|python|javascript|"
    r"code|function|football|soccer|movie|film|horoscope|news)\b",
    re.IGNORECASE,
)
HERE = re.compile(r"\bhere\b|\bon this page\b", re.IGNORECASE)
LONE_REFERENCE = re.compile(
    r"^\s*(?:compare|explain|show|list|sum|total)?\s*(?:them|those|these|it|that|this)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
LEADS_WORD = re.compile(r"\bleads?\b", re.IGNORECASE)
WHY = re.compile(r"\b(?:why|how come|how (?:was|is|did)|explain)\b", re.IGNORECASE)
QUESTION_FORM = re.compile(r"\b(?:which|what|how many|show|list|who)\b", re.IGNORECASE)


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
            f"I can't make that change from here. {CAPABILITIES} I can also show you the "
            "records first — for example, ask which rewards are awaiting review."
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


COMPARED_WITH = re.compile(r"\s(?:vs\.?|versus|compared (?:to|with)|against)\s", re.IGNORECASE)


def _second_period(question: str, today: Any) -> str | None:
    """ "this month vs last month": the period after the comparison word, if another one."""
    from domain.periods import find_period

    parts = COMPARED_WITH.split(question, maxsplit=1)
    if len(parts) != 2:
        return None
    found = find_period(parts[1], today)
    if not found:
        return None
    start, end = found[1]
    return parts[1][start:end].strip()


SOURCE_ASK = re.compile(
    r"\b(?:came|come|comes|coming|sourced|originat(?:ed|ing)) (?:in )?(?:from|via|through) "
    r"(?:the |a |an |our )?([a-z][\w-]*(?: [a-z][\w-]*)?)",
    re.IGNORECASE,
)


def _unknown_source(text: str, slots: Slots, sources: list[str]) -> str | None:
    """ "Leads that came from the website" when no source is called that: say which exist."""
    asked = SOURCE_ASK.search(text)
    if asked is None or slots.source or slots.channels or slots.partners or not sources:
        return None
    if slots.period is not None or slots.this_channel:
        return None
    return (
        f"No lead source is called “{asked.group(1)}”. The sources in your data are "
        f"{', '.join(sources)}. Which one do you mean?"
    )


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
            reply=(
                "I can only see your own organization's data, so I can't answer about other "
                "organizations."
            ),
        )
    note = None
    if INJECTION.search(text) or DO_WHAT_IT_SAYS.search(text):
        remainder = _without_injection(text)
        if not remainder:
            return Plan("refuse", reply=INJECTION_REFUSAL)
        text, note = remainder, INJECTION_NOTE
        slots = extract(text, ctx.today, catalog)
    if ACTION.search(text):
        kind = action_kind(text)
        if kind is not None:
            refusal = _not_permitted(kind, ctx)
            if refusal is not None:
                return refusal
            acted = understand_action(kind, text, slots, records, previous)
            acted.note = note
            return acted
        if not QUESTION_FORM.search(text):
            return Plan("action", reply=_direct_reply("action"))
    if INVENT.search(text):
        return Plan("invent", reply=_direct_reply("invent"))
    if OFF_TOPIC.search(text) and not (slots.record_ids or slots.flags or slots.reward_status):
        return Plan("out_of_scope", reply=_clarify(OUT_OF_SCOPE))
    if HERE.search(text) and ctx.channel_id and not (slots.channels or slots.partners):
        slots.this_channel = True
    if LONE_REFERENCE.search(text) and not previous:
        return Plan(
            "clarify",
            reply=_clarify(
                "Which records do you mean? Please name the channels, partners or period you'd "
                "like me to look at."
            ),
        )
    if THAT_RECORD.search(text) and not slots.record_ids and not previous:
        return Plan("clarify", reply="Which one do you mean? Please give me its id.")
    unknown_source = _unknown_source(text, slots, catalog.sources)
    if unknown_source is not None:
        return Plan("clarify", reply=unknown_source)
    earlier = _earlier_reward(text, slots, previous)
    if earlier:
        return Plan("reward_explain", [ToolCall("explain_reward", {"reward_id": earlier})])
    generic = catalog.generic_ambiguity(question, slots)
    if generic:
        word, names = generic
        return Plan("clarify", reply=f"Which one do you mean by “{word}”: {', '.join(names[:6])}?")
    record_plan = _record_intent(slots, records, text)
    if record_plan is not None:
        record_plan.note = note
        return record_plan
    ranked = classifier().rank(text, _boosts(slots))
    top = ranked[0]
    confident = top.score >= CONFIDENT
    phrase = _period_phrase(text, slots, ctx.today) if slots.period else None
    if previous and is_follow_up(text, slots, confident and top.intent != "help"):
        return follow_up(Plan.from_dict(previous), slots, text, phrase, ctx.channel_id)
    intent = top.intent if confident else _fallback_intent(slots)
    intent = _decisive(intent, text, slots, ctx, previous) or intent
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
        tool, key = {
            "lead_detail": ("get_lead", "lead_id"),
            "reward_explain": ("explain_reward", "reward_id"),
            "reports": ("list_reward_reports", "report_id"),
        }[intent]
        return Plan(intent, [ToolCall(tool, {key: unknown[0]})])  # the tool says it is unknown
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
    other = _second_period(text, ctx.today) if phrase else None
    if calls and other and other != phrase:
        calls += build_calls(intent, slots, text, other, ctx.channel_id, inherited)
    if not calls and intent == "improve":
        # no channel named: diagnose every channel; a full plan needs one channel
        period = {"period": phrase} if phrase else {}
        return Plan("patterns", [ToolCall("find_patterns", period)], note=WHOLE_PROGRAM_NOTE)
    if not calls:
        return Plan("clarify", reply=_missing(intent))
    if note:
        return Plan(
            intent, calls, slots={"question_intent": intent, "metric": slots.metric}, note=note
        )
    return Plan(intent, calls, slots={"question_intent": intent, "metric": slots.metric})


WHOLE_PROGRAM_NOTE = (
    "_Across all channels first; name a channel (or ask from its page) for its full "
    "improvement plan._"
)
ENOUGH_LEADS = re.compile(
    r"\benough leads\b|\b(?:getting|receiving) (?:more |fewer |less )?leads\b", re.IGNORECASE
)
INJECTION_REFUSAL = (
    "I can't do that: I answer only from your data, I can't change it, and I don't follow "
    "instructions that try to override my rules."
)
INJECTION_NOTE = (
    "_I ignored the instruction in your message that tried to override my rules: I can't "
    "change data or invent figures._"
)
DO_WHAT_IT_SAYS = re.compile(
    r"do what (?:the|that|this|it|its) (?:note )?says|follow (?:the|those|these|its) instructions|"
    r"as the note (?:says|asks)",
    re.IGNORECASE,
)


def _not_permitted(kind: str, ctx: KeenContext) -> Plan | None:
    """The same role check the action tools make, before anything is looked up."""
    if not ctx.can_act:
        return Plan(
            "refuse",
            reply="I can't make changes with this credential: it lacks the 'actions' scope, so "
            "I can only answer questions.",
        )
    try:
        check_allowed(ctx.role, kind)
    except NotAllowed as exc:
        return Plan("refuse", reply=f"I can't do that: {exc}")
    return None


def _without_injection(text: str) -> str:
    """The question without the sentences that carry an injected instruction."""
    sentences = re.split(r"(?<=[.?!])\s+", text)
    kept = [
        s
        for s in sentences
        if not (INJECTION.search(s) or DO_WHAT_IT_SAYS.search(s) or ACTION.search(s))
    ]
    return " ".join(kept).strip()


def _decisive(
    intent: str | None, text: str, slots: Slots, ctx: KeenContext, previous: dict[str, Any] | None
) -> str | None:
    """Readings that the slots make certain, whatever the wording's nearest examples say."""
    scoped = bool(slots.channels or slots.partners or (slots.this_channel and ctx.channel_id))
    pointed_back = bool(inherited_scope(text, slots, previous))
    if intent in ("help", "out_of_scope", "action", "invent", "lead_detail", "reward_explain"):
        return None
    if IMPROVE_ASK.search(text) and (scoped or pointed_back):
        return "improve"
    if ENOUGH_LEADS.search(text) and not slots.flags:
        return "channel_metrics" if scoped else "metric_ranking"
    if slots.pattern and intent not in ("advice", "improve"):
        return "improve" if scoped else "patterns"
    if (
        REPORT_WORD.search(text)
        and intent in ("rewards", "leads", "channel_metrics")
        and not slots.flags
        and not (slots.reward_status and REWARDS_NOT_REPORT.search(text))
    ):
        return "reports"
    if (
        slots.metric
        and (slots.order or slots.top)
        and RANKING_WORDS.search(text)
        and not slots.reward_status
    ):
        return "conversion_ranking" if slots.metric == "conversion_rate" else "metric_ranking"
    if (
        slots.metric
        and slots.metric != "lead_volume"
        and not (slots.flags or slots.statuses or slots.reward_status or slots.custom_property)
        and intent in ("rewards", "leads", "search", "overview", None)
    ):
        return "channel_metrics"
    if (
        slots.statuses
        and LEADS_WORD.search(text)
        and intent in ("channel_metrics", "overview", "search", "metric_ranking", "stuck", None)
    ):
        return "leads"
    if (slots.flags or slots.custom_property or slots.owner or slots.source) and intent in (
        "channel_metrics",
        "overview",
        "search",
        "metric_ranking",
        None,
    ):
        return "leads"
    return None


def _earlier_reward(text: str, slots: Slots, previous: dict[str, Any] | None) -> str | None:
    """ "Why is the won one 1061.55?" after a list of rewards: the reward that answer showed."""
    rows = (previous or {}).get("slots", {}).get("rewards") or []
    if not rows or not WHY.search(text) or slots.record_ids:
        return None
    amounts = numbers_in(text)
    channels = {name for _, name in slots.channels}
    for reward_id, channel, amount, _status in rows:
        if normalise(str(amount)) in amounts or channel in channels:
            return str(reward_id)
    return None


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
        return (
            "Which reward do you mean? Please give me its id (for example from the list of "
            "rewards)."
        )
    if intent == "lead_detail":
        return "Which lead do you mean? Please give me its id."
    return _clarify("I'm not sure what you are asking — could you be more specific?")

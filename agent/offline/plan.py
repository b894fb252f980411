"""From an understood question (intent + slots) to tool calls, or to a direct reply.

Follow-ups reuse the previous turn's plan from the thread ("and last month?", "what about
Beacon?", "only the stuck ones", "show me those leads"): the new slots replace or narrow
the old arguments.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from agent.offline.slots import Slots

FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|same for|same but|now|only|just|then|also|ok(?:ay)?,?|"
    r"but|for|in|show me (?:those|these|them|the leads)|those|these|them|and for)\b",
    re.IGNORECASE,
)
THOSE_LEADS = re.compile(
    r"\b(?:those|these|them|the) leads\b|\bshow (?:me )?(?:those|them|these)\b"
)

READ_ONLY_NOTE = (
    "I can't change data from this conversation: approving, rejecting or paying rewards, moving "
    "leads and recording purchases need the actions feature and a role that allows them."
)


@dataclass
class ToolCall:
    name: str
    args: dict[str, Any]


@dataclass
class Plan:
    intent: str
    calls: list[ToolCall] = field(default_factory=list)
    reply: str | None = None  # a direct reply with no tool call (help, refusal, clarification)
    slots: dict[str, Any] = field(default_factory=dict)
    note: str | None = None  # said before the answer (e.g. an instruction that was ignored)

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "calls": [asdict(c) for c in self.calls],
            "slots": self.slots,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            intent=data["intent"],
            calls=[ToolCall(**c) for c in data.get("calls", [])],
            slots=data.get("slots", {}),
            note=data.get("note"),
        )


PRONOUN = re.compile(
    r"\b(?:its|their|them|they|it|that (?:channel|partner|one)|the same (?:channel|partner)|"
    r"this (?:channel|partner|one)|there)\b",
    re.IGNORECASE,
)
TOTAL = re.compile(r"\btotal\b|overall|combined|altogether|across (?:all|every)|in total", re.I)
NEW_LEADS = re.compile(r"\bnew (?:leads?|ones)\b|\bin new lead\b", re.IGNORECASE)


def _scope(
    slots: Slots, page_channel: str | None, inherited: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Channel / partner arguments from the slots ("this channel" = the page context; "its"
    = the channel of the previous question)."""
    args: dict[str, Any] = {}
    if slots.channels:
        args["channel"] = slots.channels[0][1]
    elif slots.this_channel and page_channel:
        args["channel"] = "this"
    if slots.partners and "channel" not in args:
        args["partner"] = slots.partners[0][1]
    if not args and inherited:
        args.update(inherited)
    return args


def inherited_scope(question: str, slots: Slots, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The previous turn's channel or partner, when this question points back at it."""
    if not previous or slots.channels or slots.partners or not PRONOUN.search(question):
        return {}
    for call in previous.get("calls", []):
        for key in ("channel", "partner"):
            if call.get("args", {}).get(key):
                return {key: call["args"][key]}
    leader = (previous.get("slots") or {}).get("leader")
    if leader:  # "their stuck leads" after a ranking: the one ranked first
        return {leader[0]: leader[1]}
    return {}


def _period(slots: Slots, phrase: str | None) -> dict[str, Any]:
    return {"period": phrase} if slots.period is not None and phrase else {}


PER_CHANNEL_INTENTS = frozenset(
    {
        "channel_metrics",
        "leads",
        "rewards",
        "stuck",
        "triggers",
        "overview",
        "improve",
        "reports",
        "reports_attention",
    }
)


def build_calls(
    intent: str,
    slots: Slots,
    question: str,
    period_phrase: str | None,
    page_channel: str | None,
    inherited: dict[str, Any] | None = None,
) -> list[ToolCall]:
    """The tool calls for an intent; one call per channel when several are named."""
    names = [("channel", n) for _, n in slots.channels]
    names += [("partner", n) for _, n in slots.partners]
    if len(names) > 1 and intent in PER_CHANNEL_INTENTS:
        calls: list[ToolCall] = []
        for key, name in names:
            single = replace(slots, channels=[], partners=[])
            if key == "channel":
                single.channels = [("", name)]
            else:
                single.partners = [("", name)]
            calls += _calls_for(intent, single, question, period_phrase, page_channel, None)
        return calls
    return _calls_for(intent, slots, question, period_phrase, page_channel, inherited)


def _calls_for(
    intent: str,
    slots: Slots,
    question: str,
    period_phrase: str | None,
    page_channel: str | None,
    inherited: dict[str, Any] | None,
) -> list[ToolCall]:
    scope = _scope(slots, page_channel, inherited)
    period = _period(slots, period_phrase)
    ids = slots.record_ids
    if intent == "reports_attention":
        return [ToolCall("list_reward_reports", {"needs_attention": True, **scope, **period})]
    if intent == "reports":
        args: dict[str, Any] = {**scope, **period}
        state = _report_state(question.lower())
        if ids:
            args = {"report_id": ids[0]}
        elif state:
            args["state"] = state
        return [ToolCall("list_reward_reports", args)]
    if intent == "rewards":
        args = {**scope, **period}
        if slots.reward_status:
            args["status"] = slots.reward_status
        return [ToolCall("list_rewards", args)]
    if intent == "reward_explain":
        return [ToolCall("explain_reward", {"reward_id": ids[0]})] if ids else []
    if intent == "triggers":
        return [ToolCall("list_reward_triggers", scope)]
    if intent == "metric_ranking" and not (slots.order or slots.top) and TOTAL.search(question):
        return _calls_for(
            "channel_metrics", slots, question, period_phrase, page_channel, inherited
        )
    if intent in ("conversion_ranking", "metric_ranking"):
        metric = "conversion_rate" if intent == "conversion_ranking" else slots.metric or "revenue"
        args = {"group_by": slots.group_by or "channel", "rank_by": metric, **period}
        args["order"] = slots.order or "desc"
        if slots.top:
            args["top"] = slots.top
        return [ToolCall("channel_performance", args)]
    if intent == "channel_metrics":
        args = {**scope, **period}
        if "partner" in scope or (not scope and slots.group_by == "partner"):
            args["group_by"] = "partner"
        return [ToolCall("channel_performance", args)]
    if intent == "stuck":
        return [ToolCall("lead_funnel", {**scope, **period})]
    if intent == "patterns":
        args = {**period}
        if slots.pattern and slots.pattern != "any":
            args["pattern"] = slots.pattern
        return [ToolCall("find_patterns", args)]
    if intent == "improve":
        return [ToolCall("improvement_plan", {**scope, **period})] if scope else []
    if intent == "advice":
        return [ToolCall("search_notes", {"query": question, "kind": "playbook", "limit": 6})]
    if intent == "leads":
        return [ToolCall("find_leads", lead_filters(slots, scope, period, question))]
    if intent == "lead_detail":
        return [ToolCall("get_lead", {"lead_id": ids[0]})] if ids else []
    if intent == "overview":
        return [ToolCall("channel_overview", scope)]
    if intent == "search":
        args = {
            "query": question,
            "kind": "partners"
            if slots.group_by == "partner" and "lead" not in question.lower()
            else "leads",
            **scope,
            **period,
        }
        if slots.statuses:
            args["status"] = slots.statuses[0]
        return [ToolCall("search_notes", args)]
    return []


REPORT_STATES: tuple[tuple[str, str | None], ...] = (
    (r"ready to be paid|can (?:we|i) pay|ready for payment", None),  # asks for the state
    (
        r"awaiting pay|waiting (?:on|for) pay|unpaid|not (?:yet )?paid|still to pay|to be paid",
        "awaiting payment",
    ),
    (
        r"fully paid|already paid|been paid|(?:are|were|is) paid|paid reports|paid out|settled",
        "paid",
    ),
    (r"needs? review|to review|awaiting review|unreviewed", "needs review"),
    (r"\bempty\b|no rewards", "empty"),
)


def _report_state(question: str) -> str | None:
    for pattern, state in REPORT_STATES:
        if re.search(pattern, question):
            return state
    return None


def lead_filters(
    slots: Slots, scope: dict[str, Any], period: dict[str, Any], question: str = ""
) -> dict[str, Any]:
    args: dict[str, Any] = {**scope, **period}
    if slots.statuses:
        args["status"] = slots.statuses[0]
    elif NEW_LEADS.search(question) and "needs_action" not in slots.flags:
        args["status"] = "New lead"
    elif slots.status_kind:
        args["status_kind"] = slots.status_kind
    for flag in slots.flags:
        args[flag] = True
    if slots.stuck_days:
        args["stuck_days"] = slots.stuck_days
    if slots.lead_sort:
        args["sort"] = slots.lead_sort
        if slots.top:
            args["limit"] = slots.top
    if slots.owner:
        args["owner"] = slots.owner
    if slots.company:
        args["text"] = slots.company
    if slots.source:
        args["source"] = slots.source
    if slots.custom_property and not (
        slots.company and slots.custom_property[1].lower() in slots.company.lower()
    ):  # "leads at Kestrel Construction" names a company, not the industry
        args["property_name"], args["property_value"] = slots.custom_property
    return args


def is_follow_up(question: str, slots: Slots, confident: bool) -> bool:
    words = len(question.split())
    if FOLLOW_UP.search(question) and words <= 12:
        return True
    return not confident and slots.names_something and words <= 8


def follow_up(
    previous: Plan, slots: Slots, question: str, period_phrase: str | None, page_channel: str | None
) -> Plan:
    """Re-run the previous plan with what this question changes."""
    scope = _scope(slots, page_channel)
    lowered = question.lower()
    if THOSE_LEADS.search(lowered) or (slots.flags and previous.intent != "leads"):
        base = _lead_args_from(previous)
        base.update(scope)
        base.update(_period(slots, period_phrase))
        base.update(lead_filters(slots, {}, {}))
        return Plan("leads", [ToolCall("find_leads", base)], slots=previous.slots)
    calls = []
    for call in previous.calls:
        args = dict(call.args)
        if scope:
            args.pop("channel", None)
            args.pop("partner", None)
            args.update(scope)
        if slots.period is not None and period_phrase:
            args["period"] = period_phrase
        if slots.reward_status and call.name == "list_rewards":
            args["status"] = slots.reward_status
        if call.name == "find_leads":
            args.update(lead_filters(slots, {}, {}))
        if call.name == "channel_performance" and slots.metric and "rank_by" in args:
            args["rank_by"] = slots.metric
        if call.name == "channel_performance" and slots.order:
            args["order"] = slots.order
        calls.append(ToolCall(call.name, args))
    return Plan(previous.intent, calls, slots=previous.slots)


def _lead_args_from(previous: Plan) -> dict[str, Any]:
    """The lead filters implied by the previous answer (its channel, period, status...)."""
    keep = (
        "channel",
        "partner",
        "period",
        "status",
        "status_kind",
        "stuck",
        "needs_action",
        "missing_information",
        "owner",
        "property_name",
        "property_value",
    )
    args: dict[str, Any] = {}
    for call in previous.calls:
        for key in keep:
            if key in call.args and call.name != "list_rewards":
                args[key] = call.args[key]
        if call.name == "lead_funnel" and previous.slots.get("most_stuck_status"):
            args["status"] = previous.slots["most_stuck_status"]
            args["stuck"] = True
    return args

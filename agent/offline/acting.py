"""Change requests in the offline planner: which action, on which records, with what details.

"Approve all of Atlas's July rewards" becomes `list_rewards` (awaiting review, Atlas, July)
and then `approve_rewards` with the ids it returned; explicit ids go straight to the action.
The action tool itself pauses for the human's confirmation and checks the role, so this
module only has to understand the request, never to decide whether it is allowed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import ToolMessage

from agent.offline.plan import Plan, ToolCall
from agent.offline.slots import Slots

APPROVE = re.compile(r"\b(?:approve|accept|okay|ok)\b", re.IGNORECASE)
REJECT = re.compile(r"\b(?:reject|decline|deny|refuse)\b", re.IGNORECASE)
PAY = re.compile(r"\bmark\b.{0,120}\bpaid\b|\bpay(?: out)?\b|\bsettle\b|\bas paid\b", re.I)
MOVE = re.compile(
    r"\b(?:move|set|change|advance|put|update)\b.{0,80}\bto\b|\bmark\b.{0,60}\bas\b(?!.*\bpaid\b)",
    re.IGNORECASE,
)
PURCHASE = re.compile(r"\b(?:record|log|register|add)\b.{0,40}\b(?:purchase|order|sale)\b", re.I)
FLAG = re.compile(r"\bflag\b", re.IGNORECASE)
THOSE = re.compile(r"\b(?:them|those|these|all of them|the ones? (?:above|listed))\b", re.I)
ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
PAY_DATE = re.compile(r"\b(?:on|dated?|paid)\s+(\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
REFERENCE = re.compile(
    r"\b(?:ref(?:erence)?|payment (?:ref(?:erence)?|id)|transfer(?: id)?)\b[\s:#]*"
    r"([A-Za-z0-9][\w./-]{0,99})",
    re.IGNORECASE,
)
REASON = re.compile(r"(?:\bbecause\b|\breason\b\s*:?|\bdue to\b|\bsince\b|\bas\b|:|—| - )\s*(.+)$")
NOTE = re.compile(
    r"(?:\bnote\b\s*:?|\bsaying\b|\bwith\b|\bask(?:ing)?\b|\bbecause\b|:)\s*[\"“']?(.+?)[\"”']?\s*$",
    re.IGNORECASE,
)
TO_STATUS = re.compile(
    r"\bto\s+(?:status\s+|the\s+)?[\"“']?([\w][\w &/-]*?)[\"”']?\s*(?:[.,;:!?(]|\bstatus\b|$)",
    re.IGNORECASE,
)
AS_STATUS = re.compile(r"\bas\s+[\"“']?([\w][\w &/-]*?)[\"”']?\s*(?:[.,;:!?(]|$)", re.I)
AMOUNT = re.compile(r"(?<![\w.-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?(?![\w-])")

ACTION_TOOLS = (
    "approve_rewards",
    "reject_rewards",
    "mark_rewards_paid",
    "move_lead",
    "record_purchase",
    "flag_reward_report",
)
# Which rewards a bulk request means when it names no state.
DEFAULT_STATE = {
    "approve_rewards": "awaiting_review",
    "reject_rewards": "awaiting_review",
    "mark_rewards_paid": "approved",
}
SELECTION_LIMIT = 100
CAPABILITIES = (
    "I can approve, reject or mark rewards paid, move a lead to another status, record a "
    "purchase, and flag a reward report for clarification — each after you confirm it."
)


def action_kind(text: str) -> str | None:
    if PURCHASE.search(text):
        return "record_purchase"
    if FLAG.search(text):
        return "flag_reward_report"
    if PAY.search(text):
        return "mark_rewards_paid"
    if REJECT.search(text):
        return "reject_rewards"
    if APPROVE.search(text):
        return "approve_rewards"
    if MOVE.search(text) and re.search(r"\blead\b", text, re.IGNORECASE):
        return "move_lead"
    return None


def understand_action(
    kind: str,
    text: str,
    slots: Slots,
    records: dict[str, str],
    previous: dict[str, Any] | None,
) -> Plan:
    """The plan of a change request of `kind` (see action_kind), or a clarifying reply."""
    ids = {k: [r for r in slots.record_ids if records.get(r) == k] for k in records.values()}
    if kind == "move_lead":
        return _move_lead(text, slots, ids.get("lead", []))
    if kind == "record_purchase":
        return _purchase(text, ids.get("lead", []))
    if kind == "flag_reward_report":
        return _flag(text, ids.get("report", []))
    return _reward_action(kind, text, slots, ids, previous)


def _plan(tool: str, args: dict[str, Any]) -> Plan:
    return Plan("act", [ToolCall(tool, args)], slots={"action": tool})


def _ask(text: str) -> Plan:
    return Plan("clarify", reply=text)


def _move_lead(text: str, slots: Slots, leads: list[str]) -> Plan:
    if not leads:
        return _ask("Which lead should I move? Please give me its id.")
    status = slots.statuses[-1] if slots.statuses else None
    if status is None:
        match = TO_STATUS.search(text) or AS_STATUS.search(text)
        status = match.group(1).strip() if match else None
    if not status:
        return _ask(f"Which status should lead {leads[0]} move to?")
    return _plan("move_lead", {"lead_id": leads[0], "status": status})


def _purchase(text: str, leads: list[str]) -> Plan:
    if not leads:
        return _ask("Which lead's customer made the purchase? Please give me the lead's id.")
    when = ISO_DATE.search(text)
    rest = ISO_DATE.sub(" ", text)
    for lead in leads:
        rest = rest.replace(lead, " ")
    amount = AMOUNT.search(rest)
    if amount is None:
        return _ask("What was the purchase amount?")
    value = amount.group(1).replace(",", "") + (amount.group(2) or "")
    args = {"lead_id": leads[0], "amount": value, "purchase_date": when.group(1) if when else None}
    return _plan("record_purchase", args)


def _flag(text: str, reports: list[str]) -> Plan:
    if not reports:
        return _ask("Which reward report should I flag? Please give me its id.")
    after = text.split(reports[0], 1)[1]
    match = NOTE.search(after)
    note = match.group(1).strip() if match else ""
    note = re.sub(r"^(?:for clarification|for review)\b[\s:,-]*", "", note, flags=re.I).strip()
    if not note:
        return _ask(f"What should the note on report {reports[0]} say?")
    return _plan("flag_reward_report", {"report_id": reports[0], "note": note})


def _details(kind: str, text: str) -> dict[str, Any] | Plan:
    """Reason, payment date and reference; a clarifying Plan when a reason is missing."""
    if kind == "reject_rewards":
        match = REASON.search(text)
        reason = match.group(1).strip().rstrip(".") if match else ""
        if not reason:
            return _ask("Why should they be rejected? Please give a reason (it is kept with each).")
        return {"reason": reason}
    if kind == "mark_rewards_paid":
        when = PAY_DATE.search(text)
        ref = REFERENCE.search(text)
        return {
            "payment_date": when.group(1) if when else None,
            "reference": ref.group(1).rstrip(".,") if ref else None,
        }
    return {}


def _reward_action(
    kind: str,
    text: str,
    slots: Slots,
    ids: dict[str, list[str]],
    previous: dict[str, Any] | None,
) -> Plan:
    details = _details(kind, text)
    if isinstance(details, Plan):
        return details
    if ids.get("reward"):
        return _plan(kind, {"reward_ids": ids["reward"], **details})
    selection = _selection(kind, slots, ids, text, previous)
    if selection is None:
        return _ask(
            "Which rewards do you mean? Give me their ids, or a channel, partner, report or period."
        )
    plan = Plan("act", [ToolCall("list_rewards", selection)])
    plan.slots = {"action": kind, "then": {"tool": kind, "args": details}}
    return plan


def _selection(
    kind: str,
    slots: Slots,
    ids: dict[str, list[str]],
    text: str,
    previous: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """list_rewards arguments for "all of Atlas's July rewards", or "them" after a list."""
    args: dict[str, Any] = {}
    if slots.channels:
        args["channel"] = slots.channels[0][1]
    elif slots.partners:
        args["partner"] = slots.partners[0][1]
    elif slots.this_channel:
        args["channel"] = "this"
    if ids.get("report"):
        args["report_id"] = ids["report"][0]
    if ids.get("lead"):
        args["lead_id"] = ids["lead"][0]
    if slots.period is not None and not PAY_DATE.search(text):
        args["period"] = slots.period.label
    if not args and THOSE.search(text) and previous:
        earlier = next((c for c in previous.get("calls", []) if c["name"] == "list_rewards"), None)
        if earlier is not None:
            return {**earlier["args"], "limit": SELECTION_LIMIT}
    if not args and not re.search(r"\ball\b|\bevery\b|\beverything\b", text, re.IGNORECASE):
        return None
    state = slots.reward_status if slots.reward_status != "outstanding" else "approved"
    args["status"] = state or DEFAULT_STATE[kind]
    args["limit"] = SELECTION_LIMIT
    return args


# --- after the tools ---------------------------------------------------------------------------


def next_action_call(plan: dict[str, Any], results: Sequence[ToolMessage]) -> dict[str, Any] | None:
    """The action call that follows a selection (`list_rewards`), with the ids it returned."""
    then = (plan.get("slots") or {}).get("then")
    if not then or any(m.name in ACTION_TOOLS for m in results):
        return None
    ids = selected_ids(results)
    if not ids:
        return None
    return {"name": then["tool"], "args": {"reward_ids": ids, **then["args"]}}


def selected_ids(results: Sequence[ToolMessage]) -> list[str]:
    for message in results:
        artifact = message.artifact if isinstance(message.artifact, dict) else {}
        for table in artifact.get("data", []):
            if "id" in table.get("columns", []):
                at = table["columns"].index("id")
                return [str(row[at]) for row in table["rows"]]
    return []


def compose_action(plan: dict[str, Any], results: Sequence[ToolMessage]) -> str:
    """The answer after an action ran, was cancelled or refused, or found nothing to do."""
    done = [m for m in results if m.name in ACTION_TOOLS]
    if not done:
        listed = _payload(results[-1]) if results else {}
        if "error" in listed:
            return f"I couldn't find the rewards: {listed['error']}"
        return f"No rewards {_criteria(plan)} match, so there is nothing to change."
    payload = _payload(done[-1])
    if "error" in payload:
        return f"I can't do that: {payload['error']}"
    answer = payload.get("answer") or {}
    return str(answer.get("message") or "Done.")


def _criteria(plan: dict[str, Any]) -> str:
    """The selection in words: "awaiting review for Atlas Advisory in July 2026"."""
    args = next((c["args"] for c in plan.get("calls", []) if c["name"] == "list_rewards"), {})
    parts = [str(args["status"]).replace("_", " ")] if args.get("status") else []
    for key, word in (("channel", "for"), ("partner", "of"), ("report_id", "in report")):
        if args.get(key):
            parts.append(f"{word} {args[key]}")
    if args.get("lead_id"):
        parts.append(f"of lead {args['lead_id']}")
    if args.get("period"):
        parts.append(f"in {args['period']}")
    return " ".join(parts) or "that"


def _payload(message: ToolMessage) -> dict[str, Any]:
    try:
        data = json.loads(str(message.content))
    except json.JSONDecodeError:
        return {"error": str(message.content)}
    return data if isinstance(data, dict) else {}

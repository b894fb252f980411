"""Changes waiting for confirmation, in Slack: Approve / Reject buttons and what a click carries.

An answer with `pending_action` becomes its summary (escaped like every answer; it lists each
record with its amount and from → to state) followed by an actions block. Both buttons carry
the thread id and the action id as compact JSON in `value` (Slack allows 2,000 characters);
the click comes back as a signed `block_actions` payload and is decided by the assistant, which
checks the clicker's thread and role. After a decision the buttons are replaced by who decided.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from slack_bot.mrkdwn import escape
from slack_bot.render import MESSAGE_BLOCKS, Reply, SlackMessage, render_answer

if TYPE_CHECKING:
    from agent.answer import Answer

ACTION_APPROVE = "keen_action_approve"
ACTION_REJECT = "keen_action_reject"
ACTIONS_BLOCK = "keen_action"
ACTION_IDS = re.compile(rf"^({ACTION_APPROVE}|{ACTION_REJECT})$")
VALUE_CHARS = 2_000  # Slack's limit for a button's value
DECISIONS = {ACTION_APPROVE: "approve", ACTION_REJECT: "reject"}
DECIDED = {"approve": ":white_check_mark: *Approved* by {who}", "reject": ":x: *Rejected* by {who}"}
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,30}$")


def button_value(thread_id: str, action_id: str) -> str:
    """What both buttons carry: which thread and which paused change."""
    value = json.dumps({"t": thread_id, "a": action_id}, separators=(",", ":"))
    if len(value) >= VALUE_CHARS:
        raise ValueError(f"button value of {len(value)} characters (Slack allows {VALUE_CHARS})")
    return value


def parse_value(value: Any) -> tuple[str, str] | None:
    """(thread id, action id) from a button's value, or None when it is not ours."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    thread, action = data.get("t"), data.get("a")
    if isinstance(thread, str) and isinstance(action, str) and thread and action:
        return thread, action
    return None


def actions_block(thread_id: str, action_id: str) -> dict[str, Any]:
    value = button_value(thread_id, action_id)
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK,
        "elements": [
            _button("Approve", ACTION_APPROVE, "primary", value),
            _button("Reject", ACTION_REJECT, "danger", value),
        ],
    }


def _button(label: str, action_id: str, style: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "style": style,
        "value": value,
    }


def render_pending(answer: Answer) -> Reply:
    """The confirmation: summary (with every record) and the two buttons in its last message.

    The turn's lookup tables are left out: the summary already lists what would change, and a
    table attachment would render below the buttons.
    """
    pending = answer.pending_action
    assert pending is not None
    reply = render_answer(answer.answer, (), answer.grounded)
    last = reply.messages[-1]
    if len(last.blocks) >= MESSAGE_BLOCKS:
        last = SlackMessage(text=last.text, blocks=[])
        reply.messages.append(last)
    last.blocks.append(actions_block(answer.thread_id, pending.id))
    return reply


def render_reply(answer: Answer, csv_where: str = "in the CSV file below") -> Reply:
    """Any answer: the confirmation with buttons when a change waits, else the usual reply."""
    if answer.pending_action is not None:
        return render_pending(answer)
    return render_answer(answer.answer, answer.data, answer.grounded, csv_where=csv_where)


def mention(user_id: str) -> str:
    """A Slack user mention for a clicker's id (only well-formed ids become mentions)."""
    return f"<@{user_id}>" if _SLACK_ID.match(user_id or "") else escape(user_id or "someone")


def decided_blocks(
    blocks: list[dict[str, Any]], decision: str, user_id: str
) -> list[dict[str, Any]]:
    """The original message without its buttons, and who decided."""
    kept = [
        b for b in blocks if not (b.get("type") == "actions" and b.get("block_id") == ACTIONS_BLOCK)
    ]
    note = DECIDED[decision].format(who=mention(user_id))
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]

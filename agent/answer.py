"""The answer object of interfaces.md, built in one place from a turn's messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field

from tools.actions import ACTION_TOOL_NAMES


class ToolCallRecord(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class DataTable(BaseModel):
    title: str
    columns: list[str]
    rows: list[list[Any]]


class PendingAction(BaseModel):
    """A change waiting for a human's decision: resume the thread with approve, reject or edit
    (`POST /api/threads/{thread_id}/resume` with this `id`)."""

    id: str
    kind: str = ""
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)


class Answer(BaseModel):
    """What every surface returns: `keen ask --json`, `POST /api/chat`, the widget, Slack."""

    answer: str
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    data: list[DataTable] = Field(default_factory=list)
    thread_id: str
    grounded: bool = True
    model: str = "offline"
    pending_action: PendingAction | None = None


def current_turn(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages after the last human message: this turn's calls, results and answer."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return list(messages[i + 1 :])
    return list(messages)


def last_question(messages: Sequence[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return str(message.content)
    return ""


def build_answer(
    messages: Sequence[BaseMessage], thread_id: str, model: str, grounded: bool = True
) -> Answer:
    turn = current_turn(messages)
    calls = [
        ToolCallRecord(name=call["name"], args=call.get("args") or {})
        for message in turn
        if isinstance(message, AIMessage)
        for call in message.tool_calls
    ]
    data: list[DataTable] = []
    for message in turn:
        if isinstance(message, ToolMessage) and isinstance(message.artifact, dict):
            data.extend(DataTable(**table) for table in message.artifact.get("data", []))
    final = next((m for m in reversed(turn) if isinstance(m, AIMessage) and not m.tool_calls), None)
    text = str(final.content) if final is not None else ""
    return Answer(
        answer=text,
        tool_calls=calls,
        data=data,
        thread_id=thread_id,
        grounded=grounded,
        model=model,
    )


CONFIRM_PROMPT = "Nothing has changed yet: approve or reject this change."
PENDING_COLUMNS = ["record", "id", "from", "to", "amount", "currency", "about"]


def with_pending(answer: Answer, pending: PendingAction) -> Answer:
    """The confirmation shown while a change waits: what will change, and the question."""
    outcome = pending.details.get("outcome") or {}
    rows = [
        [
            c.get("record"),
            c.get("id"),
            c.get("from_state"),
            c.get("to_state"),
            c.get("amount"),
            c.get("currency"),
            c.get("about"),
        ]
        for c in [*outcome.get("changes", []), *outcome.get("created", [])]
    ]
    table = DataTable(title="Waiting for your approval", columns=PENDING_COLUMNS, rows=rows)
    return answer.model_copy(
        update={
            "answer": f"{pending.summary}\n\n{CONFIRM_PROMPT}",
            "data": [*answer.data, table],
            "pending_action": pending,
        }
    )


def only_action_tables(answer: Answer, turn: Sequence[BaseMessage]) -> Answer:
    """After a change, the data is what changed: the lookup that chose the records (taken
    before the change) would show their old states."""
    acted = [m for m in turn if isinstance(m, ToolMessage) and m.name in ACTION_TOOL_NAMES]
    if not acted:
        return answer
    tables = [
        DataTable(**table)
        for m in acted
        if isinstance(m.artifact, dict)
        for table in m.artifact.get("data", [])
    ]
    return answer.model_copy(update={"data": tables})

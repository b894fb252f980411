"""The assistant as every surface sees it: ask a question in a thread, get an Answer."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.types import Command
from sqlalchemy import select

from agent.answer import (
    CONFIRM_PROMPT,
    Answer,
    PendingAction,
    build_answer,
    current_turn,
    last_question,
    only_action_tables,
    with_pending,
)
from agent.graph import RECURSION_LIMIT, build_graph
from agent.grounding import check_grounding
from agent.memory import get_checkpointer
from domain import clock
from domain.db import get_engine, resolve_org, session_scope
from domain.models import ConversationThread
from domain.permissions import NotAllowed, check_allowed
from domain.settings import get_settings
from tools.context import KeenContext

MAX_QUESTION_CHARS = 4000


class ThreadNotFound(LookupError):
    """The thread does not exist for this organization and user (never says whose it is)."""


class QuestionRejected(ValueError):
    """An empty or oversized question."""


class ActionNotPending(LookupError):
    """A decision for a change that is not (or no longer) waiting in the thread."""


DECISIONS = ("approve", "reject", "edit")
SAY_YES = re.compile(
    r"^\s*(?:yes|y|yep|yeah|sure|ok|okay|approve(?: it| this| that)?|approved|confirm(?:ed)?|"
    r"go ahead|do it|please do)\s*(?:please)?[.!]*\s*$",
    re.IGNORECASE,
)
SAY_NO = re.compile(
    r"^\s*(?:no|n|nope|reject(?: it| this| that)?|cancel(?: it| this| that)?|don'?t|stop|abort)"
    r"\s*[.!]*\s*$",
    re.IGNORECASE,
)


def spoken_decision(text: str) -> str | None:
    """approve / reject when the whole message is a plain yes or no, else None."""
    if SAY_YES.match(text):
        return "approve"
    if SAY_NO.match(text):
        return "reject"
    return None


CANCELLED_NOTE = (
    "_The change that was waiting for your decision was cancelled; nothing was changed._"
)
NO_ACTIONS_SCOPE = "This credential cannot make changes: it lacks the 'actions' scope."


@dataclass(frozen=True)
class Asker:
    """Who is asking and from where; the organization comes from here, never from a message."""

    org_slug: str | None = None
    user: str = "cli"
    role: str = "admin"
    surface: str = "cli"
    can_act: bool = True  # False for credentials without the `actions` scope


class Assistant:
    """Holds the compiled graph (built once per model) and runs turns through it."""

    def __init__(self, model: str | None = None) -> None:
        self.model = model or get_settings().model
        self._graph: Any = None
        self._lock = threading.Lock()
        self._thread_locks: dict[str, threading.Lock] = {}

    @property
    def graph(self) -> Any:
        with self._lock:
            if self._graph is None:
                self._graph = build_graph(self.model, get_checkpointer())
            return self._graph

    def context(
        self, asker: Asker, thread_id: str, channel_id: str | None, today: date | None
    ) -> KeenContext:
        with session_scope(get_engine()) as session:
            org = resolve_org(session, asker.org_slug)
            self._claim_thread(session, thread_id, org.id, asker)
            return KeenContext(
                org_id=org.id,
                org_slug=org.slug,
                today=clock.today(org.timezone, today),
                user=asker.user,
                role=asker.role,
                surface=asker.surface,
                channel_id=channel_id,
                thread_id=thread_id,
                can_act=asker.can_act,
            )

    @staticmethod
    def _claim_thread(session: Any, thread_id: str, org_id: int, asker: Asker) -> None:
        row = session.get(ConversationThread, thread_id)
        if row is None:
            session.add(
                ConversationThread(
                    id=thread_id, org_id=org_id, user=asker.user, surface=asker.surface
                )
            )
        elif row.org_id != org_id or row.user != asker.user:
            raise ThreadNotFound(f"Unknown thread {thread_id!r}.")

    def _prepare(
        self,
        question: str,
        asker: Asker,
        thread_id: str | None,
        channel_id: str | None,
        today: date | None,
    ) -> tuple[dict[str, Any], dict[str, Any], KeenContext]:
        question = (question or "").strip()
        if not question:
            raise QuestionRejected("The question is empty.")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError:
            raise QuestionRejected(
                "The question contains characters that are not valid text (a lone surrogate)."
            ) from None
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionRejected(
                f"The question is too long ({len(question)} characters; at most "
                f"{MAX_QUESTION_CHARS})."
            )
        thread_id = thread_id or uuid.uuid4().hex
        ctx = self.context(asker, thread_id, channel_id, today)
        return {"messages": [HumanMessage(question)]}, self._config(thread_id), ctx

    def ask(
        self,
        question: str,
        asker: Asker = Asker(),
        thread_id: str | None = None,
        channel_id: str | None = None,
        today: date | None = None,
    ) -> Answer:
        inputs, config, ctx = self._prepare(question, asker, thread_id, channel_id, today)
        reply = self._spoken_decision(question, ctx, asker, today)
        if reply is not None:
            return reply
        cancelled = self._cancel_pending(config, ctx)
        self.graph.invoke(inputs, config=config, context=ctx)
        return self._finish(config, ctx, cancelled)

    def _spoken_decision(
        self, question: str, ctx: KeenContext, asker: Asker, today: date | None
    ) -> Answer | None:
        """ "yes" / "no" typed while a change waits decides it, on surfaces without buttons
        (the OpenAI-compatible API, a Slack reply, `keen ask --thread`)."""
        thread_id = ctx.thread_id or ""
        decision = spoken_decision(question)
        pending = self.pending(thread_id) if decision else None
        if pending is None or decision is None:
            return None
        return self.resume(thread_id, asker, pending.id, decision, today=today)

    def resume(
        self,
        thread_id: str,
        asker: Asker,
        action_id: str,
        decision: str,
        args: dict[str, Any] | None = None,
        today: date | None = None,
    ) -> Answer:
        """Answer a paused action: approve (make the change), reject, or edit its arguments
        (which shows a new confirmation). Raises ActionNotPending when `action_id` is not the
        thread's pending action, NotAllowed when the asker may not make this change."""
        ctx = self.context(asker, thread_id, None, today)
        config = self._config(thread_id)
        with self._thread_lock(thread_id):
            pending = self.pending(config["configurable"]["thread_id"])
            if pending is None or pending.id != action_id:
                raise ActionNotPending(
                    "This change is no longer waiting for a decision (it was already decided, "
                    "replaced by a newer one, or never existed)."
                )
            if decision not in DECISIONS:
                raise QuestionRejected(
                    f"Unknown decision {decision!r}: use approve, reject or edit."
                )
            if decision != "reject":
                if not asker.can_act:
                    raise NotAllowed(NO_ACTIONS_SCOPE)
                check_allowed(asker.role, pending.kind)
            command = Command(resume={pending.id: {"decision": decision, "args": args or {}}})
            self.graph.invoke(command, config=config, context=ctx)
            return self._finish(config, ctx)

    def pending(self, thread_id: str) -> PendingAction | None:
        """The thread's change waiting for a decision, if any."""
        return pending_in(self.graph.get_state(self._config(thread_id)))

    def _cancel_pending(self, config: dict[str, Any], ctx: KeenContext) -> bool:
        """A new question while a change waits: the change is cancelled (nothing written)."""
        pending = self.pending(config["configurable"]["thread_id"])
        if pending is None:
            return False
        command = Command(resume={pending.id: {"decision": "reject"}})
        self.graph.invoke(command, config=config, context=ctx)
        return True

    def _thread_lock(self, thread_id: str) -> threading.Lock:
        with self._lock:
            return self._thread_locks.setdefault(thread_id, threading.Lock())

    @staticmethod
    def _config(thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}

    def stream(
        self,
        question: str,
        asker: Asker = Asker(),
        thread_id: str | None = None,
        channel_id: str | None = None,
        today: date | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Events: {"type": "step", "tool": name}, {"type": "token", "text": ...}, then
        {"type": "answer", "answer": Answer}."""
        inputs, config, ctx = self._prepare(question, asker, thread_id, channel_id, today)
        reply = self._spoken_decision(question, ctx, asker, today)
        if reply is not None:
            yield {"type": "answer", "answer": reply}
            return
        cancelled = self._cancel_pending(config, ctx)
        for mode, payload in self.graph.stream(
            inputs, config=config, context=ctx, stream_mode=["messages", "updates"]
        ):
            if mode == "updates":
                for update in payload.values():
                    if not isinstance(update, dict):
                        continue  # e.g. the pause of an action: (Interrupt(...),)
                    for message in update.get("messages", []):
                        if isinstance(message, AIMessage):
                            for call in message.tool_calls:
                                yield {"type": "step", "tool": call["name"], "args": call["args"]}
            elif mode == "messages":
                chunk, _meta = payload
                if isinstance(chunk, AIMessage) and chunk.content and not chunk.tool_calls:
                    yield {"type": "token", "text": str(chunk.content)}
        yield {"type": "answer", "answer": self._finish(config, ctx, cancelled)}

    def _finish(self, config: dict[str, Any], ctx: KeenContext, cancelled: bool = False) -> Answer:
        """The turn's answer; a paused action's confirmation when one is waiting."""
        snapshot = self.graph.get_state(config)
        messages = snapshot.values["messages"]
        pending = pending_in(snapshot)
        turn = current_turn(messages)
        contents = [str(m.content) for m in turn if isinstance(m, ToolMessage)]
        draft = build_answer(messages, ctx.thread_id or "", self.model)
        if pending is not None:
            contents.append(json.dumps(pending.details))
            draft = with_pending(draft, pending)
        else:
            draft = only_action_tables(draft, turn)
        if cancelled:
            draft.answer = f"{CANCELLED_NOTE}\n\n{draft.answer}"
        report = check_grounding(draft.answer, contents, last_question(messages))
        draft.grounded = report.grounded
        return draft

    def history(self, thread_id: str, asker: Asker) -> list[dict[str, str]]:
        """The thread's questions and answers, for surfaces that redraw a conversation."""
        with session_scope(get_engine()) as session:
            org = resolve_org(session, asker.org_slug)
            row = session.scalar(
                select(ConversationThread).where(ConversationThread.id == thread_id)
            )
            if row is None or row.org_id != org.id or row.user != asker.user:
                raise ThreadNotFound(f"Unknown thread {thread_id!r}.")
        state = self.graph.get_state(self._config(thread_id))
        turns = []
        for message in state.values.get("messages", []):
            if isinstance(message, HumanMessage):
                turns.append({"role": "user", "content": str(message.content)})
            elif isinstance(message, AIMessage) and not message.tool_calls and message.content:
                turns.append({"role": "assistant", "content": str(message.content)})
        pending = pending_in(state)
        if pending is not None:  # the paused turn: its confirmation is the answer so far
            turns.append({"role": "assistant", "content": f"{pending.summary}\n\n{CONFIRM_PROMPT}"})
        return turns


def pending_in(snapshot: Any) -> PendingAction | None:
    """The change a thread's state waits on (its first interrupt), if any."""
    for item in snapshot.interrupts:
        value = item.value if isinstance(item.value, dict) else {}
        return PendingAction(
            id=item.id,
            kind=str(value.get("kind", "")),
            summary=str(value.get("summary", "")),
            details=value,
        )
    return None

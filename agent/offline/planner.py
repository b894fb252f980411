"""The offline planner: a deterministic chat model that plugs into the same agent graph.

Turn 1 of a question: understand it (intent + slots, or a follow-up of the thread's previous
plan) and emit tool calls. Turn 2: write the answer from the tool results with templates.
No network, no API key; every number it writes comes from a tool result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.offline.acting import compose_action, next_action_call
from agent.offline.compose import compose_answer
from agent.offline.understand import understand
from tools.context import KeenContext

PLAN_KEY = "keen_plan"


class OfflinePlanner(BaseChatModel):
    """Understands the question, calls the tools, writes the answer — deterministically."""

    context: KeenContext | None = None
    note: str | None = None  # e.g. "the language model could not be reached"

    @property
    def _llm_type(self) -> str:
        return "keen-offline-planner"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OfflinePlanner:  # type: ignore[override]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._respond(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _respond(self, messages: list[BaseMessage]) -> AIMessage:
        if self.context is None:
            raise RuntimeError("The offline planner needs the runtime context.")
        turn_start = _last_human_index(messages)
        question = str(messages[turn_start].content) if turn_start >= 0 else ""
        turn = messages[turn_start + 1 :]
        planned = next(
            (m for m in turn if isinstance(m, AIMessage) and PLAN_KEY in m.additional_kwargs),
            None,
        )
        results = [m for m in turn if isinstance(m, ToolMessage)]
        if planned is None and not results:
            plan = understand(question, self.context, previous_plan(messages[:turn_start]))
            if plan.calls:
                return AIMessage(
                    content="",
                    tool_calls=[
                        {"name": c.name, "args": c.args, "id": f"call_{uuid.uuid4().hex[:12]}"}
                        for c in plan.calls
                    ],
                    additional_kwargs={PLAN_KEY: plan.to_dict()},
                )
            return AIMessage(
                content=self._noted(plan.reply or ""), additional_kwargs={PLAN_KEY: plan.to_dict()}
            )
        plan_dict = planned.additional_kwargs[PLAN_KEY] if planned else {"intent": "unknown"}
        if plan_dict.get("intent") == "act":
            return self._act(plan_dict, results)
        calls = {
            call["id"]: call for m in turn if isinstance(m, AIMessage) for call in m.tool_calls
        }
        answer, facts = compose_answer(question, plan_dict, results, calls, self.context)
        if plan_dict.get("note"):
            answer = f"{plan_dict['note']}\n\n{answer}"
        plan_dict = {**plan_dict, "slots": {**plan_dict.get("slots", {}), **facts}}
        return AIMessage(content=self._noted(answer), additional_kwargs={PLAN_KEY: plan_dict})

    def _act(self, plan: dict[str, Any], results: list[ToolMessage]) -> AIMessage:
        """A change request: the action call after its selection, then the outcome."""
        call = next_action_call(plan, results)
        if call is not None:
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            return AIMessage(content="", tool_calls=[{**call, "id": call_id}])
        answer = compose_action(plan, results)
        if plan.get("note"):
            answer = f"{plan['note']}\n\n{answer}"
        return AIMessage(content=self._noted(answer), additional_kwargs={PLAN_KEY: plan})

    def _noted(self, text: str) -> str:
        return f"{self.note}\n\n{text}" if self.note else text


def _last_human_index(messages: Sequence[BaseMessage]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return -1


def previous_plan(messages: Sequence[BaseMessage]) -> dict[str, Any] | None:
    """The plan of the thread's previous turn (with facts its answer recorded), if any."""
    for message in reversed(messages):
        if isinstance(message, AIMessage) and PLAN_KEY in message.additional_kwargs:
            plan = message.additional_kwargs[PLAN_KEY]
            if plan.get("calls"):
                return plan
    return None

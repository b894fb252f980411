"""Middleware shared by both model modes: context prompt, tool errors, grounding, fallback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import (
    AgentMiddleware,
    ModelRequest,
    ModelResponse,
    ToolErrorMiddleware,
)
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agent.answer import current_turn, last_question
from agent.grounding import check_grounding
from agent.prompting import system_prompt
from tools.context import KeenContext
from tools.envelope import dumps

log = logging.getLogger(__name__)

FALLBACK_NOTE = "_The language model could not be reached, so the built-in planner answered._"
UNUSABLE_NOTE = (
    "_The language model's reply was empty or malformed, so the built-in planner answered._"
)


class ContextPromptMiddleware(AgentMiddleware):
    """Puts today, the organization and the page context into the system prompt."""

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        ctx: KeenContext = request.runtime.context
        return handler(request.override(system_message=SystemMessage(system_prompt(ctx))))


def _tool_error(exc: Exception, request: Any) -> str:
    """Tool failures become messages the model can act on; they never end the run."""
    log.exception("tool %s failed", request.tool_call.get("name"))
    return dumps({"error": f"The tool failed ({type(exc).__name__}). Try other arguments."})


def tool_errors() -> ToolErrorMiddleware:
    return ToolErrorMiddleware(on_error=_tool_error)


def _final_text(response: ModelResponse) -> AIMessage | None:
    messages = response.result if isinstance(response, ModelResponse) else [response]
    for message in messages:
        if isinstance(message, AIMessage) and not message.tool_calls:
            return message
    return None


def _turn_tool_contents(messages: list[Any]) -> list[str]:
    return [str(m.content) for m in current_turn(messages) if isinstance(m, ToolMessage)]


class GroundingMiddleware(AgentMiddleware):
    """LLM mode: an answer with unverified numbers is regenerated once, then replaced."""

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        response = handler(request)
        final = _final_text(response)
        if final is None:
            return response
        contents = _turn_tool_contents(request.messages)
        question = last_question(request.messages)
        report = check_grounding(str(final.content), contents, question)
        if report.grounded:
            return response
        retry_note = HumanMessage(
            "Your answer stated numbers that no tool returned: "
            f"{', '.join(report.ungrounded)}. Answer again using only numbers from the tool "
            "results, or call a tool to get them."
        )
        response = handler(request.override(messages=[*request.messages, final, retry_note]))
        final = _final_text(response)
        if final is None or check_grounding(str(final.content), contents, question).grounded:
            return response
        from agent.offline.compose import tables_only_answer

        return ModelResponse(result=[AIMessage(tables_only_answer(contents))])


class OfflineFallbackMiddleware(AgentMiddleware):
    """When the provider stays unreachable after its retries, the offline planner answers."""

    def __init__(self, errors: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.errors = errors

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        try:
            response = handler(request)
        except self.errors as exc:
            log.warning("model provider unreachable (%s): offline planner answers", exc)
            return self._planner(request, handler, FALLBACK_NOTE)
        if _unusable(response):
            log.warning("the model's reply was empty or had malformed tool calls: planner answers")
            return self._planner(request, handler, UNUSABLE_NOTE)
        return response

    @staticmethod
    def _planner(
        request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse], note: str
    ) -> ModelResponse:
        from agent.offline.planner import OfflinePlanner

        planner = OfflinePlanner(context=request.runtime.context, note=note)
        return handler(request.override(model=planner, messages=_without_model_turn(request)))


def _unusable(response: ModelResponse) -> bool:
    """No tool call to make and no text to show: an empty answer, or only malformed calls."""
    messages = response.result if isinstance(response, ModelResponse) else [response]
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if last is None or last.tool_calls:
        return False
    return bool(last.invalid_tool_calls) or not str(last.content or "").strip()


def _without_model_turn(request: ModelRequest) -> list[Any]:
    """The planner re-plans from the question; earlier calls of this turn stay in the thread."""
    return list(request.messages)


class OfflinePlannerMiddleware(AgentMiddleware):
    """Offline mode: hands the runtime context to the planner for this call."""

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        from agent.offline.planner import OfflinePlanner

        return handler(request.override(model=OfflinePlanner(context=request.runtime.context)))


class ToolSelectionMiddleware(AgentMiddleware):
    """Model mode: send the schemas of the tools this question needs, not all eighteen.

    The offline planner's reading of the question picks them (no model call, a few ms): the
    tools of its plan, plus the tools already called this turn. When it cannot tell (it would
    ask back), every read tool is sent; action tools only when the message asks for a change.
    """

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        wanted = selected_tools(request)
        if wanted is not None:
            request = request.override(tools=[t for t in request.tools if _name(t) in wanted])
        return handler(request)


def _name(tool: Any) -> str:
    return str(getattr(tool, "name", None) or (tool.get("name") if isinstance(tool, dict) else ""))


def selected_tools(request: ModelRequest) -> set[str] | None:
    """The tool names for this call, or None for all of them."""
    from agent.offline.planner import previous_plan
    from agent.offline.understand import understand
    from tools.actions import ACTION_TOOL_NAMES, asks_for_change

    question = last_question(request.messages)
    turn = current_turn(request.messages)
    history = request.messages[: len(request.messages) - len(turn) - 1]
    try:
        plan = understand(question, request.runtime.context, previous_plan(history))
    except Exception:  # the planner's reading is a hint; without it, send everything
        log.exception("tool selection failed; all tools are sent")
        return None
    called = {c["name"] for m in turn if isinstance(m, AIMessage) for c in m.tool_calls}
    planned = {c.name for c in plan.calls}
    then = (plan.slots or {}).get("then")
    if then:
        planned.add(then["tool"])
    if planned and planned <= called and not _any_failed(turn):
        return set()  # every planned result is in: this call writes the answer
    names = planned | called
    if not plan.calls and plan.intent != "refuse":
        # the planner would ask back or decline: the model may read it better, with every
        # read tool at hand
        names |= {_name(t) for t in request.tools} - ACTION_TOOL_NAMES
    if not asks_for_change(question):
        names -= ACTION_TOOL_NAMES
    return names


def _any_failed(turn: list[Any]) -> bool:
    """A tool result of this turn is an error: the model may need to call again."""
    return any(isinstance(m, ToolMessage) and str(m.content).startswith('{"error"') for m in turn)

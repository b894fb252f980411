"""The one agent graph every surface uses: `create_agent` with Keen's tools and middleware."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ModelCallLimitMiddleware
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.middleware import (
    ContextPromptMiddleware,
    GroundingMiddleware,
    OfflineFallbackMiddleware,
    OfflinePlannerMiddleware,
    ToolSelectionMiddleware,
    tool_errors,
)
from tools.context import KeenContext
from tools.registry import all_tools

MODEL_CALLS_PER_TURN = 6
# Each model call takes several graph steps (middleware hooks, model, tools): the limit leaves
# room for MODEL_CALLS_PER_TURN calls, so the call limit ends a looping model, not a crash.
RECURSION_LIMIT = 100


def build_graph(model: str, checkpointer: BaseCheckpointSaver | None) -> Any:
    """Compile the agent for `offline` or `openai:MODEL`; the graph is the same in both."""
    middleware: list[Any] = [ContextPromptMiddleware()]
    if model == "offline":
        from agent.offline.planner import OfflinePlanner

        chat_model: Any = OfflinePlanner()
        middleware.append(OfflinePlannerMiddleware())
    elif model.startswith("openai:"):
        from agent.llm import openai_chat_model, provider_errors

        chat_model = openai_chat_model(model.split(":", 1)[1])
        middleware += [
            ToolSelectionMiddleware(),
            OfflineFallbackMiddleware(provider_errors()),
            GroundingMiddleware(),
        ]
    else:
        raise ValueError(f"Unknown model {model!r}: use 'offline' or 'openai:MODEL'.")
    middleware += [
        ModelCallLimitMiddleware(run_limit=MODEL_CALLS_PER_TURN, exit_behavior="end"),
        tool_errors(),
    ]
    return create_agent(
        chat_model,
        all_tools(),
        middleware=middleware,
        context_schema=KeenContext,
        checkpointer=checkpointer,
    )

"""Every tool of the assistant, in the order docs/tools.md lists them."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.actions import ACTION_TOOLS
from tools.channels import channel_overview
from tools.leads import find_leads, get_lead
from tools.patterns import find_patterns, improvement_plan
from tools.performance import channel_performance, lead_funnel
from tools.reports import list_reward_reports
from tools.rewards import explain_reward, list_reward_triggers, list_rewards
from tools.search import search_notes

TOOLS: tuple[BaseTool, ...] = (
    find_leads,
    get_lead,
    channel_overview,
    channel_performance,
    lead_funnel,
    find_patterns,
    improvement_plan,
    list_rewards,
    explain_reward,
    list_reward_reports,
    list_reward_triggers,
    search_notes,
    *ACTION_TOOLS,
)


def all_tools() -> list[BaseTool]:
    """The tools both model modes bind (a new list each call, so callers may filter it)."""
    return list(TOOLS)


def tool_by_name(name: str) -> BaseTool:
    for t in TOOLS:
        if t.name == name:
            return t
    raise KeyError(name)

"""Words shown while a tool runs ("looking up rewards…"), for the widget and the SSE stream."""

from __future__ import annotations

_LABELS = {
    "find_leads": "looking up leads…",
    "get_lead": "opening the lead…",
    "channel_overview": "looking at the channels…",
    "channel_performance": "comparing channel performance…",
    "lead_funnel": "building the funnel…",
    "find_patterns": "looking for patterns…",
    "improvement_plan": "drafting an improvement plan…",
    "list_rewards": "looking up rewards…",
    "explain_reward": "explaining the reward…",
    "list_reward_reports": "looking up reward reports…",
    "list_reward_triggers": "looking up reward triggers…",
    "search_notes": "searching the notes…",
}


def step_label(tool: str) -> str:
    return _LABELS.get(tool, f"looking up {tool.replace('_', ' ')}…")

"""The system prompt, filled from the runtime context on every model call."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tools.context import KeenContext

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@lru_cache(maxsize=8)
def prompt_text(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8")


def system_prompt(ctx: KeenContext) -> str:
    page = ""
    if ctx.channel_id:
        page = (
            f"\nThe user is looking at the channel with id {ctx.channel_id!r}: "
            '"this channel" means that one (pass channel="this").'
        )
    return prompt_text("system.md").format(
        org_name=ctx.org_slug,
        today=ctx.today.isoformat(),
        weekday=ctx.today.strftime("%A"),
        page_context=page,
    )

"""`openai:MODEL`: any OpenAI-compatible server, with retries and a bounded timeout."""

from __future__ import annotations

import os
from typing import Any

from domain.settings import get_settings

REQUEST_TIMEOUT_S = 30.0
MAX_RETRIES = 3  # the openai client backs off on 429 (honouring Retry-After), 5xx and timeouts


def _env_number(name: str, default: float) -> float:
    """A slow provider (or a test) may shorten or lengthen the wait; unset means the default."""
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def openai_chat_model(name: str) -> Any:
    from langchain_openai import ChatOpenAI

    settings = get_settings()
    return ChatOpenAI(
        model=name,
        api_key=settings.openai_api_key or "not-needed",  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        timeout=_env_number("KEEN_LLM_TIMEOUT_S", REQUEST_TIMEOUT_S),
        max_retries=int(_env_number("KEEN_LLM_MAX_RETRIES", MAX_RETRIES)),
        temperature=0,
        stream_usage=True,
    )


def provider_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean the provider is unreachable or failing, not a bug of ours."""
    import httpx
    import openai

    return (
        openai.APIConnectionError,
        openai.APITimeoutError,
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APIStatusError,
        httpx.TransportError,
        # a 200 whose body is not a completion (no `choices`): langchain-openai fails parsing it
        TypeError,
        ValueError,
    )

"""Token counts for `usage` and the metrics, with the o200k tokenizer (loaded once, lazily)."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_encoding: Any = None


def _get_encoding() -> Any:
    global _encoding
    with _lock:
        if _encoding is None:
            import bpe_openai  # type: ignore[import-untyped]

            _encoding = bpe_openai.get_encoding("o200k_base")
        return _encoding


def count_tokens(text: str) -> int:
    """Tokens as an OpenAI model would count them; a word count if the tokenizer fails."""
    if not text:
        return 0
    try:
        return len(_get_encoding().encode(text))
    except Exception:  # counting must never break an answer
        return len(text.split())


def warm_up() -> None:
    count_tokens("warm up")

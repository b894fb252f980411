"""The grounding guard: every number an answer states must appear in the thread's tool results.

Numbers are compared after normalisation (thousands separators, trailing zeros, a leading
currency code or sign are formatting), so "USD 1,250.50" in an answer matches "1250.50" in a
tool result. Numbers the user wrote in the question also count as grounded ("top 3").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# A number: optional sign, digits with optional thousands commas, optional decimals.
# Dates (2026-11-18) are split into their parts by the hyphen, which are checked too.
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])-?\d+(?:\.\d+)?")


def normalise(token: str) -> str | None:
    """Canonical text of a number: no separators, no trailing zeros, no sign."""
    cleaned = token.replace(",", "").lstrip("-")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    text = format(value.normalize(), "f")
    return text


def numbers_in(text: str) -> set[str]:
    found = set()
    for match in _NUMBER.finditer(text):
        norm = normalise(match.group(0))
        if norm is not None:
            found.add(norm)
    return found


def numbers_in_payload(payload: Any) -> set[str]:
    """Every number in a JSON-like value: numeric leaves and numbers inside strings."""
    found: set[str] = set()
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(str(k) for k in item)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float | Decimal):
            norm = normalise(str(item))
            if norm is not None:
                found.add(norm)
        elif isinstance(item, str):
            found |= numbers_in(item)
    return found


def numbers_in_tool_contents(contents: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for content in contents:
        try:
            found |= numbers_in_payload(json.loads(content))
        except (json.JSONDecodeError, TypeError):
            found |= numbers_in(str(content))
    return found


@dataclass(frozen=True)
class GroundingReport:
    grounded: bool
    ungrounded: tuple[str, ...]


def check_grounding(
    answer: str, tool_contents: Iterable[str], question: str = ""
) -> GroundingReport:
    """Which numbers of `answer` appear neither in the tool results nor in the question."""
    allowed = numbers_in_tool_contents(tool_contents) | numbers_in(question)
    missing = sorted(n for n in numbers_in(answer) if n not in allowed)
    return GroundingReport(grounded=not missing, ungrounded=tuple(missing))

"""The compact JSON every tool returns: the direct answer first, then a bounded table.

Tools return `(content, artifact)`: `content` is what a model reads (at most `limit` rows),
`artifact` is the full table (up to FULL_TABLE_ROWS) that becomes the answer's `data`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

DEFAULT_ROWS = 20
FULL_TABLE_ROWS = 500


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    total: int | None = None  # rows that exist in all, when more than `rows`

    def as_data(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": jsonable(self.rows)}


_PLAIN = frozenset({str, int, bool, type(None)})
_SEQUENCES = frozenset({list, tuple})


def jsonable(value: Any) -> Any:
    """Plain JSON values: money as fixed-point strings, dates as ISO, enums by value.

    Exact-type checks first: tables are mostly strings and integers, and this runs for every
    cell of up to 500 rows per tool call."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in _SEQUENCES:
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def dumps(payload: dict[str, Any]) -> str:
    return _compact(jsonable(payload))


def _compact(plain: Any) -> str:
    return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))


def result(
    answer: dict[str, Any],
    tables: list[Table] | None = None,
    period: str | None = None,
    limit: int = DEFAULT_ROWS,
) -> tuple[str, dict[str, Any]]:
    """Build the tool's `(content, artifact)` pair."""
    payload: dict[str, Any] = {"answer": answer}
    if period is not None:
        payload["period"] = period
    shown_tables = []
    for table in tables or []:
        total = table.total if table.total is not None else len(table.rows)
        shown: dict[str, Any] = {
            "title": table.title,
            "columns": table.columns,
            "rows": table.rows[:limit],
        }
        if total > len(shown["rows"]):
            shown["left_out"] = total - len(shown["rows"])
        shown_tables.append(shown)
    if shown_tables:
        payload["tables"] = shown_tables
    data = [t.as_data() for t in tables or []]
    plain = jsonable(payload)  # once: the content is this, serialised
    return _compact(plain), {"data": data, "payload": plain}


def error(message: str, **hints: Any) -> tuple[str, dict[str, Any]]:
    """A short, actionable error a model (or the offline planner) can act on."""
    payload = {"error": message, **hints}
    return dumps(payload), {"data": [], "payload": jsonable(payload)}

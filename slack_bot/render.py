"""An Answer as Slack messages: mrkdwn sections within Slack's limits, tables as Block Kit.

Slack's limits (docs.slack.dev, Block Kit reference): a section's text holds at most 3,000
characters, a message at most 50 blocks and 40,000 characters of text. A `table` block holds at
most 100 rows (the header row included) of at most 20 cells, must be sent in a message's
`attachments`, and only one table fits in a message. Whatever does not fit is attached in full as
a CSV file, one click away.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from slack_bot.mrkdwn import escape, markdown_to_mrkdwn

SECTION_CHARS = 3_000
MESSAGE_CHARS = 40_000
MESSAGE_BLOCKS = 50
FALLBACK_CHARS = 300
TABLE_ROWS = 100  # the header row included
TABLE_COLUMNS = 20
CELL_CHARS = 300  # ours: keeps one long note from crowding out the other rows
TABLE_CHARS = 10_000  # ours: a conservative budget for all cells of one table block
TABLE_MESSAGES = 3  # tables shown as blocks; the rest only as CSV files
EMPTY_CELL = "–"
UNGROUNDED_NOTE = "Note: some numbers could not be traced to a tool result."
NO_ANSWER = "I could not find an answer to that."


@dataclass
class SlackMessage:
    """One chat.postMessage (or response_url) payload."""

    text: str
    blocks: list[dict[str, Any]]
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CsvFile:
    """A full table, for files_upload_v2."""

    filename: str
    title: str
    content: bytes
    rows: int


@dataclass
class Reply:
    messages: list[SlackMessage]
    files: list[CsvFile] = field(default_factory=list)


class Table(Protocol):
    """What the renderer reads of a table (agent.answer.DataTable has it)."""

    @property
    def title(self) -> str: ...

    @property
    def columns(self) -> Sequence[str]: ...

    @property
    def rows(self) -> Sequence[Sequence[Any]]: ...


# --------------------------------------------------------------------------- text


def split_text(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut at line or word boundaries.

    A code fence cut in two is closed at the end of one piece and reopened in the next, so each
    piece renders on its own.
    """
    room = limit - len("\n```")  # always leave space to close an open fence
    pieces: list[str] = []
    lines: list[str] = []
    in_fence = False

    def has_content() -> bool:
        return any(line != "```" for line in lines) if in_fence else bool(lines)

    def flush() -> None:
        if in_fence and lines[-1].strip().startswith("```"):
            lines.pop()  # the fence just opened: it moves, unopened, to the next piece
            pieces.append("\n".join(lines))
        else:
            pieces.append("\n".join(lines) + ("\n```" if in_fence else ""))
        lines[:] = ["```"] if in_fence else []

    for line in text.split("\n"):
        is_fence = line.strip().startswith("```")
        for part in _hard_wrap(line, room - len("```\n")):
            size = len("\n".join([*lines, part]))
            closing = is_fence and in_fence
            if size > room and not closing and has_content():
                flush()
            lines.append(part)
        if is_fence:
            in_fence = not in_fence
    if has_content():
        pieces.append("\n".join(lines) + ("\n```" if in_fence else ""))
    return [p.strip("\n") for p in pieces if p.strip()]


def _hard_wrap(line: str, limit: int) -> list[str]:
    """A line longer than `limit`, cut at spaces where possible (never inside an escape)."""
    parts: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit)
        if cut <= limit // 2:
            cut = limit
            amp = line.rfind("&", max(0, cut - 5), cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
        parts.append(line[:cut].rstrip())
        line = line[cut:].lstrip(" ")
    parts.append(line)
    return parts


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _fallback(text: str) -> str:
    """The notification text shown where blocks are not (previews, screen readers)."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= FALLBACK_CHARS else flat[: FALLBACK_CHARS - 1].rstrip() + "…"


def text_messages(mrkdwn: str) -> list[SlackMessage]:
    """Sections of ≤3,000 characters grouped into messages of ≤50 blocks and ≤40,000 chars."""
    messages: list[SlackMessage] = []
    budget = MESSAGE_CHARS - FALLBACK_CHARS
    group: list[str] = []
    for piece in split_text(mrkdwn) or [NO_ANSWER]:
        used = sum(len(p) for p in group)
        if group and (used + len(piece) > budget or len(group) + 1 > MESSAGE_BLOCKS - 2):
            messages.append(_text_message(group))
            group = []
        group.append(piece)
    messages.append(_text_message(group))
    return messages


def _text_message(pieces: list[str]) -> SlackMessage:
    return SlackMessage(text=_fallback(pieces[0]), blocks=[_section(p) for p in pieces])


# --------------------------------------------------------------------------- tables


def cell_text(value: Any) -> str:
    """How a value reads in a cell: money and dates as the tools gave them, never empty."""
    if value is None or value == "":
        return EMPTY_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date | Decimal | int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value) or EMPTY_CELL
    if isinstance(value, dict):
        return ", ".join(f"{k}: {cell_text(v)}" for k, v in value.items()) or EMPTY_CELL
    return str(value)


def _clip(text: str, limit: int = CELL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_numeric(values: list[Any]) -> bool:
    present = [v for v in values if v not in (None, "")]
    return bool(present) and all(
        (isinstance(v, int | float | Decimal) and not isinstance(v, bool))
        or (isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v.strip()) is not None)
        for v in present
    )


@dataclass(frozen=True)
class TableFit:
    """What of a table the block shows."""

    block: dict[str, Any]
    rows_shown: int
    columns_shown: int
    complete: bool


def table_block(table: Table) -> TableFit:
    """The Block Kit `table` block for as much of `table` as Slack allows."""
    columns = list(table.columns)[:TABLE_COLUMNS]
    width = len(columns)
    clipped = False

    def row_cells(values: Sequence[Any]) -> list[dict[str, str]]:
        nonlocal clipped
        cells = []
        for i in range(width):
            full = cell_text(values[i] if i < len(values) else None)
            text = _clip(full)
            clipped = clipped or text != " ".join(full.split())
            cells.append({"type": "raw_text", "text": text})
        return cells

    rows = [row_cells(columns)]
    used = sum(len(c["text"]) for c in rows[0])
    for values in table.rows[: TABLE_ROWS - 1]:
        cells = row_cells(values)
        size = sum(len(c["text"]) for c in cells)
        if used + size > TABLE_CHARS:
            break
        rows.append(cells)
        used += size
    settings = [
        {"align": "right"}
        if _is_numeric([r[i] if i < len(r) else None for r in table.rows])
        else {"is_wrapped": True}
        for i in range(width)
    ]
    shown = len(rows) - 1
    block = {"type": "table", "rows": rows, "column_settings": settings}
    complete = shown == len(table.rows) and width == len(table.columns) and not clipped
    return TableFit(block=block, rows_shown=shown, columns_shown=width, complete=complete)


def table_csv(table: Table) -> CsvFile:
    """The whole table, every row and column, as UTF-8 CSV (with BOM, for spreadsheet apps)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None or v == "" else cell_text(v) for v in row])
    slug = re.sub(r"[^a-z0-9]+", "-", table.title.lower()).strip("-") or "table"
    return CsvFile(
        filename=f"{slug[:60]}.csv",
        title=table.title or "Table",
        content=("\ufeff" + buffer.getvalue()).encode("utf-8"),
        rows=len(table.rows),
    )


def table_caption(table: Table, fit: TableFit | None, csv_where: str) -> str:
    """Caption: *Title* · 12 rows, and where the rest is when the block shows only part."""
    count = len(table.rows)
    caption = f"*{escape(table.title or 'Table')}* · {count} row{'s' if count != 1 else ''}"
    if fit is None:
        return f"{caption} · full table {csv_where}"
    if not fit.complete:
        parts = []
        if fit.rows_shown < count:
            parts.append(f"first {fit.rows_shown} rows")
        if fit.columns_shown < len(table.columns):
            parts.append(f"first {fit.columns_shown} of {len(table.columns)} columns")
        shown = " and ".join(parts) or "shortened cells"
        caption += f" · showing {shown}; full table {csv_where}"
    return caption


# --------------------------------------------------------------------------- answer

_PIPE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")


def _pipe_cells(line: str) -> list[str]:
    match = _PIPE_ROW.match(line)
    return [c.strip() for c in match.group(1).split("|")] if match else []


def strip_shown_tables(markdown: str, tables: Sequence[Table]) -> str:
    """Drop the Markdown pipe tables that repeat a data table (same column names): the table
    block shows them better, and a wide pipe table is unreadable in Slack."""
    known = [{str(c) for c in t.columns} for t in tables]
    if not known:
        return markdown
    lines = markdown.split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        header = _pipe_cells(lines[i])
        if header:
            end = i
            while end < len(lines) and _PIPE_ROW.match(lines[end]):
                end += 1
            if any(set(header) <= columns for columns in known):
                i = end
                continue
            kept.extend(lines[i:end])
            i = end
            continue
        kept.append(lines[i])
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept))


def render_answer(
    markdown: str,
    tables: Sequence[Table] = (),
    grounded: bool = True,
    csv_where: str = "in the CSV file below",
) -> Reply:
    """The whole reply: text messages, the first table attached to the last of them, further
    tables in messages of their own (one table block per message), CSV files for the rest."""
    messages = text_messages(markdown_to_mrkdwn(strip_shown_tables(markdown, tables).strip()))
    if not grounded:
        messages[-1].blocks.append(_context(UNGROUNDED_NOTE))
    files: list[CsvFile] = []
    for index, table in enumerate(tables):
        if not table.columns:
            continue
        fit = table_block(table) if index < TABLE_MESSAGES else None
        if fit is None or not fit.complete:
            files.append(table_csv(table))
        caption = table_caption(table, fit, csv_where)
        if fit is None:
            messages[-1].blocks.append(_context(caption))
            continue
        target = messages[-1]
        if target.attachments or len(target.blocks) >= MESSAGE_BLOCKS - 1:
            target = SlackMessage(text=_fallback(table.title or "Table"), blocks=[])
            messages.append(target)
        target.blocks.append(_context(caption))
        target.attachments.append({"blocks": [fit.block]})
    return Reply(messages=messages, files=files)

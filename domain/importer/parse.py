"""Cell parsers: each turns a non-empty, stripped cell into a value or raises CellError(reason).

The reasons are read by people fixing a spreadsheet, so they quote the cell and say what is
expected. Parsers are on the hot path of million-row files: the common case is one C call.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

Parser = Callable[[str], Any]

_MONEY = re.compile(r"(-?)(\d+)(?:\.(\d*))?|(-?)\.(\d+)", re.ASCII)
_AMOUNT = r"(?:\d+(?:\.\d{0,2})?|\.\d{1,2})"
_MONEY_COLUMN = re.compile(rf"{_AMOUNT}(?:\x00{_AMOUNT})*", re.ASCII)
_SEP = "\x00"  # joins a column's cells; no cell holds one (files with NUL bytes are refused)
_INTEGER = re.compile(r"-?\d+", re.ASCII)
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_BOOLEANS = {"true": True, "false": False}


class CellError(ValueError):
    """A cell that cannot be read; the message is the problem's reason."""


def _quote(raw: str) -> str:
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    return repr(shown)


def parse_timestamp(raw: str) -> str:
    """ISO 8601 date or date-time, as naive UTC in the canonical text `YYYY-MM-DD HH:MM:SS.ffffff`.

    `Z` or an offset is converted; a bare date is midnight. The canonical text is exactly how
    SQLAlchemy stores a DateTime in SQLite and a timestamp PostgreSQL reads, and it sorts like
    the instant, so a million of them go to either database without a conversion per value.
    """
    try:
        if len(raw) == 19 and raw[10] == "T" and raw[7] == "-" and raw[16] == ":":
            datetime.fromisoformat(raw)  # the commonest form, checked: only the date can be wrong
            return raw.replace("T", " ") + ".000000"
        text = raw
        if raw[-1] == "Z":  # the usual export form: already UTC
            text = raw[:-1]
            value = datetime.fromisoformat(text)
            if value.tzinfo is not None:
                raise ValueError("two time zones")
        else:
            value = datetime.fromisoformat(raw)
            if value.tzinfo is not None:
                utc = value.replace(tzinfo=None) - value.utcoffset()  # type: ignore[operator]
                return utc.isoformat(" ", "microseconds")
    except (ValueError, OverflowError):
        raise CellError(
            f"not a valid date or time: {_quote(raw)} "
            "(expected ISO 8601 such as 2026-05-03 or 2026-05-03T14:05:00Z)"
        ) from None
    # Fast paths for the two common spellings, already checked by fromisoformat above; the
    # other forms ISO allows (week dates, basic format, fractions) are formatted from the value.
    if len(text) == 19 and text[7] == "-" and text[16] == ":" and text[10] in "T ":
        return text.replace("T", " ") + ".000000"
    if len(text) == 10 and text[7] == "-":
        return text + " 00:00:00.000000"
    return value.isoformat(" ", "microseconds")


def parse_timestamp_column(cells: list[str]) -> list[str] | None:
    """A column in the commonest spelling (`YYYY-MM-DDTHH:MM:SS`, all with or all without `Z`)
    parsed at C speed, or None to parse it cell by cell. Every cell is still checked by
    fromisoformat; the layout is checked on the joined column, one character slice at a time.
    """
    widths = set(map(len, cells))
    if widths == {20}:
        joined = "".join(cells)
        if joined.count("Z") != len(cells) or set(joined[19::20]) != {"Z"}:
            return None
        joined = joined.replace("Z", "")
    elif widths == {19}:
        joined = "".join(cells)
    else:
        return None
    layout = (joined[7::19], joined[10::19], joined[16::19])
    if tuple(map(set, layout)) != ({"-"}, {"T"}, {":"}):
        return None
    texts = cells if widths == {19} else [joined[i : i + 19] for i in range(0, len(joined), 19)]
    try:
        deque(map(datetime.fromisoformat, texts), maxlen=0)
    except ValueError:
        return None
    canonical = _SEP.join(texts).replace("T", " ").replace(_SEP, ".000000" + _SEP)
    return (canonical + ".000000").split(_SEP)


def parse_money_column(cells: list[str]) -> list[Decimal] | None:
    """A column of plain amounts (digits, at most two decimals) parsed at C speed, or None to
    parse it cell by cell (which names what is wrong)."""
    if _MONEY_COLUMN.fullmatch(_SEP.join(cells)) is None:
        return None
    return list(map(Decimal, cells))


def parse_date(raw: str) -> date:
    """ISO 8601 date; a date-time is accepted and its date part, as written, is kept."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        raise CellError(
            f"not a valid date: {_quote(raw)} (expected ISO 8601 such as 2026-05-03)"
        ) from None


def parse_money(raw: str) -> Decimal:
    """A non-negative decimal with at most two places, no symbol and no thousands separator."""
    digits = raw.replace(".", "", 1)
    if digits.isdigit() and digits.isascii():  # the usual case, checked without a regex
        dot = raw.find(".")
        if dot >= 0 and len(raw) - dot > 3:
            raise CellError(f"more than 2 decimal places: {_quote(raw)}")
        return Decimal(raw)
    match = _MONEY.fullmatch(raw)
    if match is None:
        raise CellError(
            f"not a valid amount: {_quote(raw)} "
            "(expected a number such as 1250.50, without currency symbol or thousands separator)"
        )
    if match.group(1) or match.group(4):
        raise CellError(f"negative amount: {_quote(raw)}")
    places = match.group(3) if match.group(2) is not None else match.group(5)
    if places and len(places) > 2:
        raise CellError(f"more than 2 decimal places: {_quote(raw)}")
    return Decimal(raw)


def parse_integer(raw: str) -> int:
    if _INTEGER.fullmatch(raw) is None:
        raise CellError(f"not a whole number: {_quote(raw)}")
    return int(raw)


def parse_bool(raw: str) -> bool:
    value = _BOOLEANS.get(raw.lower())
    if value is None:
        raise CellError(f"not a boolean: {_quote(raw)} (expected true or false)")
    return value


def parse_currency(raw: str) -> str:
    """An ISO 4217 code: three letters, stored upper-case."""
    if _CURRENCY.fullmatch(raw) is None:
        raise CellError(f"not a 3-letter currency code: {_quote(raw)}")
    return raw.upper()


def enum_parser(enum: type[StrEnum]) -> Parser:
    """Values match case-insensitively and are stored in their canonical spelling."""
    by_key = {member.value.lower(): member.value for member in enum}
    expected = ", ".join(member.value for member in enum)

    def parse(raw: str) -> str:
        value = by_key.get(raw.lower())
        if value is None:
            raise CellError(f"unknown value {_quote(raw)} (expected one of: {expected})")
        return value

    return parse

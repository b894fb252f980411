"""Typed chunks packed for the trip from the reader process to the writer.

Pickling a million-row chunk value by value costs the reader as much as parsing it, and the
writer almost as much again. A column of text (ids, names, canonical timestamps, JSON) is
sent as one string instead, joined on NUL, which no cell can contain (files holding a NUL
byte are refused); money goes the same way as decimal text. Other columns are pickled as
they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.importer.rows import TypedChunk

_SEP = "\x00"
_NONE = type(None)


Packed = dict[str, tuple[str, Any]]  # field -> (how it was packed, payload)


@dataclass
class PackedChunk:
    values: Packed
    extras: Packed
    lines: Any  # a range for the usual chunk, else a list


def pack(chunk: TypedChunk) -> PackedChunk:
    return PackedChunk(_pack_all(chunk.values), _pack_all(chunk.extras), chunk.lines)


def unpack(packed: PackedChunk) -> TypedChunk:
    return TypedChunk(_unpack_all(packed.values), packed.lines, _unpack_all(packed.extras))


def _pack_all(columns: dict[str, list[Any]]) -> Packed:
    return {key: _pack(values) for key, values in columns.items()}


def _unpack_all(packed: Packed) -> dict[str, list[Any]]:
    return {key: _unpack(how, payload) for key, (how, payload) in packed.items()}


def _pack(values: list[Any]) -> tuple[str, Any]:
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    if kinds == {str}:  # a text value is never "" (an empty cell is None)
        texts = values if None not in values else [v or "" for v in values]
        return "text", _SEP.join(texts)
    if kinds == {Decimal}:
        return "decimal", _SEP.join(["" if v is None else str(v) for v in values])
    return "raw", values


def _unpack(how: str, payload: Any) -> list[Any]:
    if how == "raw":
        return payload  # type: ignore[no-any-return]
    parts: list[str] = payload.split(_SEP)
    if how == "decimal":
        return [Decimal(p) if p else None for p in parts]
    return parts if "" not in parts else [p or None for p in parts]

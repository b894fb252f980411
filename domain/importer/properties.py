"""Leads' custom properties: the unknown columns of leads.csv, as the JSON text the column stores.

Serialised by the writer, byte for byte as json.dumps would, from whole columns: a row with
every property given is one C-level `%` of a template, so a million leads cost little.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

_encode = json.encoder.encode_basestring_ascii  # what json.dumps uses for strings


def properties_json(columns: Mapping[str, Sequence[str | None]], count: int) -> list[str]:
    """One JSON object per row of `count`, holding each column's value where it is given."""
    if not columns:
        return ["{}"] * count
    keys = [json.dumps(name) for name in columns]
    raw = list(columns.values())
    encoded = [[_encode(v) if v is not None else "" for v in column] for column in raw]
    template = "{" + ", ".join(f"{key.replace('%', '%%')}: %s" for key in keys) + "}"
    out = list(map(template.__mod__, zip(*encoded, strict=True)))
    gaps = sorted(
        {n for column in raw if None in column for n, v in enumerate(column) if v is None}
    )
    for n in gaps:
        given = [
            f"{key}: {column[n]}"
            for key, column, values in zip(keys, encoded, raw, strict=True)
            if values[n] is not None
        ]
        out[n] = "{" + ", ".join(given) + "}"
    return out

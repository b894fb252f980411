"""Typing the records of one file, column by column: every cell parsed, every fault a problem.

This is the hot path of a million-row import. Records arrive in chunks, are transposed, and each
column is parsed with one comprehension, so the per-cell cost is a parser call and nothing
else; the slow per-cell loop that names each faulty cell runs only for a column with a fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.importer.files import Column, FileSpec
from domain.importer.parse import CellError
from domain.importer.problems import FILE_COLUMN, HEADER_LINE, DatasetProblem
from domain.importer.reader import CsvFile, open_csv

Values = dict[str, list[Any]]  # typed field -> one value per row
_SAMPLE = 512
_encode = json.encoder.encode_basestring_ascii  # what json.dumps uses for strings


@dataclass
class TypedChunk:
    """Consecutive rows of a file: one list per field of `spec.fields`, and each row's line."""

    values: Values
    lines: Sequence[int]

    def __getitem__(self, key: str) -> list[Any]:
        return self.values[key]

    def __len__(self) -> int:
        return len(self.lines)

    @classmethod
    def empty(cls, spec: FileSpec) -> TypedChunk:
        return cls({key: [] for key in spec.fields}, [])

    def keep(self, rows: list[int]) -> None:
        """Keep only the rows at these positions (in this order)."""
        self.values = {key: [column[i] for i in rows] for key, column in self.values.items()}
        self.lines = [self.lines[i] for i in rows]

    def extend(self, other: TypedChunk) -> None:
        """Append the rows of `other` (a chunk made by `empty`, to gather a whole file)."""
        for key, column in other.values.items():
            self.values[key].extend(column)
        self.lines.extend(other.lines)  # type: ignore[attr-defined]


class TypedReader:
    """An open file of the dataset: which columns it has, and its typed chunks."""

    def __init__(self, spec: FileSpec, csv_file: CsvFile, problems: list[DatasetProblem]) -> None:
        self.spec = spec
        self.problems = problems
        self.read = 0  # data rows typed so far
        self._csv = csv_file
        self.positions: dict[str, int] = {}
        for i, name in enumerate(csv_file.header):
            self.positions.setdefault(name, i)
        for col in spec.columns:
            if col.required and col.name not in self.positions:
                problem = DatasetProblem(
                    spec.name, HEADER_LINE, col.name, "required column is missing"
                )
                problems.append(problem)
        known = {col.name for col in spec.columns}
        self._extras = [(n, i) for n, i in self.positions.items() if n and n not in known]

    @property
    def present(self) -> frozenset[str]:
        """The header names found in the file."""
        return frozenset(self.positions)

    @property
    def estimated_rows(self) -> int:
        return self._csv.estimated_rows

    @property
    def complete(self) -> bool:
        """Every record was read (no fault stopped the file early)."""
        return self._csv.complete

    def chunks(self) -> Iterator[TypedChunk]:
        spec = self.spec
        for lines, records in self._csv.chunks():
            count = len(lines)
            if not count:
                continue
            cells = list(zip(*records, strict=True))  # one tuple per column
            values: Values = {}
            for col in spec.columns:
                idx = self.positions.get(col.name)
                if idx is None:
                    values[col.key] = [col.default] * count
                else:
                    column = cells[idx]
                    values[col.key] = _parse_column(spec.name, col, column, lines, self.problems)
            for key in spec.derived:
                values[key] = [None] * count
            if spec.extras_field:
                values[spec.extras_field] = _extras_json(self._extras, cells, count)
            self.read += count
            yield TypedChunk(values, lines)


def open_typed(folder: Path, spec: FileSpec, problems: list[DatasetProblem]) -> TypedReader | None:
    """The file's reader, or None when it is absent (a problem if required) or unreadable."""
    path = folder / spec.name
    if not path.is_file():
        if spec.required:
            problems.append(
                DatasetProblem(spec.name, HEADER_LINE, FILE_COLUMN, "required file is missing")
            )
        return None
    csv_file = open_csv(path, spec.name, problems)
    return None if csv_file is None else TypedReader(spec, csv_file, problems)


def _parse_column(
    file: str,
    col: Column,
    raw: tuple[str, ...],
    lines: Sequence[int],
    problems: list[DatasetProblem],
) -> list[Any]:
    cells = list(map(str.strip, raw))
    default, parse = col.default, col.parse
    if col.required and "" in cells:
        problems.extend(
            DatasetProblem(file, line, col.name, "required value is empty")
            for line, cell in zip(lines, cells, strict=True)
            if not cell
        )
    if parse is None:
        return _shared(cells if "" not in cells else [cell or default for cell in cells])
    try:
        return [parse(cell) if cell else default for cell in cells]
    except CellError:
        pass  # name every faulty cell of the column, then carry on with None in their place
    values: list[Any] = []
    for line, cell in zip(lines, cells, strict=True):
        if not cell:
            values.append(default)
            continue
        try:
            values.append(parse(cell))
        except CellError as exc:
            problems.append(DatasetProblem(file, line, col.name, str(exc)))
            values.append(None)
    return values


def _shared(values: list[Any]) -> list[Any]:
    """The column with equal values as one object when few are distinct (statuses, channel
    ids, sources): a chunk then pickles to the writer process, and sits in memory, smaller."""
    if len(set(values[:_SAMPLE])) * 8 > min(len(values), _SAMPLE):
        return values  # names, emails, ids: (nearly) all distinct
    one = {value: value for value in set(values)}
    return list(map(one.__getitem__, values))


def _extras_json(
    extras: list[tuple[str, int]], cells: list[tuple[str, ...]], count: int
) -> list[str]:
    """Unknown columns as a JSON object of text per row, keeping only non-empty values.

    The objects are serialised here, byte for byte as json.dumps would, so that a million of
    them are encoded while the file is read rather than while the database waits: a row with
    every value present is one C-level `%` of a template.
    """
    if not extras:
        return ["{}"] * count
    keys = [json.dumps(name) for name, _ in extras]
    columns = [list(map(str.strip, cells[i])) for _, i in extras]
    encoded = [list(map(_encode, column)) for column in columns]
    template = "{" + ", ".join(f"{key.replace('%', '%%')}: %s" for key in keys) + "}"
    out = list(map(template.__mod__, zip(*encoded, strict=True)))
    gaps = sorted({n for column in columns if "" in column for n, v in enumerate(column) if not v})
    for n in gaps:
        pairs = [
            f"{key}: {column[n]}"
            for key, column, raw in zip(keys, encoded, columns, strict=True)
            if raw[n]
        ]
        out[n] = "{" + ", ".join(pairs) + "}"
    return out

"""Typing the records of one file, column by column: every cell parsed, every fault a problem.

This is the hot path of a million-row import. Records are transposed in chunks and each column
is parsed with one comprehension, so the per-cell cost is a parser call and nothing else; the
slow per-cell loop that names each faulty cell runs only for a column that has a fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.importer.files import Column, FileSpec
from domain.importer.parse import CellError
from domain.importer.problems import FILE_COLUMN, HEADER_LINE, DatasetProblem
from domain.importer.reader import open_csv


@dataclass
class TypedFile:
    """A file's typed values, one list per field of `spec.fields`, and each row's CSV line."""

    spec: FileSpec
    present: frozenset[str]  # header names found in the file
    values: dict[str, list[Any]]
    lines: list[int] = field(default_factory=list)
    complete: bool = True  # every record was read: its ids can be trusted for references
    read: int = 0  # data rows read (before any de-duplication)

    def __getitem__(self, key: str) -> list[Any]:
        return self.values[key]

    def __len__(self) -> int:
        return len(self.lines)

    def has(self, column: str) -> bool:
        return column in self.present

    def problem(self, line: int, column: str, reason: str) -> DatasetProblem:
        return DatasetProblem(self.spec.name, line, column, reason)

    def keep(self, rows: list[int]) -> None:
        """Keep only the rows at these positions (in this order)."""
        self.values = {k: [col[i] for i in rows] for k, col in self.values.items()}
        self.lines = [self.lines[i] for i in rows]


def read_typed(folder: Path, spec: FileSpec, problems: list[DatasetProblem]) -> TypedFile | None:
    """The typed file, or None when it is absent (a problem if required) or unreadable."""
    path = folder / spec.name
    if not path.is_file():
        if spec.required:
            problems.append(
                DatasetProblem(spec.name, HEADER_LINE, FILE_COLUMN, "required file is missing")
            )
        return None
    csv_file = open_csv(path, spec.name, problems)
    if csv_file is None:
        return None
    positions: dict[str, int] = {}
    for i, name in enumerate(csv_file.header):
        positions.setdefault(name, i)
    for col in spec.columns:
        if col.required and col.name not in positions:
            problems.append(
                DatasetProblem(spec.name, HEADER_LINE, col.name, "required column is missing")
            )
    typed = TypedFile(spec, frozenset(positions), {key: [] for key in spec.fields})
    known = {col.name for col in spec.columns}
    extras = [(n, i) for n, i in positions.items() if n and n not in known]
    for lines, records in csv_file.chunks():
        count = len(lines)
        if not count:
            continue
        cells = list(zip(*records, strict=True))  # one tuple per column
        for col in spec.columns:
            idx = positions.get(col.name)
            out = typed.values[col.key]
            if idx is None:
                out.extend([col.default] * count)
            else:
                out.extend(_parse_column(spec.name, col, cells[idx], lines, problems))
        for key in spec.derived:
            typed.values[key].extend([None] * count)
        if spec.extras_field:
            typed.values[spec.extras_field].extend(_extras(extras, cells, count))
        typed.lines.extend(lines)
    typed.complete = csv_file.complete
    typed.read = len(typed.lines)
    return typed


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
        return cells if "" not in cells else [cell or default for cell in cells]
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


def _extras(
    extras: list[tuple[str, int]], cells: list[tuple[str, ...]], count: int
) -> list[dict[str, str]]:
    """Unknown columns as {name: text} per row, keeping only non-empty values."""
    if not extras:
        return [{} for _ in range(count)]
    names = [name for name, _ in extras]
    columns = [list(map(str.strip, cells[i])) for _, i in extras]
    return [
        {n: v for n, v in zip(names, row, strict=True) if v} for row in zip(*columns, strict=True)
    ]

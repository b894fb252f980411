"""Typing the records of one file, column by column: every cell parsed, every fault a problem.

This is the hot path of a million-row import. Records arrive in chunks, are transposed, and each
column is parsed with one comprehension, so the per-cell cost is a parser call and nothing
else; the slow per-cell loop that names each faulty cell runs only for a column with a fault.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.importer.files import Column, FileSpec
from domain.importer.parse import CellError
from domain.importer.problems import FILE_COLUMN, HEADER_LINE, DatasetProblem
from domain.importer.reader import CsvFile, open_csv

Values = dict[str, list[Any]]  # typed field -> one value per row


@dataclass
class TypedChunk:
    """Consecutive rows of a file: one list per field of `spec.fields`, each row's line, and
    the file's unknown columns (stripped text, None when empty) for its `extras_field`."""

    values: Values
    lines: Sequence[int]
    extras: Values = field(default_factory=dict)

    def __getitem__(self, key: str) -> list[Any]:
        return self.values[key]

    def __len__(self) -> int:
        return len(self.lines)

    @classmethod
    def empty(cls, spec: FileSpec) -> TypedChunk:
        return cls({key: [] for key in spec.fields}, [])

    def extend(self, other: TypedChunk) -> None:
        """Append the rows of `other` (a chunk made by `empty`, to gather a whole file)."""
        for key, column in other.values.items():
            self.values[key].extend(column)
        for key, column in other.extras.items():
            self.extras.setdefault(key, []).extend(column)
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
            extras = (
                {name: _text(cells[i]) for name, i in self._extras} if spec.extras_field else {}
            )
            self.read += count
            yield TypedChunk(values, lines, extras)


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
        return cells if "" not in cells else [cell or default for cell in cells]
    if col.parse_all is not None and "" not in cells:
        parsed = col.parse_all(cells)
        if parsed is not None:
            return parsed
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


def _text(raw: tuple[str, ...]) -> list[Any]:
    """A column of free text: stripped, None where empty."""
    cells = list(map(str.strip, raw))
    return cells if "" not in cells else [cell or None for cell in cells]

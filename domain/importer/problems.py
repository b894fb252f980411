"""What is wrong with a dataset, in the `FILE:LINE: COLUMN: reason` form the contract prescribes."""

from __future__ import annotations

from dataclasses import dataclass

FILE_COLUMN = "(file)"
"""The COLUMN of a problem about the file as a whole (missing, undecodable, truncated)."""

ROW_COLUMN = "(row)"
"""The COLUMN of a problem about a record as a whole (wrong number of fields)."""

HEADER_LINE = 1


@dataclass(frozen=True)
class DatasetProblem:
    """One problem; LINE counts the header as line 1 and data records from 2 (spreadsheet rows)."""

    file: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.reason}"


class DatasetInvalid(Exception):
    """Raised instead of writing anything when a dataset has at least one problem."""

    def __init__(self, problems: list[DatasetProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"The dataset has {count} problem{'s' if count != 1 else ''}; nothing was loaded:"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


def unknown_reference(label: str, value: str, target_file: str) -> str:
    """The reason for a reference to an id the dataset does not define."""
    return f"unknown {label} {value!r} (not in {target_file})"

"""Reading one CSV file into its header and records, turning every file-level fault into a problem.

Files are streamed (a million-lead file is never held as text twice). A byte pre-scan finds
undecodable UTF-8 and NUL characters before parsing, so those are reported with their line and
never surface as a traceback halfway through; RFC 4180 faults (an unbalanced quote, a file
cut off inside a quoted note) are caught by the strict csv reader.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from domain.importer.problems import FILE_COLUMN, HEADER_LINE, ROW_COLUMN, DatasetProblem

_SCAN_CHUNK = 1 << 20
CHUNK = 50_000  # records per chunk handed to the parsers
_MAX_FIELD = 1 << 24  # notes may be long; the csv default (128 KiB) is too small


Chunk = tuple[Sequence[int], list[list[str]]]  # (line of each record, records)


@dataclass
class CsvFile:
    """An open CSV file: its stripped header names and a one-pass stream of record chunks."""

    name: str
    header: list[str]
    problems: list[DatasetProblem]
    estimated_rows: int  # physical lines after the header: exact unless cells span lines
    complete: bool = True  # False once a fault stopped the stream early
    _chunks: Iterator[Chunk] | None = field(default=None, repr=False)

    def chunks(self) -> Iterator[Chunk]:
        """Chunks of the non-blank records whose field count matches the header."""
        assert self._chunks is not None
        return self._chunks


def open_csv(path: Path, name: str, problems: list[DatasetProblem]) -> CsvFile | None:
    """The file's header and record stream, or None (with a problem) when it cannot be read."""
    fault, lines = _scan_bytes(path, name)
    if fault is not None:
        problems.append(fault)
        return None
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD))
    handle = path.open(encoding="utf-8-sig", newline="")
    reader = csv.reader(handle, strict=True)
    try:
        first = next(reader, None)
    except csv.Error as exc:
        handle.close()
        problems.append(DatasetProblem(name, HEADER_LINE, FILE_COLUMN, _csv_reason(exc)))
        return None
    if first is None or not any(cell.strip() for cell in first):
        handle.close()
        problems.append(
            DatasetProblem(name, HEADER_LINE, FILE_COLUMN, "the file is empty (no header row)")
        )
        return None
    header = [cell.strip() for cell in first]
    _report_duplicate_columns(name, header, problems)
    result = CsvFile(name, header, problems, max(0, lines - 1))
    result._chunks = _stream(result, handle, reader, len(header))
    return result


def _stream(
    out: CsvFile, handle: io.TextIOWrapper, reader: Iterator[list[str]], width: int
) -> Iterator[Chunk]:
    """Records CHUNK at a time. A chunk of full, regular records (the usual case, checked at
    C speed) passes as it is; any other is filtered record by record."""
    line = HEADER_LINE  # the line of the last record read
    try:
        while True:
            records, error = _take(reader, CHUNK)
            if records:
                lines = range(line + 1, line + 1 + len(records))
                line += len(records)
                if set(map(len, records)) == {width} and all(map(any, records)):
                    yield lines, records
                else:
                    yield _regular(out, lines, records, width)
            if error is not None:
                out.complete = False
                reason = _csv_reason(error)
                out.problems.append(DatasetProblem(out.name, line + 1, FILE_COLUMN, reason))
                return
            if len(records) < CHUNK:
                return
    finally:
        handle.close()


def _take(reader: Iterator[list[str]], count: int) -> tuple[list[list[str]], csv.Error | None]:
    """Up to `count` records, and the error that stopped the reader early, if any."""
    records: list[list[str]] = []
    try:
        records.extend(islice(reader, count))
    except csv.Error as exc:
        return records, exc
    return records, None


def _regular(out: CsvFile, lines: range, records: list[list[str]], width: int) -> Chunk:
    """The records that are not blank and have the header's field count; others are problems
    (trailing empty cells, as a trailing comma leaves, are dropped instead)."""
    kept_lines: list[int] = []
    kept: list[list[str]] = []
    for line, cells in zip(lines, records, strict=True):
        if not any(cells):
            continue  # a blank line, or a row of empty cells
        if len(cells) != width:
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]
            else:
                reason = f"the row has {len(cells)} fields but the header has {width}"
                out.problems.append(DatasetProblem(out.name, line, ROW_COLUMN, reason))
                continue
        kept_lines.append(line)
        kept.append(cells)
    return kept_lines, kept


def _csv_reason(exc: csv.Error) -> str:
    return f"malformed CSV ({exc}); is the file cut off or a quote left open?"


def _report_duplicate_columns(name: str, header: list[str], problems: list[DatasetProblem]) -> None:
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            problems.append(
                DatasetProblem(name, HEADER_LINE, column, "the column appears more than once")
            )
        seen.add(column)


def _scan_bytes(path: Path, name: str) -> tuple[DatasetProblem | None, int]:
    """A problem for the first byte that is not UTF-8 or is NUL (located by its CSV line), and
    the number of physical lines, which sizes the progress bar before the file is parsed."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(_SCAN_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                carried = len(exc.object) - len(chunk)  # bytes held over from the last chunk
                reason = f"the file is not valid UTF-8 (byte 0x{exc.object[exc.start]:02X})"
                return _fault_at(path, name, offset - carried + exc.start, reason), 0
            nul = chunk.find(b"\x00")
            if nul >= 0:
                return _fault_at(path, name, offset + nul, "the file contains a NUL byte"), 0
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _fault_at(path, name, offset, "the file ends inside a UTF-8 character"), 0
    return None, lines + (last != b"\n")


def _fault_at(path: Path, name: str, at: int, reason: str) -> DatasetProblem:
    with path.open("rb") as fh:
        text = fh.read(at).decode("utf-8-sig", errors="replace")
    return DatasetProblem(name, _record_number(text), FILE_COLUMN, reason)


def _record_number(text_before: str) -> int:
    """The CSV record (header = 1) that the character right after `text_before` belongs to."""
    try:
        return sum(1 for _ in csv.reader(io.StringIO(text_before + "x", newline="")))
    except csv.Error:
        return text_before.count("\n") + 1

"""The CSV layer: BOM, RFC 4180 quoting, blank lines, and files that are cut off or not text.

LINE counts records (spreadsheet rows), the header being line 1: a quoted note spanning three
physical lines is still one line, and a blank line still takes a line number.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.importer import DatasetInvalid, load_dataset, read_dataset
from domain.models import Channel, Lead, Partner
from tests.test_importer_dataset import row_counts

PARTNERS = "id,name\np1,Acme\n"
CHANNELS = "id,partner_id,name\nc1,p1,Acme Referral\n"
LEADS_HEADER = "id,channel_id,status,created_at,notes\n"


def folder(tmp_path: Path, leads: str | bytes, **others: str | bytes) -> Path:
    """A dataset whose partners and channels are valid and whose leads.csv is `leads`."""
    out = tmp_path / "ds"
    out.mkdir()
    files = {"partners.csv": PARTNERS, "channels.csv": CHANNELS, "leads.csv": leads, **others}
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (out / name).write_bytes(data)
    return out


def problems(path: Path) -> list[str]:
    with pytest.raises(DatasetInvalid) as info:
        read_dataset(path)
    return [str(p) for p in info.value.problems]


def test_bom_crlf_and_quoted_multiline_notes(engine: Engine, tmp_path: Path) -> None:
    leads = (
        "\ufeff" + LEADS_HEADER.replace("\n", "\r\n")
        + 'L1,c1,New lead,2026-05-01,"first line\r\nsecond, with comma\r\n""quoted"""\r\n'
        + "L2,c1,Won,2026-05-02,plain\r\n"
    )  # fmt: skip
    load_dataset(engine, folder(tmp_path, leads))
    with Session(engine) as s:
        notes = {ext_id: note for ext_id, note in s.execute(select(Lead.ext_id, Lead.notes))}
    # The BOM does not end up in the first column name: `id` was found.
    assert notes == {"L1": 'first line\r\nsecond, with comma\r\n"quoted"', "L2": "plain"}


def test_line_numbers_count_records_not_physical_lines(tmp_path: Path) -> None:
    leads = (
        LEADS_HEADER
        + 'L1,c1,New lead,2026-05-01,"a note\nover\nthree lines"\n'  # line 2
        + "\n"  # line 3: blank, skipped
        + "L2,c1,New lead,someday,\n"  # line 4
    )
    assert problems(folder(tmp_path, leads)) == [
        "leads.csv:4: created_at: not a valid date or time: 'someday' "
        "(expected ISO 8601 such as 2026-05-03 or 2026-05-03T14:05:00Z)"
    ]


def test_header_names_are_stripped_and_unknown_columns_are_properties(
    engine: Engine, tmp_path: Path
) -> None:
    leads = (
        " id , channel_id ,status, created_at ,Company Size, budget\n"
        "L1,c1,New lead,2026-05-01, 11-50 ,\n"
    )
    load_dataset(engine, folder(tmp_path, leads))
    with Session(engine) as s:
        lead = s.scalars(select(Lead)).one()
    assert lead.properties == {"Company Size": "11-50"}  # text, trimmed; empty budget left out


def test_blank_rows_and_trailing_commas_are_tolerated(engine: Engine, tmp_path: Path) -> None:
    leads = LEADS_HEADER + "L1,c1,New lead,2026-05-01,,\n,,,,\n\nL2,c1,Lost,2026-05-02,x\n"
    result = load_dataset(engine, folder(tmp_path, leads))
    assert result.counts["leads.csv"] == 2


def test_rows_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    leads = LEADS_HEADER + "L1,c1,New lead\nL2,c1,New lead,2026-05-01,note,extra\n"
    assert problems(folder(tmp_path, leads)) == [
        "leads.csv:2: (row): the row has 3 fields but the header has 5",
        "leads.csv:3: (row): the row has 6 fields but the header has 5",
    ]


def test_a_file_cut_off_inside_a_quoted_note(tmp_path: Path) -> None:
    leads = LEADS_HEADER + "L1,c1,New lead,2026-05-01,ok\n" + 'L2,c1,New lead,2026-05-02,"cut o'
    assert problems(folder(tmp_path, leads)) == [
        "leads.csv:3: (file): malformed CSV (unexpected end of data); "
        "is the file cut off or a quote left open?"
    ]


def test_a_stray_quote_is_malformed(tmp_path: Path) -> None:
    channels = CHANNELS + 'c2,p1,"Beta" Resell\n'
    assert problems(folder(tmp_path, LEADS_HEADER, **{"channels.csv": channels})) == [
        "channels.csv:3: (file): malformed CSV (',' expected after '\"'); "
        "is the file cut off or a quote left open?"
    ]


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    leads = (LEADS_HEADER + "L1,c1,New lead,2026-05-01,ok\n").encode()
    leads += b"L2,c1,New lead,2026-05-02,caf\xe9\n"  # Latin-1 e-acute, line 3
    assert problems(folder(tmp_path, leads)) == [
        "leads.csv:3: (file): the file is not valid UTF-8 (byte 0xE9)"
    ]


def test_nul_bytes_and_an_empty_file(tmp_path: Path) -> None:
    leads = LEADS_HEADER + 'L1,c1,New lead,2026-05-01,"multi\nline"\nL2\x00,c1\n'
    partners = ""
    assert problems(folder(tmp_path, leads, **{"partners.csv": partners})) == [
        "partners.csv:1: (file): the file is empty (no header row)",
        "leads.csv:3: (file): the file contains a NUL byte",
    ]


def test_a_duplicated_column_name(tmp_path: Path) -> None:
    leads = "id,channel_id,status,created_at,status\nL1,c1,New lead,2026-05-01,Won\n"
    assert problems(folder(tmp_path, leads)) == [
        "leads.csv:1: status: the column appears more than once"
    ]


def test_header_only_files_load_as_empty(engine: Engine, tmp_path: Path) -> None:
    result = load_dataset(engine, folder(tmp_path, LEADS_HEADER))
    assert result.counts == {"partners.csv": 1, "channels.csv": 1, "leads.csv": 0}
    assert row_counts(engine)["leads"] == 0


def test_timestamps_with_z_or_offset_are_stored_as_naive_utc(
    engine: Engine, tmp_path: Path
) -> None:
    leads = (
        "id,channel_id,status,created_at,status_changed_at\n"
        "L1,c1,New lead,2026-05-03T14:05:00Z,2026-05-03T14:05:00+02:00\n"
        # 23:30 at UTC-01:00 is already the next day in UTC.
        "L2,c1,New lead,2026-05-03T23:30:00-01:00,2026-05-03\n"
    )
    channels = "id,partner_id,name,created_at\nc1,p1,Acme,2026-01-01T00:00:00.5+00:00\n"
    load_dataset(engine, folder(tmp_path, leads, **{"channels.csv": channels}))
    with Session(engine) as s:
        rows = s.execute(select(Lead.ext_id, Lead.created_at, Lead.status_changed_at))
        stamps = {ext_id: (created, changed) for ext_id, created, changed in rows}
        channel = s.scalars(select(Channel)).one()
        assert s.scalars(select(Partner.name)).one() == "Acme"
    assert stamps == {
        "L1": (datetime(2026, 5, 3, 14, 5), datetime(2026, 5, 3, 12, 5)),
        "L2": (datetime(2026, 5, 4, 0, 30), datetime(2026, 5, 3, 0, 0)),
    }
    assert channel.created_at == datetime(2026, 1, 1, 0, 0, 0, 500000)
    assert channel.created_at.tzinfo is None

"""Cell parsers at their edges, and the SQLite storage format the bulk writer reproduces."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Date, DateTime
from sqlalchemy.dialects import sqlite

from domain.enums import RewardStatus
from domain.importer.bulk import sqlite_date
from domain.importer.parse import (
    CellError,
    enum_parser,
    parse_bool,
    parse_currency,
    parse_date,
    parse_integer,
    parse_money,
    parse_money_column,
    parse_timestamp,
    parse_timestamp_column,
)
from domain.importer.properties import properties_json


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-05-03", "2026-05-03 00:00:00.000000"),  # a bare date is midnight UTC
        ("2026-05-03T14:05:00", "2026-05-03 14:05:00.000000"),
        ("2026-05-03 14:05:00", "2026-05-03 14:05:00.000000"),
        ("2026-05-03T14:05:00Z", "2026-05-03 14:05:00.000000"),
        ("2026-05-03T14:05:00+02:00", "2026-05-03 12:05:00.000000"),  # 14:05 − 2 h
        ("2026-05-03T00:30:00+01:00", "2026-05-02 23:30:00.000000"),  # back over midnight
        ("2026-12-31T23:00:00-01:30", "2027-01-01 00:30:00.000000"),  # into the next year
        ("2026-05-03T14:05:00.250Z", "2026-05-03 14:05:00.250000"),
        ("2026-05-03T14:05", "2026-05-03 14:05:00.000000"),
        ("20260503T140500", "2026-05-03 14:05:00.000000"),  # ISO basic format
        ("2026-W18-7T14:05:00", "2026-05-03 14:05:00.000000"),  # week date: Sunday of W18
        ("2026-05-03T140500.5", "2026-05-03 14:05:00.500000"),  # 19 characters, no colons
    ],
)
def test_timestamps_become_canonical_naive_utc_text(raw: str, expected: str) -> None:
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2026-02-29", "2026-05-03T25:00:00", "03/05/2026", "yesterday", "2026-05-03TZ"]
)
def test_malformed_timestamps(raw: str) -> None:
    with pytest.raises(CellError, match="not a valid date or time"):
        parse_timestamp(raw)


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 5, 3, 14, 5), datetime(2026, 5, 3, 14, 5, 7, 120), datetime(999, 1, 2)],
)
def test_canonical_text_is_sqlalchemys_sqlite_storage_format(value: datetime) -> None:
    """The writer hands timestamps to SQLite as they are: they must be byte-identical to what
    the ORM writes and compares against."""
    dialect = sqlite.dialect()
    process = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert parse_timestamp(value.isoformat()) == process(value)
    date_process = Date().dialect_impl(dialect).bind_processor(dialect)
    assert date_process is not None
    assert sqlite_date(value.date()) == date_process(value.date())


def test_dates() -> None:
    assert parse_date("2026-05-31") == date(2026, 5, 31)
    assert parse_date("2026-05-31T23:00:00-05:00") == date(2026, 5, 31)  # the date as written
    with pytest.raises(CellError, match="not a valid date: '2026-06-31'"):
        parse_date("2026-06-31")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", "0"), ("12", "12"), ("12.5", "12.5"), ("12.50", "12.50"), ("0.01", "0.01"),
     (".5", "0.5"), ("1000000.00", "1000000.00")],
)  # fmt: skip
def test_money(raw: str, expected: str) -> None:
    assert parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12.345", "more than 2 decimal places: '12.345'"),
        ("12.500", "more than 2 decimal places: '12.500'"),
        ("-0.01", "negative amount: '-0.01'"),
        ("-.5", "negative amount: '-.5'"),
        ("1,000", "not a valid amount: '1,000'"),
        ("$10", "not a valid amount: '$10'"),
        ("10 EUR", "not a valid amount: '10 EUR'"),
        ("1e3", "not a valid amount: '1e3'"),
        ("+5", "not a valid amount: '+5'"),
        ("1_000", "not a valid amount: '1_000'"),
        ("NaN", "not a valid amount: 'NaN'"),
        ("١٢", "not a valid amount: '١٢'"),  # Arabic-Indic digits are digits, not ASCII
        (".", "not a valid amount: '.'"),
    ],
)
def test_money_problems(raw: str, reason: str) -> None:
    with pytest.raises(CellError) as info:
        parse_money(raw)
    assert str(info.value).startswith(reason)


def test_booleans_integers_currencies_and_enums() -> None:
    assert [parse_bool(v) for v in ("true", "FALSE", "True")] == [True, False, True]
    with pytest.raises(CellError, match="not a boolean: '1'"):
        parse_bool("1")
    assert [parse_integer(v) for v in ("0", "-3", "42")] == [0, -3, 42]
    with pytest.raises(CellError, match=r"not a whole number: '2\.0'"):
        parse_integer("2.0")
    assert parse_currency("eur") == "EUR"
    for bad in ("EU", "EURO", "E1R"):
        with pytest.raises(CellError, match="not a 3-letter currency code"):
            parse_currency(bad)
    parse_status = enum_parser(RewardStatus)
    assert parse_status("Awaiting_Review") == "awaiting_review"
    with pytest.raises(CellError, match="unknown value 'awaiting review'"):
        parse_status("awaiting review")


def test_long_cells_are_shortened_in_reasons() -> None:
    with pytest.raises(CellError) as info:
        parse_money("x" * 100)
    assert f"'{'x' * 37}...'" in str(info.value)


def test_custom_properties_serialise_as_json_dumps_would() -> None:
    columns = {
        "industry": ["SaaS", None, 'Say "hi"', None],
        "100% sure": ["yes", "no", None, None],
        "Größe": ["11–50", None, "à", None],
    }
    expected = [
        json.dumps({k: v[n] for k, v in columns.items() if v[n] is not None}) for n in range(4)
    ]
    assert properties_json(columns, 4) == expected
    assert expected[3] == "{}"  # a lead without any custom value
    assert properties_json({}, 2) == ["{}", "{}"]


def test_whole_timestamp_columns_take_the_fast_path_only_when_it_is_exact() -> None:
    naive = ["2026-05-03T14:05:00", "2026-12-31T23:59:59"]
    assert parse_timestamp_column(naive) == [
        "2026-05-03 14:05:00.000000",
        "2026-12-31 23:59:59.000000",
    ]
    assert parse_timestamp_column([t + "Z" for t in naive]) == parse_timestamp_column(naive)
    for mixed in (
        ["2026-05-03T14:05:00", "2026-05-03T14:05:00Z"],  # widths differ
        ["2026-05-03T14:05:00", "2026-02-30T14:05:00"],  # 30 February
        ["2026-05-03 14:05:00", "2026-05-03T14:05:00"],  # another separator
        ["2026-W18-7T14:05:00"],  # a week date of the same width
        ["2026-05-03T140500.5"],  # basic time with a fraction, same width
        ["2026-05-03T14:05:0ZZ"],
    ):
        assert parse_timestamp_column(mixed) is None, mixed
        # The cell-by-cell path then reads (or rejects) each one on its own.


def test_whole_money_columns_take_the_fast_path_only_when_it_is_exact() -> None:
    assert parse_money_column(["0", "12.5", "12.50", ".5", "7."]) == [
        Decimal("0"),
        Decimal("12.5"),
        Decimal("12.50"),
        Decimal("0.5"),
        Decimal("7"),
    ]
    for bad in (["1", "1.005"], ["1", "-1"], ["1", "1,000"], ["1e3"], ["."], ["١٢"]):
        assert parse_money_column(bad) is None, bad

"""Every kind of problem dataset-format.md names, reported as `FILE:LINE: COLUMN: reason`.

Each test breaks the valid base dataset in one place. Line numbers are counted by hand: the
header is line 1, so the n-th row of a file is line n + 1 (base_files() lists the rows).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.importer import DatasetInvalid, load_dataset, read_dataset
from tests.test_importer_dataset import Files, base_files, row_counts, table_dump, write

PIPELINE = "(expected one of: New lead, In progress, Meeting booked, Won, Lost)"
DATE = "(expected ISO 8601 such as 2026-05-03 or 2026-05-03T14:05:00Z)"
AMOUNT = "(expected a number such as 1250.50, without currency symbol or thousands separator)"


def problems(tmp_path: Path, files: Files) -> list[str]:
    with pytest.raises(DatasetInvalid) as info:
        read_dataset(write(tmp_path / "bad", files))
    return [str(p) for p in info.value.problems]


def changed(file: str, row: int, **cells: object) -> Files:
    """The base dataset with cells of the `row`-th row (0-based) of `file` replaced."""
    files = base_files()
    files[file][row].update(cells)
    return files


def test_the_base_dataset_is_valid(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "ok", base_files()))
    assert data.counts["leads.csv"] == 3


@pytest.mark.parametrize("name", ["partners.csv", "channels.csv", "leads.csv"])
def test_missing_required_file(tmp_path: Path, name: str) -> None:
    files = base_files()
    del files[name]
    # Only the file is reported: references into it are not checked a second time.
    assert problems(tmp_path, files) == [f"{name}:1: (file): required file is missing"]


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("partners.csv", "name"),
        ("channels.csv", "partner_id"),
        ("leads.csv", "status"),
        ("leads.csv", "id"),
        ("lead_status_history.csv", "changed_at"),
        ("reward_triggers.csv", "event"),
        ("purchases.csv", "amount"),
        ("reward_reports.csv", "period_end"),
        ("rewards.csv", "created_at"),
    ],
)
def test_missing_required_column_is_reported_on_the_header_line(
    tmp_path: Path, name: str, column: str
) -> None:
    files = base_files()
    for row in files[name]:
        del row[column]
    assert problems(tmp_path, files) == [f"{name}:1: {column}: required column is missing"]


def test_empty_required_cells(tmp_path: Path) -> None:
    files = changed("channels.csv", 1, name="  ")  # only spaces is empty too
    files["leads.csv"][2]["created_at"] = ""
    files["reward_triggers.csv"][0]["amount"] = ""
    assert problems(tmp_path, files) == [
        "channels.csv:3: name: required value is empty",
        "leads.csv:4: created_at: required value is empty",
        "reward_triggers.csv:2: amount: required value is empty",
    ]


def test_malformed_dates(tmp_path: Path) -> None:
    files = changed("leads.csv", 1, created_at="2026-13-01")
    files["purchases.csv"][0]["occurred_at"] = "05/12/2026"
    files["reward_reports.csv"][0]["period_end"] = "2026-02-30"
    assert problems(tmp_path, files) == [
        f"leads.csv:3: created_at: not a valid date or time: '2026-13-01' {DATE}",
        f"purchases.csv:2: occurred_at: not a valid date or time: '05/12/2026' {DATE}",
        "reward_reports.csv:2: period_end: not a valid date: '2026-02-30' "
        "(expected ISO 8601 such as 2026-05-03)",
    ]


def test_malformed_numbers(tmp_path: Path) -> None:
    files = changed("leads.csv", 1, deal_value="1,000.00")
    files["rewards.csv"][0]["amount"] = "$100"
    files["reward_triggers.csv"][0]["amount"] = "1e3"
    assert problems(tmp_path, files) == [
        f"leads.csv:3: deal_value: not a valid amount: '1,000.00' {AMOUNT}",
        f"reward_triggers.csv:2: amount: not a valid amount: '1e3' {AMOUNT}",
        f"rewards.csv:2: amount: not a valid amount: '$100' {AMOUNT}",
    ]


def test_more_than_two_decimals_and_exactly_two(tmp_path: Path) -> None:
    files = changed("purchases.csv", 0, amount="500.005")
    files["leads.csv"][1]["deal_value"] = "999.99"  # two places: fine
    files["leads.csv"][2]["deal_value"] = "0.100"  # three, even with a trailing zero
    assert problems(tmp_path, files) == [
        "leads.csv:4: deal_value: more than 2 decimal places: '0.100'",
        "purchases.csv:2: amount: more than 2 decimal places: '500.005'",
    ]


def test_negative_amounts(tmp_path: Path) -> None:
    files = changed("rewards.csv", 1, amount="-25")
    files["reward_triggers.csv"][1]["amount"] = "-0.5"
    files["leads.csv"][0]["deal_value"] = "0"  # zero is not negative
    assert problems(tmp_path, files) == [
        "reward_triggers.csv:3: amount: negative amount: '-0.5'",
        "rewards.csv:3: amount: negative amount: '-25'",
    ]


def test_unknown_enum_values(tmp_path: Path) -> None:
    files = changed("channels.csv", 0, status="closed")
    files["reward_triggers.csv"][0].update(amount_type="flat", requires_approval="yes")
    files["reward_triggers.csv"][1]["event"] = "lead_won"
    files["rewards.csv"][1]["status"] = "pending"
    assert problems(tmp_path, files) == [
        "channels.csv:2: status: unknown value 'closed' "
        "(expected one of: active, paused, archived)",
        "reward_triggers.csv:2: amount_type: unknown value 'flat' "
        "(expected one of: fixed, percentage)",
        "reward_triggers.csv:2: requires_approval: not a boolean: 'yes' (expected true or false)",
        "reward_triggers.csv:3: event: unknown value 'lead_won' "
        "(expected one of: lead_submitted, status_reached, purchase)",
        "rewards.csv:3: status: unknown value 'pending' "
        "(expected one of: awaiting_review, approved, paid, rejected)",
    ]


def test_invalid_currency(tmp_path: Path) -> None:
    files = changed("channels.csv", 0, currency="US")
    files["channels.csv"][1]["currency"] = "€UR"
    assert problems(tmp_path, files) == [
        "channels.csv:2: currency: not a 3-letter currency code: 'US'",
        "channels.csv:3: currency: not a 3-letter currency code: '€UR'",
    ]


def test_duplicate_ids(tmp_path: Path) -> None:
    files = base_files()
    files["partners.csv"].append({"id": "p1", "name": "Acme again", "email": "", "tier": ""})
    files["leads.csv"].append(dict(files["leads.csv"][0]))
    assert problems(tmp_path, files) == [
        "partners.csv:4: id: duplicate id 'p1' (first on line 2)",
        "leads.csv:5: id: duplicate id 'L1' (first on line 2)",
    ]


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "line", "target"),
    [
        ("channels.csv", 1, "partner_id", "p9", 3, "partners.csv"),
        ("leads.csv", 2, "channel_id", "c9", 4, "channels.csv"),
        ("lead_status_history.csv", 1, "lead_id", "L9", 3, "leads.csv"),
        ("purchases.csv", 0, "lead_id", "L9", 2, "leads.csv"),
        ("reward_triggers.csv", 1, "channel_id", "c9", 3, "channels.csv"),
        ("reward_reports.csv", 0, "channel_id", "c9", 2, "channels.csv"),
        ("rewards.csv", 0, "channel_id", "c9", 2, "channels.csv"),
        ("rewards.csv", 1, "lead_id", "L9", 3, "leads.csv"),
        ("rewards.csv", 0, "trigger_id", "t9", 2, "reward_triggers.csv"),
        ("rewards.csv", 0, "report_id", "rr9", 2, "reward_reports.csv"),
    ],
)
def test_unknown_references(
    tmp_path: Path, file: str, row: int, column: str, value: str, line: int, target: str
) -> None:
    # Moving a report, trigger or lead to an unknown channel does not also report a reward
    # "of another channel": an unknown channel is compared with nothing.
    label = column.removesuffix("_id")
    assert problems(tmp_path, changed(file, row, **{column: value})) == [
        f"{file}:{line}: {column}: unknown {label} {value!r} (not in {target})"
    ]


def test_reference_into_an_absent_optional_file(tmp_path: Path) -> None:
    files = base_files()
    del files["reward_triggers.csv"]
    assert problems(tmp_path, files) == [
        "rewards.csv:2: trigger_id: unknown trigger 't1' (not in reward_triggers.csv)",
        "rewards.csv:3: trigger_id: unknown trigger 't2' (not in reward_triggers.csv)",
    ]


def test_lead_status_not_in_its_channels_pipeline(tmp_path: Path) -> None:
    files = changed("leads.csv", 0, status="Qualified")
    files["leads.csv"][2]["status"] = "won "  # matches: case and surrounding spaces ignored
    assert problems(tmp_path, files) == [
        f"leads.csv:2: status: status 'Qualified' is not in the pipeline of channel 'c1' {PIPELINE}"
    ]


def test_status_reached_trigger_needs_a_status_of_the_pipeline(tmp_path: Path) -> None:
    files = base_files()
    triggers = files["reward_triggers.csv"]
    triggers[0]["status"] = ""
    triggers.append(dict(triggers[0], id="t3", status="Signed"))
    # A lead_submitted trigger needs no status (t2 has none) and its status is not checked.
    triggers.append(dict(triggers[1], id="t4", status="Signed"))
    assert problems(tmp_path, files) == [
        "reward_triggers.csv:2: status: required when event is status_reached",
        f"reward_triggers.csv:4: status: status 'Signed' is not in the pipeline of channel 'c1' "
        f"{PIPELINE}",
    ]


def test_paid_needs_paid_at_and_approved_needs_approved_at(tmp_path: Path) -> None:
    files = base_files()
    rewards = files["rewards.csv"]
    rewards[0]["approved_at"] = ""  # approved, line 2
    rewards[1].update(status="paid", approved_at="2026-05-04", paid_at="")  # line 3
    rewards.append(dict(rewards[1], id="r3", paid_at="not yet"))  # line 4: malformed only
    rewards.append(dict(rewards[1], id="r4", status="rejected"))  # line 5: needs nothing
    assert problems(tmp_path, files) == [
        "rewards.csv:2: approved_at: required when status is approved",
        "rewards.csv:3: paid_at: required when status is paid",
        f"rewards.csv:4: paid_at: not a valid date or time: 'not yet' {DATE}",
    ]


def test_reward_lead_trigger_or_report_of_another_channel(tmp_path: Path) -> None:
    # r2 belongs to c2; L1, t1 and rr1 all belong to c1.
    files = changed("rewards.csv", 1, lead_id="L1", trigger_id="t1", report_id="rr1")
    assert problems(tmp_path, files) == [
        "rewards.csv:3: lead_id: lead 'L1' belongs to channel 'c1', not to this row's channel 'c2'",
        "rewards.csv:3: trigger_id: trigger 't1' belongs to channel 'c1', "
        "not to this row's channel 'c2'",
        "rewards.csv:3: report_id: report 'rr1' belongs to channel 'c1', "
        "not to this row's channel 'c2'",
    ]


def test_report_ending_before_it_starts(tmp_path: Path) -> None:
    files = base_files()
    reports = files["reward_reports.csv"]
    reports[0]["period_end"] = "2026-04-30"  # one day before the start
    one_day = {"period_start": "2026-06-01", "period_end": "2026-06-01"}  # start = end: fine
    reports.append({"id": "rr2", "channel_id": "c2", **one_day})
    assert problems(tmp_path, files) == [
        "reward_reports.csv:2: period_end: 2026-04-30 is before period_start 2026-05-01"
    ]


def test_pipeline_file_problems(tmp_path: Path) -> None:
    files = base_files()
    files["pipeline.csv"] = [
        {"channel_id": "", "status": "Open", "kind": "open", "position": "1"},  # line 2
        {"channel_id": "", "status": "Done", "kind": "won", "position": "2"},  # line 3
        {"channel_id": "", "status": "open", "kind": "open", "position": "3"},  # line 4: twice
        {"channel_id": "", "status": "Gone", "kind": "lost", "position": "2"},  # line 5: pos 2
        {"channel_id": "c9", "status": "Open", "kind": "open", "position": "1"},  # line 6
        {"channel_id": "c2", "status": "Open", "kind": "maybe", "position": "first"},  # line 7
    ]
    for lead in files["leads.csv"]:
        lead["status"] = "open"
    for trigger in files["reward_triggers.csv"]:
        trigger["status"] = "Done"
    assert problems(tmp_path, files) == [
        "pipeline.csv:4: status: status 'open' appears twice in this pipeline (first on line 2)",
        "pipeline.csv:5: position: position 2 appears twice in this pipeline (first on line 3)",
        "pipeline.csv:6: channel_id: unknown channel 'c9' (not in channels.csv)",
        "pipeline.csv:7: kind: unknown value 'maybe' (expected one of: open, won, lost)",
        "pipeline.csv:7: position: not a whole number: 'first'",
        # t2 (c2) is lead_submitted, so its status is not checked; t1 (c1) is checked
        # against the organization's default pipeline, which has Done.
    ]


def test_extension_file_problems(tmp_path: Path) -> None:
    files = base_files()
    files["users.csv"] = [
        {"id": "u1", "email": "Ann@acme.test", "name": "Ann", "role": "admin"},
        {"id": "u2", "email": "ann@ACME.test", "name": "Ann again", "role": "owner"},
    ]
    integration = {"id": "i1", "channel_id": "c1", "kind": "hubspot"}
    files["integrations.csv"] = [
        {**integration, "state": "broken", "last_sync_at": "yesterday"},
        {**integration, "id": "i2", "channel_id": "c9", "kind": "", "state": ""},
    ]
    field = {"channel_id": "c1", "field": "industry", "label": "Industry"}
    files["lead_form_fields.csv"] = [
        {**field, "required": "true", "position": "1"},
        {**field, "required": "maybe", "position": "2"},
        {**field, "channel_id": "c2", "required": "", "position": ""},  # another channel
    ]
    assert problems(tmp_path, files) == [
        "integrations.csv:2: state: unknown value 'broken' "
        "(expected one of: connected, error, disconnected)",
        f"integrations.csv:2: last_sync_at: not a valid date or time: 'yesterday' {DATE}",
        "integrations.csv:3: kind: required value is empty",
        "integrations.csv:3: channel_id: unknown channel 'c9' (not in channels.csv)",
        "lead_form_fields.csv:3: required: not a boolean: 'maybe' (expected true or false)",
        "lead_form_fields.csv:3: field: duplicate field 'industry' for this channel "
        "(first on line 2)",
        "users.csv:3: role: unknown value 'owner' "
        "(expected one of: viewer, manager, finance, admin)",
        "users.csv:3: email: duplicate email 'ann@ACME.test' (first on line 2)",
    ]


def test_every_problem_of_every_file_is_reported_in_file_order(tmp_path: Path) -> None:
    files = base_files()
    files["rewards.csv"][1]["amount"] = "12.345"
    files["leads.csv"][2].update(status="Signed", deal_value="-1")
    files["leads.csv"][0]["created_at"] = "tomorrow"
    files["partners.csv"][1]["name"] = ""
    del files["channels.csv"][0]["currency"]  # still valid: currency is optional
    assert problems(tmp_path, files) == [
        "partners.csv:3: name: required value is empty",
        f"leads.csv:2: created_at: not a valid date or time: 'tomorrow' {DATE}",
        "leads.csv:4: deal_value: negative amount: '-1'",
        f"leads.csv:4: status: status 'Signed' is not in the pipeline of channel 'c2' {PIPELINE}",
        "rewards.csv:3: amount: more than 2 decimal places: '12.345'",
    ]


def test_the_exception_message_lists_every_problem(tmp_path: Path) -> None:
    files = changed("partners.csv", 0, name="")
    files["partners.csv"][1]["name"] = ""
    with pytest.raises(DatasetInvalid) as info:
        read_dataset(write(tmp_path / "bad", files))
    assert str(info.value).splitlines() == [
        "The dataset has 2 problems; nothing was loaded:",
        "partners.csv:2: name: required value is empty",
        "partners.csv:3: name: required value is empty",
    ]


def test_a_failed_load_writes_nothing_not_even_the_organization(
    engine: Engine, tmp_path: Path
) -> None:
    empty = row_counts(engine)
    bad = write(tmp_path / "bad", changed("rewards.csv", 1, status="paid"))  # no paid_at
    with pytest.raises(DatasetInvalid):
        load_dataset(engine, bad, org_slug="acme")
    assert row_counts(engine) == empty
    assert set(empty.values()) == {0}


def test_a_failed_reload_leaves_every_table_as_it_was(engine: Engine, tmp_path: Path) -> None:
    load_dataset(engine, write(tmp_path / "good", base_files()), org_slug="acme")
    before = table_dump(engine)
    files = changed("leads.csv", 0, status="Won", deal_value="5.00")  # valid changes...
    files["channels.csv"][0]["name"] = "Renamed"
    files["users.csv"] = [{"id": "u1", "email": "a@acme.test", "name": "A", "role": "chief"}]
    bad = write(tmp_path / "bad", files)  # ...next to one problem
    for slug in ("acme", "beta"):
        with pytest.raises(DatasetInvalid) as info:
            load_dataset(engine, bad, org_slug=slug)
        assert [p.file for p in info.value.problems] == ["users.csv"]
    assert table_dump(engine) == before

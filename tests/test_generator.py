"""The scale-data generator writes datasets that satisfy the import contract.

The files are read back with the csv module only (no project loader), so these tests check the
contract in shared/spec/dataset-format.md itself, plus Keen's documented extensions.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from domain import generator
from domain.generator import generate_dataset

TODAY = date(2026, 5, 3)
FIRST_DAY = date(2024, 11, 3)  # 18 months before TODAY
LEADS = 2_000
SEED = 7

# Required columns per file, straight from the contract and docs/dataset-extensions.md.
REQUIRED: dict[str, set[str]] = {
    "partners.csv": {"id", "name"},
    "channels.csv": {"id", "partner_id", "name"},
    "pipeline.csv": {"status", "kind", "position"},
    "leads.csv": {"id", "channel_id", "status", "created_at"},
    "lead_status_history.csv": {"lead_id", "to_status", "changed_at"},
    "reward_triggers.csv": {"id", "channel_id", "event", "amount_type", "amount"},
    "purchases.csv": {"id", "lead_id", "amount", "occurred_at"},
    "reward_reports.csv": {"id", "channel_id", "period_start", "period_end"},
    "rewards.csv": {"id", "channel_id", "amount", "status", "created_at"},
    "integrations.csv": {"id", "channel_id", "kind"},
    "lead_form_fields.csv": {"channel_id", "field"},
    "users.csv": {"id", "email", "role"},
}
# Every column the contract or the extensions name; leads.csv may add custom properties.
KNOWN: dict[str, set[str]] = {
    "partners.csv": {"email", "tier", "notes"},
    "channels.csv": {"status", "currency", "created_at", "description"},
    "pipeline.csv": {"channel_id"},
    "leads.csv": {
        "contact_name", "company_name", "email", "phone", "source", "notes", "deal_value",
        "status_changed_at", "owner",
    },
    "lead_status_history.csv": {"from_status"},
    "reward_triggers.csv": {"name", "status", "requires_approval", "active"},
    "purchases.csv": set(),
    "reward_reports.csv": {"flag_note"},
    "rewards.csv": {
        "lead_id", "trigger_id", "report_id", "approved_at", "paid_at", "rejected_at",
        "payment_reference", "reject_reason",
    },
    "integrations.csv": {"state", "last_sync_at", "last_error"},
    "lead_form_fields.csv": {"label", "required", "position"},
    "users.csv": {"name"},
}  # fmt: skip
CUSTOM_PROPERTIES = {"industry", "company_size", "country", "budget"}
DEFAULT_PIPELINE = ["New lead", "In progress", "Meeting booked", "Won", "Lost"]
MONEY = re.compile(r"\d+\.\d{2}")


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def header(folder: Path, name: str) -> list[str]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as fh:
        return next(csv.reader(fh))


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("dataset")
    return folder, generate_dataset(folder, LEADS, seed=SEED, today=TODAY)


@pytest.fixture(scope="module")
def folder(generated: tuple[Path, dict[str, int]]) -> Path:
    return generated[0]


@pytest.fixture(scope="module")
def data(folder: Path) -> dict[str, list[dict[str, str]]]:
    return {name: read(folder, name) for name in REQUIRED}


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in rows}


def pipelines(data: dict[str, list[dict[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """channel id -> [(status, kind)] in position order, the default for channels without rows."""
    custom: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for row in data["pipeline.csv"]:
        custom[row["channel_id"]].append((int(row["position"]), row["status"], row["kind"]))
    default = list(zip(DEFAULT_PIPELINE, ["open"] * 3 + ["won", "lost"], strict=True))
    return {
        ch["id"]: [(s, k) for _, s, k in sorted(custom[ch["id"]])] if ch["id"] in custom
        else default
        for ch in data["channels.csv"]
    }  # fmt: skip


# --- files, columns, counts --------------------------------------------------------------------


def test_every_required_file_and_column_is_present(folder: Path) -> None:
    for name, required in REQUIRED.items():
        columns = header(folder, name)
        assert required <= set(columns), f"{name} misses {required - set(columns)}"
        assert len(columns) == len(set(columns)), f"{name} repeats a column"
        unknown = set(columns) - required - KNOWN[name]
        if name == "leads.csv":
            assert unknown == CUSTOM_PROPERTIES
        else:
            assert not unknown, f"{name} has columns the contract does not name: {unknown}"


def test_lead_count_is_exact_and_counts_match_the_files(
    generated: tuple[Path, dict[str, int]], data: dict[str, list[dict[str, str]]]
) -> None:
    _, counts = generated
    assert len(data["leads.csv"]) == LEADS
    assert set(counts) == set(REQUIRED)
    for name, rows in data.items():
        assert counts[name] == len(rows), name
    assert counts["lead_status_history.csv"] > LEADS
    assert counts["rewards.csv"] > 0 and counts["purchases.csv"] > 0


def test_required_cells_are_filled(data: dict[str, list[dict[str, str]]]) -> None:
    for name, rows in data.items():
        for line, row in enumerate(rows, 2):
            for column in REQUIRED[name]:
                assert row[column] != "", f"{name}:{line}: {column} is empty"


def test_ids_are_unique_per_file(data: dict[str, list[dict[str, str]]]) -> None:
    for name, rows in data.items():
        if "id" in REQUIRED[name]:
            ids = Counter(row["id"] for row in rows)
            assert max(ids.values()) == 1, f"{name}: {ids.most_common(1)}"
    fields = Counter((r["channel_id"], r["field"]) for r in data["lead_form_fields.csv"])
    assert max(fields.values()) == 1


def test_the_files_are_exactly_what_csv_writer_writes(folder: Path) -> None:
    """RFC 4180 quoting: rewriting the parsed rows with csv.writer gives the same bytes."""
    for name in REQUIRED:
        text = (folder / name).read_bytes().decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        again = io.StringIO(newline="")
        csv.writer(again).writerows(rows)
        assert again.getvalue() == text, name
    notes = [row["notes"] for row in read(folder, "leads.csv")]
    assert any("\n" in n for n in notes) and any('"' in n for n in notes)


# --- references ----------------------------------------------------------------------------------


def test_every_reference_resolves(data: dict[str, list[dict[str, str]]]) -> None:
    partners = by_id(data["partners.csv"])
    channels = by_id(data["channels.csv"])
    leads = by_id(data["leads.csv"])
    triggers = by_id(data["reward_triggers.csv"])
    reports = by_id(data["reward_reports.csv"])
    for ch in channels.values():
        assert ch["partner_id"] in partners
    for name in (
        "leads.csv", "reward_triggers.csv", "reward_reports.csv", "rewards.csv",
        "integrations.csv", "lead_form_fields.csv", "pipeline.csv",
    ):  # fmt: skip
        for row in data[name]:
            assert row["channel_id"] in channels, (name, row)
    for row in data["lead_status_history.csv"]:
        assert row["lead_id"] in leads
    for row in data["purchases.csv"]:
        assert row["lead_id"] in leads
    for row in data["rewards.csv"]:
        assert row["lead_id"] in leads and row["trigger_id"] in triggers
        channel = row["channel_id"]
        assert leads[row["lead_id"]]["channel_id"] == channel
        assert triggers[row["trigger_id"]]["channel_id"] == channel
        if row["report_id"]:
            report = reports[row["report_id"]]
            assert report["channel_id"] == channel
            created = when(row["created_at"]).date()
            assert report["period_start"] <= created.isoformat() <= report["period_end"]


def test_lead_statuses_are_in_their_channels_pipeline(
    data: dict[str, list[dict[str, str]]],
) -> None:
    by_channel = pipelines(data)
    custom = {row["channel_id"] for row in data["pipeline.csv"]}
    assert custom, "some channel should have a custom pipeline"
    for lead in data["leads.csv"]:
        names = {s.casefold() for s, _ in by_channel[lead["channel_id"]]}
        assert lead["status"].casefold() in names, lead
    for row in data["reward_triggers.csv"]:
        if row["event"] == "status_reached":
            assert row["status"] in {s for s, _ in by_channel[row["channel_id"]]}
    used = {lead["status"] for lead in data["leads.csv"] if lead["channel_id"] not in custom}
    assert used == set(DEFAULT_PIPELINE)


def test_history_ends_in_the_current_status(data: dict[str, list[dict[str, str]]]) -> None:
    by_channel = pipelines(data)
    history: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in data["lead_status_history.csv"]:
        history[row["lead_id"]].append(row)
    for lead in data["leads.csv"]:
        entries = history[lead["id"]]
        assert 1 <= len(entries) <= 4, lead["id"]
        assert entries[0]["from_status"] == ""
        assert entries[0]["to_status"] == by_channel[lead["channel_id"]][0][0]
        assert entries[0]["changed_at"] == lead["created_at"]
        for before, after in pairwise(entries):
            assert after["from_status"] == before["to_status"]
            assert when(before["changed_at"]) <= when(after["changed_at"])
        assert entries[-1]["to_status"] == lead["status"]
        assert entries[-1]["changed_at"] == lead["status_changed_at"]


# --- rewards -------------------------------------------------------------------------------------


def test_reward_states_carry_the_dates_they_require(
    data: dict[str, list[dict[str, str]]],
) -> None:
    rewards = data["rewards.csv"]
    assert {r["status"] for r in rewards} == {"awaiting_review", "approved", "paid", "rejected"}
    for r in rewards:
        if r["status"] == "paid":
            assert r["paid_at"] and r["approved_at"] and r["report_id"]
            assert when(r["created_at"]) <= when(r["approved_at"]) <= when(r["paid_at"])
        elif r["status"] == "approved":
            assert r["approved_at"] and not r["paid_at"]
        elif r["status"] == "rejected":
            assert r["rejected_at"] and r["reject_reason"] and not r["paid_at"]
        else:
            assert not (r["approved_at"] or r["paid_at"] or r["rejected_at"])


def test_rewards_follow_their_triggers(data: dict[str, list[dict[str, str]]]) -> None:
    triggers = by_id(data["reward_triggers.csv"])
    leads = by_id(data["leads.csv"])
    purchases: dict[str, list[Decimal]] = defaultdict(list)
    for p in data["purchases.csv"]:
        purchases[p["lead_id"]].append(Decimal(p["amount"]))
    fired: Counter[tuple[str, str]] = Counter()
    for r in data["rewards.csv"]:
        trigger, amount = triggers[r["trigger_id"]], Decimal(r["amount"])
        fired[(r["trigger_id"], r["lead_id"])] += 1
        if trigger["requires_approval"] == "false":
            assert r["status"] != "awaiting_review"
        if trigger["amount_type"] == "fixed":
            assert amount == Decimal(trigger["amount"])
            continue
        pct = Decimal(trigger["amount"]) / 100
        bases = (
            purchases[r["lead_id"]]
            if trigger["event"] == "purchase"
            else [Decimal(leads[r["lead_id"]]["deal_value"])]
        )
        assert amount in {(b * pct).quantize(Decimal("0.01"), ROUND_HALF_UP) for b in bases}
    for (trigger_id, lead_id), times in fired.items():
        if triggers[trigger_id]["event"] != "purchase":
            assert times == 1, (trigger_id, lead_id)
        else:
            assert times <= len(purchases[lead_id])


def test_triggers_cover_every_event_and_amount_type(
    data: dict[str, list[dict[str, str]]],
) -> None:
    triggers = data["reward_triggers.csv"]
    assert {t["event"] for t in triggers} == {"lead_submitted", "status_reached", "purchase"}
    assert {t["amount_type"] for t in triggers} == {"fixed", "percentage"}
    pairs = {(t["event"], t["amount_type"]) for t in triggers}
    assert ("status_reached", "percentage") in pairs and ("purchase", "percentage") in pairs
    assert {t["requires_approval"] for t in triggers} <= {"true", "false"}
    assert {t["active"] for t in triggers} <= {"true", "false"}


def test_reports_are_monthly(data: dict[str, list[dict[str, str]]]) -> None:
    for report in data["reward_reports.csv"]:
        start, end = date.fromisoformat(report["period_start"]), report["period_end"]
        assert start.day == 1 and date.fromisoformat(end).month == start.month
        assert date.fromisoformat(end) < TODAY.replace(day=1)


# --- values --------------------------------------------------------------------------------------


def test_money_dates_and_enums_are_well_formed(data: dict[str, list[dict[str, str]]]) -> None:
    money = [
        *(lead["deal_value"] for lead in data["leads.csv"] if lead["deal_value"]),
        *(p["amount"] for p in data["purchases.csv"]),
        *(r["amount"] for r in data["rewards.csv"]),
    ]
    assert all(MONEY.fullmatch(m) for m in money)
    stamps = [
        *(lead[c] for lead in data["leads.csv"] for c in ("created_at", "status_changed_at")),
        *(h["changed_at"] for h in data["lead_status_history.csv"]),
        *(p["occurred_at"] for p in data["purchases.csv"]),
        *(r[c] for r in data["rewards.csv"] for c in ("created_at", "approved_at", "paid_at")),
        *(ch["created_at"] for ch in data["channels.csv"]),
    ]
    for stamp in filter(None, stamps):
        assert FIRST_DAY <= when(stamp).date() <= TODAY, stamp
    for lead in data["leads.csv"]:
        assert when(lead["created_at"]) <= when(lead["status_changed_at"])
    assert {c["status"] for c in data["channels.csv"]} <= {"active", "paused", "archived"}
    assert {c["currency"] for c in data["channels.csv"]} >= {"USD", "EUR", "GBP"}
    assert {k for k in (p["kind"] for p in data["pipeline.csv"])} <= {"open", "won", "lost"}
    assert {u["role"] for u in data["users.csv"]} <= {"viewer", "manager", "finance", "admin"}
    states = {i["state"] for i in data["integrations.csv"]}
    assert states <= {"connected", "error", "disconnected"}


def test_leads_look_like_real_crm_data(data: dict[str, list[dict[str, str]]]) -> None:
    leads = data["leads.csv"]
    channels = Counter(lead["channel_id"] for lead in leads)
    assert max(channels.values()) >= 5 * min(channels.values())  # some big, some small
    missing = [
        lead
        for lead in leads
        if not (lead["email"] or lead["phone"])
        or not lead["deal_value"]
        or not lead["company_name"]
    ]
    assert 0 < len(missing) < len(leads) / 3
    assert any(c in lead["notes"] for lead in leads for c in generator.COMPETITORS)
    assert all(lead[p] for lead in leads[:50] for p in ("contact_name", "source"))
    assert len({lead["industry"] for lead in leads}) > 5
    assert {c["status"] for c in data["channels.csv"]} == {"active", "paused", "archived"}


# --- determinism, progress, edge cases ----------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_differs(
    folder: Path, tmp_path: Path
) -> None:
    generate_dataset(tmp_path / "same", LEADS, seed=SEED, today=TODAY)
    generate_dataset(tmp_path / "other", LEADS, seed=SEED + 1, today=TODAY)
    for name in REQUIRED:
        assert (tmp_path / "same" / name).read_bytes() == (folder / name).read_bytes(), name
    assert (tmp_path / "other" / "leads.csv").read_bytes() != (folder / "leads.csv").read_bytes()


def test_progress_is_reported_while_streaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "PROGRESS_EVERY", 200)
    monkeypatch.setattr(generator, "_CHUNK", 100)
    calls: list[tuple[str, int]] = []
    counts = generate_dataset(
        tmp_path, 1_000, today=TODAY, progress=lambda f, n: calls.append((f, n))
    )
    lead_calls = [n for f, n in calls if f == "leads.csv"]
    assert lead_calls == [200, 400, 600, 800, 1000]
    assert {f for f, _ in calls} == set(counts)
    last = {f: n for f, n in calls}
    assert last == counts


def test_zero_leads_writes_headers_only(tmp_path: Path) -> None:
    counts = generate_dataset(tmp_path, 0, today=TODAY)
    assert counts["leads.csv"] == counts["rewards.csv"] == 0
    assert read(tmp_path, "leads.csv") == []
    assert read(tmp_path, "partners.csv")


def test_negative_lead_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_dataset(tmp_path, -1)

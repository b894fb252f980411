"""Loading again: upsert by id, organizations kept apart, pipelines, and the optional files."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.importer import DatasetInvalid, load_dataset
from domain.models import (
    Base,
    Channel,
    Integration,
    Lead,
    LeadFormField,
    LeadStatusChange,
    Organization,
    Partner,
    PipelineStatus,
    Reward,
    RewardReport,
    RewardTrigger,
    StaffUser,
)
from tests.test_importer_dataset import Files, base_files, row_counts, table_dump, write

IMPORTED_TABLES = (
    "organizations",
    "partners",
    "channels",
    "pipeline_statuses",
    "leads",
    "lead_status_history",
    "reward_triggers",
    "purchases",
    "reward_reports",
    "rewards",
    "integrations",
    "lead_form_fields",
    "staff_users",
)


def count(s: Session, model: type[Base], org_id: int) -> int:
    return s.scalar(select(func.count()).select_from(model).where(model.org_id == org_id)) or 0


def full_files() -> Files:
    """The base dataset with a pipeline file and every optional column and file."""
    files = base_files()
    files["partners.csv"][0]["notes"] = "Prefers quarterly reviews"
    files["channels.csv"][1]["description"] = "EU resale"
    files["rewards.csv"][1].update(
        status="rejected",
        rejected_at="2026-05-04T08:00:00+01:00",
        payment_reference="",
        reject_reason="Duplicate lead",
    )
    files["rewards.csv"][0]["payment_reference"] = "INV-7"
    files["reward_reports.csv"][0]["flag_note"] = "Check L2 amount"
    files["pipeline.csv"] = [
        {"channel_id": "c2", "status": "Accepted", "kind": "won", "position": "20"},
        {"channel_id": "c2", "status": "In progress", "kind": "open", "position": "10"},
        {"channel_id": "c2", "status": "Refused", "kind": "lost", "position": "30"},
    ]
    files["integrations.csv"] = [
        {"id": "i1", "channel_id": "c1", "kind": "hubspot", "state": "Error",
         "last_sync_at": "2026-05-20T06:00:00Z", "last_error": "401 Unauthorized"},
        {"id": "i2", "channel_id": "c2", "kind": "webhook", "state": "", "last_sync_at": "",
         "last_error": ""},
    ]  # fmt: skip
    files["lead_form_fields.csv"] = [
        {"channel_id": "c1", "field": "industry", "label": "Industry", "required": "true",
         "position": "2"},
        {"channel_id": "c1", "field": "email", "label": "", "required": "", "position": ""},
    ]  # fmt: skip
    files["users.csv"] = [
        {"id": "u1", "email": "ann@acme.test", "name": "Ann", "role": "Finance"},
        {"id": "u2", "email": "bob@acme.test", "name": "", "role": "viewer"},
    ]
    return files


def test_loading_the_same_folder_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    folder = write(tmp_path / "ds", full_files())
    load_dataset(engine, folder)
    first = table_dump(engine)
    load_dataset(engine, folder)
    assert table_dump(engine) == first
    # Every table the dataset feeds has rows, so the comparison above is not vacuous.
    counts = row_counts(engine)
    assert all(counts[table] > 0 for table in IMPORTED_TABLES)
    assert (counts["organizations"], counts["leads"], counts["pipeline_statuses"]) == (1, 3, 8)


def test_changed_rows_are_updated_and_absent_rows_left_alone(
    engine: Engine, tmp_path: Path
) -> None:
    load_dataset(engine, write(tmp_path / "one", base_files()))
    with Session(engine) as s:
        ids_before = dict(s.execute(select(Lead.ext_id, Lead.id)).all())
        l3_before = s.scalars(select(Lead).where(Lead.ext_id == "L3")).one()
        l3_row = (l3_before.status_id, l3_before.deal_value, l3_before.created_at)

    files = base_files()
    files["leads.csv"][0].update(status="won", deal_value="75.5")  # L1: New lead -> Won
    files["channels.csv"][0]["name"] = "Acme Referral (EMEA)"
    del files["leads.csv"][2]  # L3 is not in the second folder...
    del files["rewards.csv"][1]  # ...nor its reward r2
    load_dataset(engine, write(tmp_path / "two", files))

    with Session(engine) as s:
        c1 = s.scalars(select(Channel).where(Channel.ext_id == "c1")).one()
        assert c1.name == "Acme Referral (EMEA)"
        leads = {lead.ext_id: lead for lead in s.scalars(select(Lead))}
        assert {k: v.id for k, v in leads.items()} == ids_before  # updated in place
        l1 = leads["L1"]
        assert (l1.status.name, l1.status.channel_id, l1.status_kind) == ("Won", c1.id, "won")
        assert l1.deal_value == Decimal("75.50")
        l3 = leads["L3"]
        assert (l3.status_id, l3.deal_value, l3.created_at) == l3_row
        assert sorted(s.scalars(select(Reward.ext_id))) == ["r1", "r2"]


def test_organizations_are_kept_apart(engine: Engine, tmp_path: Path) -> None:
    load_dataset(engine, write(tmp_path / "acme", base_files()), org_slug="acme")
    acme_before = table_dump(engine)

    files = base_files()
    files["leads.csv"][0]["deal_value"] = "5.00"
    files["channels.csv"][0]["name"] = "Beta's copy"
    load_dataset(engine, write(tmp_path / "beta", files), org_slug="beta")

    with Session(engine) as s:
        orgs = {o.slug: o.id for o in s.scalars(select(Organization))}
        assert set(orgs) == {"acme", "beta"}
        for slug, name, deal in (("acme", "Acme Referral", None), ("beta", "Beta's copy", "5.00")):
            org_id = orgs[slug]
            channel = s.scalars(
                select(Channel).where(Channel.org_id == org_id, Channel.ext_id == "c1")
            ).one()
            assert channel.name == name
            lead = s.scalars(select(Lead).where(Lead.org_id == org_id, Lead.ext_id == "L1")).one()
            assert lead.deal_value == (None if deal is None else Decimal(deal))
            assert lead.channel_id == channel.id
            assert lead.status.channel_id == channel.id  # its own org's pipeline
            assert count(s, Lead, org_id) == 3
            assert count(s, Reward, org_id) == 2

    # Every row of acme is exactly as before beta arrived, and reloading acme leaves beta alone.
    after = table_dump(engine)
    for table, rows in acme_before.items():
        assert all(row in after[table] for row in rows), table
    load_dataset(engine, write(tmp_path / "acme2", base_files()), org_slug="acme")
    assert table_dump(engine) == after


def test_organization_default_and_channel_pipelines(engine: Engine, tmp_path: Path) -> None:
    files = base_files()
    # Rows out of order on purpose: the position decides, and the lowest is the first status.
    files["pipeline.csv"] = [
        {"channel_id": "", "status": "Signed", "kind": "won", "position": "30"},
        {"channel_id": "", "status": "Open", "kind": "open", "position": "10"},
        {"channel_id": "", "status": "Dropped", "kind": "lost", "position": "40"},
        {"channel_id": "", "status": "Won", "kind": "open", "position": "20"},
        {"channel_id": "c2", "status": "In progress", "kind": "open", "position": "-1"},
    ]
    files["leads.csv"][0]["status"] = "OPEN"
    files["leads.csv"][1]["status"] = "signed"
    files["reward_triggers.csv"][0]["status"] = "SIGNED"
    files["lead_status_history.csv"][1]["to_status"] = "signed"
    load_dataset(engine, write(tmp_path / "ds", files))

    with Session(engine) as s:
        channels = {c.ext_id: c for c in s.scalars(select(Channel))}

        def pipeline(ext_id: str) -> list[tuple[str, str, int, bool]]:
            statuses = s.scalars(
                select(PipelineStatus)
                .where(PipelineStatus.channel_id == channels[ext_id].id)
                .order_by(PipelineStatus.position)
            )
            return [(p.name, p.kind, p.position, p.is_first) for p in statuses]

        # c1 has no rows of its own: it uses the organization's default from the file.
        assert pipeline("c1") == [
            ("Open", "open", 10, True),
            ("Won", "open", 20, False),
            ("Signed", "won", 30, False),
            ("Dropped", "lost", 40, False),
        ]
        assert pipeline("c2") == [("In progress", "open", -1, True)]
        leads = {lead.ext_id: lead for lead in s.scalars(select(Lead))}
        assert (leads["L1"].status.name, leads["L1"].status_kind) == ("Open", "open")
        assert (leads["L2"].status.name, leads["L2"].status_kind) == ("Signed", "won")
        assert (leads["L3"].status.name, leads["L3"].status.channel_id) == (
            "In progress",
            channels["c2"].id,
        )
        trigger = s.scalars(select(RewardTrigger).where(RewardTrigger.ext_id == "t1")).one()
        assert trigger.status == "Signed"
        # History takes the pipeline's spelling when it matches, and is kept as written when it
        # does not ("new lead" and "New Lead" are not statuses of this pipeline).
        history = s.scalars(select(LeadStatusChange).order_by(LeadStatusChange.changed_at))
        assert [(h.from_status, h.to_status) for h in history] == [
            (None, "new lead"),
            ("New Lead", "Signed"),
        ]


def test_a_reload_that_changes_a_pipeline(engine: Engine, tmp_path: Path) -> None:
    files = base_files()
    files["pipeline.csv"] = [
        {"channel_id": "c1", "status": "New lead", "kind": "open", "position": "1"},
        {"channel_id": "c1", "status": "Meeting booked", "kind": "open", "position": "2"},
        {"channel_id": "c1", "status": "Contract sent", "kind": "open", "position": "3"},
        {"channel_id": "c1", "status": "Won", "kind": "won", "position": "4"},
    ]
    files["leads.csv"].append(dict(files["leads.csv"][0], id="L4", status="Contract sent"))
    load_dataset(engine, write(tmp_path / "one", files))

    # Second folder: L4 is gone from it, "Meeting booked" and "Contract sent" are dropped from
    # c1's pipeline, "Qualified" is new and becomes the first status, and "Won" turns lost.
    files["pipeline.csv"] = [
        {"channel_id": "c1", "status": "Qualified", "kind": "open", "position": "0"},
        {"channel_id": "c1", "status": "New lead", "kind": "open", "position": "1"},
        {"channel_id": "c1", "status": "Won", "kind": "lost", "position": "4"},
    ]
    del files["leads.csv"][3]
    load_dataset(engine, write(tmp_path / "two", files))

    with Session(engine) as s:
        c1 = s.scalars(select(Channel).where(Channel.ext_id == "c1")).one()
        statuses = s.scalars(
            select(PipelineStatus)
            .where(PipelineStatus.channel_id == c1.id)
            .order_by(PipelineStatus.position)
        )
        # "Meeting booked" held no lead and is deleted; "Contract sent" still holds L4 (absent
        # from the folder, so left alone) and is kept, no longer first in any sense.
        assert [(p.name, p.kind, p.position, p.is_first) for p in statuses] == [
            ("Qualified", "open", 0, True),
            ("New lead", "open", 1, False),
            ("Contract sent", "open", 3, False),
            ("Won", "lost", 4, False),
        ]
        leads = {lead.ext_id: lead for lead in s.scalars(select(Lead))}
        assert leads["L4"].status.name == "Contract sent"
        # L2 is in Won, whose kind changed: its copied status_kind follows.
        assert (leads["L2"].status.name, leads["L2"].status_kind) == ("Won", "lost")


def test_optional_columns_and_files_are_stored(engine: Engine, tmp_path: Path) -> None:
    result = load_dataset(engine, write(tmp_path / "ds", full_files()))
    assert list(result.counts)[-3:] == ["integrations.csv", "lead_form_fields.csv", "users.csv"]
    assert result.counts["pipeline.csv"] == 3
    with Session(engine) as s:
        channels = {c.ext_id: c for c in s.scalars(select(Channel))}
        c1, c2 = channels["c1"], channels["c2"]
        assert s.scalars(select(Partner.notes).where(Partner.ext_id == "p1")).one() == (
            "Prefers quarterly reviews"
        )
        assert (c1.description, c2.description) == (None, "EU resale")
        r1, r2 = s.scalars(select(Reward).order_by(Reward.ext_id))
        assert (r1.payment_reference, r1.rejected_at, r1.reject_reason) == ("INV-7", None, None)
        assert (r2.status, r2.rejected_at, r2.payment_reference, r2.reject_reason) == (
            "rejected",
            datetime(2026, 5, 4, 7, 0),  # 08:00 at +01:00
            None,
            "Duplicate lead",
        )
        report = s.scalars(select(RewardReport)).one()
        assert (report.period_end, report.flag_note) == (date(2026, 5, 31), "Check L2 amount")

        i1, i2 = s.scalars(select(Integration).order_by(Integration.ext_id))
        assert (i1.channel_id, i1.kind, i1.state, i1.last_sync_at, i1.last_error) == (
            c1.id,
            "hubspot",
            "error",
            datetime(2026, 5, 20, 6, 0),
            "401 Unauthorized",
        )
        assert (i2.channel_id, i2.state, i2.last_sync_at, i2.last_error) == (
            c2.id,
            "connected",  # the default
            None,
            None,
        )
        fields = s.scalars(select(LeadFormField).order_by(LeadFormField.field))
        assert [(f.channel_id, f.field, f.label, f.required, f.position) for f in fields] == [
            (c1.id, "email", None, False, 0),  # defaults: not required, position 0
            (c1.id, "industry", "Industry", True, 2),
        ]
        users = s.scalars(select(StaffUser).order_by(StaffUser.ext_id))
        assert [(u.ext_id, u.email, u.name, u.role) for u in users] == [
            ("u1", "ann@acme.test", "Ann", "finance"),
            ("u2", "bob@acme.test", None, "viewer"),
        ]


def test_keyless_files_upsert_by_their_natural_key(engine: Engine, tmp_path: Path) -> None:
    files = full_files()
    load_dataset(engine, write(tmp_path / "one", files))
    with Session(engine) as s:
        history_ids = sorted(s.scalars(select(LeadStatusChange.id)))
    files["lead_status_history.csv"][1]["from_status"] = "In progress"
    # The same event twice in one file is one event: the last row wins.
    files["lead_status_history.csv"].append(
        dict(files["lead_status_history.csv"][1], from_status="Meeting booked")
    )
    files["lead_form_fields.csv"][0].update(label="Sector", required="false")
    load_dataset(engine, write(tmp_path / "two", files))
    with Session(engine) as s:
        history = s.scalars(select(LeadStatusChange).order_by(LeadStatusChange.id)).all()
        assert [h.id for h in history] == history_ids
        assert [(h.from_status, h.to_status) for h in history] == [
            (None, "New lead"),
            ("Meeting booked", "Won"),
        ]
        field = s.scalars(select(LeadFormField).where(LeadFormField.field == "industry")).one()
        assert (field.label, field.required) == ("Sector", False)
        assert count(s, LeadFormField, history[0].org_id) == 2


def test_a_user_email_held_by_another_user_fails_the_whole_load(
    engine: Engine, tmp_path: Path
) -> None:
    files = full_files()
    load_dataset(engine, write(tmp_path / "one", files))
    before = table_dump(engine)
    files["users.csv"] = [{"id": "u3", "email": "ann@acme.test", "name": "Ann B", "role": "admin"}]
    files["leads.csv"][0]["deal_value"] = "1.00"  # a change that must not be kept
    with pytest.raises(DatasetInvalid) as info:
        load_dataset(engine, write(tmp_path / "two", files))
    assert [str(p) for p in info.value.problems] == [
        "users.csv:2: email: already used by user 'u1'"
    ]
    assert table_dump(engine) == before

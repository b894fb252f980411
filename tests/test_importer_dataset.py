"""Loading a small, hand-written dataset: what lands in every table, on both databases.

`base_files()` is the valid dataset the other importer tests change one cell at a time; its
rows are listed with every column so line numbers can be counted by eye (header = line 1).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.importer import LoadResult, load_dataset
from domain.models import (
    Base,
    Channel,
    Lead,
    LeadStatusChange,
    Organization,
    Partner,
    PipelineStatus,
    Purchase,
    Reward,
    RewardReport,
    RewardTrigger,
)
from tests.datasets import write_dataset

Files = dict[str, list[dict[str, object]]]


def _lead(ext_id: str, channel: str, status: str, created: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": ext_id,
        "channel_id": channel,
        "contact_name": f"Contact {ext_id}",
        "company_name": f"Company {ext_id}",
        "email": f"{ext_id.lower()}@example.test",
        "phone": "",
        "source": "web",
        "notes": "",
        "deal_value": "",
        "status": status,
        "created_at": created,
        "status_changed_at": "",
        "owner": "sam",
        "industry": "",
    }
    row.update(kw)
    return row


def base_files() -> Files:
    """Two partners, two channels (USD, EUR), three leads and one of everything else."""
    return {
        "partners.csv": [
            {"id": "p1", "name": "Acme Partners", "email": "hi@acme.test", "tier": "gold"},
            {"id": "p2", "name": "Beta Resellers", "email": "", "tier": ""},
        ],
        "channels.csv": [
            {
                "id": "c1",
                "partner_id": "p1",
                "name": "Acme Referral",
                "status": "active",
                "currency": "USD",
                "created_at": "2026-01-05",
            },
            {
                "id": "c2",
                "partner_id": "p2",
                "name": "Beta Resell",
                "status": "Paused",
                "currency": "eur",
                "created_at": "",
            },
        ],
        "leads.csv": [
            _lead("L1", "c1", "New lead", "2026-05-01T09:00:00Z", industry="Retail"),
            _lead(
                "L2",
                "c1",
                "won",
                "2026-05-02T10:00:00Z",
                status_changed_at="2026-05-10T12:00:00Z",
                deal_value="1000.00",
            ),
            _lead("L3", "c2", "IN PROGRESS", "2026-05-03", deal_value="250.5"),
        ],
        "lead_status_history.csv": [
            {
                "lead_id": "L2",
                "from_status": "",
                "to_status": "new lead",
                "changed_at": "2026-05-02T10:00:00Z",
            },
            {
                "lead_id": "L2",
                "from_status": "New Lead",
                "to_status": "WON",
                "changed_at": "2026-05-10T12:00:00Z",
            },
        ],
        "reward_triggers.csv": [
            {
                "id": "t1",
                "channel_id": "c1",
                "name": "Won bonus",
                "event": "status_reached",
                "status": "won",
                "amount_type": "percentage",
                "amount": "10",
                "requires_approval": "true",
                "active": "TRUE",
            },
            {
                "id": "t2",
                "channel_id": "c2",
                "name": "Per lead",
                "event": "lead_submitted",
                "status": "",
                "amount_type": "fixed",
                "amount": "25.00",
                "requires_approval": "",
                "active": "false",
            },
        ],
        "purchases.csv": [
            {
                "id": "pu1",
                "lead_id": "L2",
                "amount": "500.00",
                "occurred_at": "2026-05-12T08:00:00Z",
            }
        ],
        "reward_reports.csv": [
            {
                "id": "rr1",
                "channel_id": "c1",
                "period_start": "2026-05-01",
                "period_end": "2026-05-31",
            }
        ],
        "rewards.csv": [
            {
                "id": "r1",
                "channel_id": "c1",
                "lead_id": "L2",
                "trigger_id": "t1",
                "report_id": "rr1",
                "amount": "100.00",
                "status": "approved",
                "created_at": "2026-05-10T12:00:00Z",
                "approved_at": "2026-05-11T09:00:00Z",
                "paid_at": "",
            },
            {
                "id": "r2",
                "channel_id": "c2",
                "lead_id": "L3",
                "trigger_id": "t2",
                "report_id": "",
                "amount": "25",
                "status": "awaiting_review",
                "created_at": "2026-05-03",
                "approved_at": "",
                "paid_at": "",
            },
        ],
    }


def write(folder: Path, files: Files) -> Path:
    return write_dataset(folder, files)


def table_dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by primary key."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))
            ]
            for table in Base.metadata.sorted_tables
        }


def row_counts(engine: Engine) -> dict[str, int]:
    return {name: len(rows) for name, rows in table_dump(engine).items()}


def test_base_dataset_loads_with_counts_in_contract_order(engine: Engine, tmp_path: Path) -> None:
    result = load_dataset(engine, write(tmp_path / "ds", base_files()))
    assert result == LoadResult(
        "default",
        {
            "partners.csv": 2,
            "channels.csv": 2,
            "leads.csv": 3,
            "lead_status_history.csv": 2,
            "reward_triggers.csv": 2,
            "purchases.csv": 1,
            "reward_reports.csv": 1,
            "rewards.csv": 2,
        },
    )
    assert list(result.counts) == [
        "partners.csv",
        "channels.csv",
        "leads.csv",
        "lead_status_history.csv",
        "reward_triggers.csv",
        "purchases.csv",
        "reward_reports.csv",
        "rewards.csv",
    ]


def test_every_value_lands_typed(engine: Engine, tmp_path: Path) -> None:
    load_dataset(engine, write(tmp_path / "ds", base_files()), org_slug="acme")
    with Session(engine) as s:
        org = s.scalars(select(Organization)).one()
        assert (org.slug, org.name) == ("acme", "Acme")
        p1, p2 = s.scalars(select(Partner).order_by(Partner.ext_id))
        assert (p1.name, p1.email, p1.tier) == ("Acme Partners", "hi@acme.test", "gold")
        assert (p2.email, p2.tier) == (None, None)  # empty cells mean "not given"
        c1, c2 = s.scalars(select(Channel).order_by(Channel.ext_id))
        assert (c1.partner_id, c1.status, c1.currency) == (p1.id, "active", "USD")
        assert c1.created_at == datetime(2026, 1, 5)  # a bare date is midnight UTC
        # "Paused" and "eur" are stored canonical: the enum value and an upper-case code.
        assert (c2.partner_id, c2.status, c2.currency, c2.created_at) == (
            p2.id,
            "paused",
            "EUR",
            None,
        )

        leads = {lead.ext_id: lead for lead in s.scalars(select(Lead))}
        l1, l2, l3 = leads["L1"], leads["L2"], leads["L3"]
        assert l1.status.name == "New lead" and l1.status_kind == "open"
        assert l1.created_at == datetime(2026, 5, 1, 9, 0)
        assert l1.status_changed_at == l1.created_at  # status_changed_at defaults to created_at
        assert l1.deal_value is None
        assert l1.properties == {"industry": "Retail"}
        assert l2.properties == {}  # empty custom values are not kept
        # "won" matches case-insensitively and is stored in the pipeline's spelling.
        assert (l2.status.name, l2.status_kind) == ("Won", "won")
        assert l2.status_changed_at == datetime(2026, 5, 10, 12, 0)
        assert l2.deal_value == Decimal("1000.00")
        assert (l3.status.name, l3.status.channel_id, l3.channel_id) == (
            "In progress",
            c2.id,
            c2.id,
        )
        assert l3.deal_value == Decimal("250.50")
        assert (l1.contact_name, l1.company_name, l1.email, l1.phone, l1.owner) == (
            "Contact L1",
            "Company L1",
            "l1@example.test",
            None,
            "sam",
        )

        history = s.scalars(select(LeadStatusChange).order_by(LeadStatusChange.changed_at)).all()
        assert [(h.lead_id, h.from_status, h.to_status, h.changed_at) for h in history] == [
            (l2.id, None, "New lead", datetime(2026, 5, 2, 10, 0)),
            (l2.id, "New lead", "Won", datetime(2026, 5, 10, 12, 0)),
        ]

        t1, t2 = s.scalars(select(RewardTrigger).order_by(RewardTrigger.ext_id))
        assert (t1.channel_id, t1.event, t1.status, t1.amount_type, t1.amount) == (
            c1.id,
            "status_reached",
            "Won",
            "percentage",
            Decimal("10.00"),
        )
        assert (t1.requires_approval, t1.active) == (True, True)
        assert (t2.status, t2.requires_approval, t2.active) == (None, True, False)  # default true

        purchase = s.scalars(select(Purchase)).one()
        assert (purchase.lead_id, purchase.amount, purchase.occurred_at) == (
            l2.id,
            Decimal("500.00"),
            datetime(2026, 5, 12, 8, 0),
        )
        report = s.scalars(select(RewardReport)).one()
        assert (report.channel_id, report.period_start, report.period_end) == (
            c1.id,
            date(2026, 5, 1),
            date(2026, 5, 31),
        )
        r1, r2 = s.scalars(select(Reward).order_by(Reward.ext_id))
        assert (r1.channel_id, r1.lead_id, r1.trigger_id, r1.report_id) == (
            c1.id,
            l2.id,
            t1.id,
            report.id,
        )
        assert (r1.amount, r1.status, r1.approved_at, r1.paid_at) == (
            Decimal("100.00"),
            "approved",
            datetime(2026, 5, 11, 9, 0),
            None,
        )
        assert (r2.report_id, r2.amount, r2.status, r2.event_key) == (
            None,
            Decimal("25.00"),
            "awaiting_review",
            None,
        )


def test_default_pipeline_is_materialised_per_channel(engine: Engine, tmp_path: Path) -> None:
    load_dataset(engine, write(tmp_path / "ds", base_files()))
    with Session(engine) as s:
        for channel in s.scalars(select(Channel)):
            steps = s.scalars(
                select(PipelineStatus)
                .where(PipelineStatus.channel_id == channel.id)
                .order_by(PipelineStatus.position)
            ).all()
            assert [(p.name, p.name_key, p.kind, p.position, p.is_first) for p in steps] == [
                ("New lead", "new lead", "open", 1, True),
                ("In progress", "in progress", "open", 2, False),
                ("Meeting booked", "meeting booked", "open", 3, False),
                ("Won", "won", "won", 4, False),
                ("Lost", "lost", "lost", 5, False),
            ]


def test_loading_fires_no_triggers(engine: Engine, tmp_path: Path) -> None:
    """L1 and L3 were submitted and L2 won, yet only the two rewards of rewards.csv exist."""
    load_dataset(engine, write(tmp_path / "ds", base_files()))
    with Session(engine) as s:
        assert sorted(s.scalars(select(Reward.ext_id))) == ["r1", "r2"]


def test_progress_reports_each_file_to_its_total(engine: Engine, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    load_dataset(engine, write(tmp_path / "ds", base_files()), progress=lambda *a: calls.append(a))
    last = {name: (done, total) for name, done, total in calls}
    assert last == {
        "partners.csv": (2, 2),
        "channels.csv": (2, 2),
        "leads.csv": (3, 3),
        "lead_status_history.csv": (2, 2),
        "reward_triggers.csv": (2, 2),
        "purchases.csv": (1, 1),
        "reward_reports.csv": (1, 1),
        "rewards.csv": (2, 2),
    }


def test_the_demo_datasets_load_without_problems(engine: Engine) -> None:
    fixtures = Path(__file__).resolve().parent.parent / "evals" / "fixtures"
    demo = load_dataset(engine, fixtures / "demo", org_slug="default")
    other = load_dataset(engine, fixtures / "other-org", org_slug="other")
    assert demo.counts["leads.csv"] > 0 and other.counts["leads.csv"] > 0

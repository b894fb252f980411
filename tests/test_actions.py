"""The action layer: dry-run previews change nothing, real runs are audited and happen once,
roles are enforced, and 50 concurrent payers change a reward exactly once (SQLite and PG)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.actions import ActionInvalid, describe, parse_args, perform, preview
from domain.idempotency import By
from domain.models import AuditEntry, Lead, Purchase, Reward, RewardReport
from domain.permissions import NotAllowed
from tests.builders import World

BY = By("ana@acme.test", "api", "thread-1")


def _world(engine: Engine) -> int:
    """| reward | channel (currency) | amount | status          |
    | A1     | US (USD)           | 100.00 | awaiting_review |
    | A2     | US (USD)           |  50.25 | awaiting_review |
    | A3     | EU (EUR)           |  80.00 | awaiting_review |
    | AP1    | US (USD)           | 200.00 | approved        |
    | P1     | US (USD)           |  75.50 | paid            |
    Lead L1 on US in "Meeting booked"; a status trigger pays 300 on "Won"; report RR1 on US.
    """
    with Session(engine, expire_on_commit=False) as s:
        w = World.create(s)
        us = w.channel("US", ext_id="US", currency="USD")
        eu = w.channel("EU", ext_id="EU", currency="EUR")
        for ext_id, ch, amount, status in [
            ("A1", us, "100.00", "awaiting_review"),
            ("A2", us, "50.25", "awaiting_review"),
            ("A3", eu, "80.00", "awaiting_review"),
            ("AP1", us, "200.00", "approved"),
            ("P1", us, "75.50", "paid"),
        ]:
            w.reward(ch, amount, status, ext_id=ext_id)
        w.lead(us, "Meeting booked", ext_id="L1", deal_value="1000")
        w.trigger(us, "status_reached", "300", status="Won")
        w.report(us, date(2026, 1, 1), date(2026, 1, 31), ext_id="RR1")
        s.commit()
        return w.org.id


def _statuses(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return dict(s.execute(select(Reward.ext_id, Reward.status)).all())


def _audit_count(engine: Engine, action: str) -> int:
    with Session(engine) as s:
        stmt = select(func.count()).where(AuditEntry.action == action)
        return s.scalar(stmt) or 0


def test_preview_shows_the_change_and_writes_nothing(engine: Engine) -> None:
    org = _world(engine)
    before = _statuses(engine)
    args = parse_args("approve_rewards", {"reward_ids": ["A1", "A3", "AP1", "NOPE"]})
    outcome = preview(engine, org, "approve_rewards", args, BY, "manager")
    assert [(c.id, c.from_state, c.to_state) for c in outcome.changes] == [
        ("A1", "awaiting_review", "approved"),
        ("A3", "awaiting_review", "approved"),
    ]
    assert outcome.totals.to_json() == {"EUR": "80.00", "USD": "100.00"}  # never added up
    assert dict(outcome.skipped) == {
        "AP1": "already approved",
        "NOPE": "no such reward in this organization",
    }
    assert _statuses(engine) == before
    assert _audit_count(engine, "reward.approve") == 0
    text = describe(outcome, args, done=False)
    assert "Approve 2 rewards" in text and "EUR 80.00" in text and "USD 100.00" in text


def test_perform_changes_once_per_key_and_audits_who_and_where(engine: Engine) -> None:
    org = _world(engine)
    args = parse_args("mark_rewards_paid", {"reward_ids": ["AP1"], "reference": "TR-9"})
    for _ in range(2):
        with Session(engine) as s:
            done = perform(s, org, "mark_rewards_paid", args, BY, "finance", "key-1")
            s.commit()
    assert done.replayed and [c.id for c in done.changes] == ["AP1"]
    assert _statuses(engine)["AP1"] == "paid"
    with Session(engine) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "reward.mark_paid")).one()
        assert (entry.actor, entry.surface, entry.thread_id) == ("ana@acme.test", "api", "thread-1")
        assert entry.before == {"status": "approved"}
        assert entry.after["reference"] == "TR-9"
        paid_ref = s.scalar(select(Reward.payment_reference).where(Reward.ext_id == "AP1"))
    assert paid_ref == "TR-9"


@pytest.mark.parametrize(
    ("role", "kind", "allowed"),
    [
        ("viewer", "approve_rewards", False),
        ("finance", "approve_rewards", False),
        ("manager", "approve_rewards", True),
        ("manager", "mark_rewards_paid", False),
        ("finance", "mark_rewards_paid", True),
        ("admin", "mark_rewards_paid", True),
        ("viewer", "move_lead", False),
        ("nobody", "flag_reward_report", False),
    ],
)
def test_roles(sqlite_engine: Engine, role: str, kind: str, allowed: bool) -> None:
    org = _world(sqlite_engine)
    raw = {"approve_rewards": {"reward_ids": ["A1"]}, "mark_rewards_paid": {"reward_ids": ["AP1"]}}
    raw |= {"move_lead": {"lead_id": "L1", "status": "Won"}}
    raw |= {"flag_reward_report": {"report_id": "RR1", "note": "?"}}
    args = parse_args(kind, raw[kind])
    if allowed:
        assert preview(sqlite_engine, org, kind, args, BY, role).changes
        return
    with pytest.raises(NotAllowed, match="role"):
        preview(sqlite_engine, org, kind, args, BY, role)
    with Session(sqlite_engine) as s, pytest.raises(NotAllowed):
        perform(s, org, kind, args, BY, role)


def test_moving_a_lead_to_won_creates_its_reward_once(engine: Engine) -> None:
    org = _world(engine)
    args = parse_args("move_lead", {"lead_id": "L1", "status": "won"})
    shown = preview(engine, org, "move_lead", args, BY, "manager")
    assert [(c.record, c.from_state, c.to_state) for c in shown.changes] == [
        ("lead", "Meeting booked", "Won")
    ]
    assert [(c.id, c.amount, c.currency) for c in shown.created] == [("(new)", "300.00", "USD")]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Reward)) == 5  # preview wrote nothing
        done = perform(s, org, "move_lead", args, BY, "manager", "move-1")
        s.commit()
    assert len(done.created) == 1 and done.created[0].id.startswith("rw-")
    with Session(engine) as s:
        again = perform(s, org, "move_lead", args, BY, "manager")  # a second, new request
        s.commit()
        assert again.skipped == [("L1", "already in Won")]
        assert s.scalar(select(func.count()).select_from(Reward)) == 6
        assert s.scalar(select(Lead.status_kind).where(Lead.ext_id == "L1")) == "won"


def test_record_purchase_and_flag_report(engine: Engine) -> None:
    org = _world(engine)
    buy = parse_args("record_purchase", {"lead_id": "L1", "amount": "1200.50"})
    flag = parse_args("flag_reward_report", {"report_id": "RR1", "note": "Which deal is A2?"})
    with Session(engine) as s:
        bought = perform(s, org, "record_purchase", buy, BY, "manager")
        perform(s, org, "flag_reward_report", flag, BY, "admin")
        s.commit()
    assert [(c.record, c.amount, c.currency) for c in bought.changes] == [
        ("purchase", "1200.50", "USD")
    ]
    with Session(engine) as s:
        assert s.scalar(select(Purchase.amount)) == Decimal("1200.50")
        assert s.scalar(select(RewardReport.flag_note)) == "Which deal is A2?"


def test_unknown_records_and_bad_arguments_are_clear_errors(sqlite_engine: Engine) -> None:
    org = _world(sqlite_engine)
    with pytest.raises(ActionInvalid, match="No lead 'L404'"):
        preview(
            sqlite_engine,
            org,
            "move_lead",
            parse_args("move_lead", {"lead_id": "L404", "status": "Won"}),
            BY,
            "admin",
        )
    with pytest.raises(ActionInvalid, match="not a status"):
        args = parse_args("move_lead", {"lead_id": "L1", "status": "Teleported"})
        preview(sqlite_engine, org, "move_lead", args, BY, "admin")
    with pytest.raises(ValueError):
        parse_args("record_purchase", {"lead_id": "L1", "amount": "-5"})
    with pytest.raises(ValueError):
        parse_args("approve_rewards", {"reward_ids": []})


def _pay_concurrently(engine: Engine, org: int, keys: list[str | None]) -> list[list[str]]:
    """len(keys) callers in threads mark AP1 paid at the same moment."""
    barrier = threading.Barrier(len(keys))
    args = parse_args("mark_rewards_paid", {"reward_ids": ["AP1"]})

    def pay(n: int) -> list[str]:
        with Session(engine) as s:
            barrier.wait()
            by = By(f"staff-{n}", "api", f"thread-{n}")
            done = perform(s, org, "mark_rewards_paid", args, by, "finance", keys[n])
            s.commit()
            return [c.id for c in done.changes]

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(pay, range(len(keys))))


def test_fifty_people_marking_one_reward_paid_change_it_once(engine: Engine) -> None:
    org = _world(engine)
    results = _pay_concurrently(engine, org, [None] * 50)
    assert sorted(map(len, results)) == [0] * 49 + [1]
    assert _audit_count(engine, "reward.mark_paid") == 1
    assert _statuses(engine)["AP1"] == "paid"


def test_fifty_retries_of_one_request_change_it_once(engine: Engine) -> None:
    org = _world(engine)
    results = _pay_concurrently(engine, org, ["double-click"] * 50)
    assert results == [["AP1"]] * 50  # every retry answers with the one result
    assert _audit_count(engine, "reward.mark_paid") == 1
    assert _audit_count(engine, "action.mark_rewards_paid") == 1

"""The reward engine: triggers firing on lead events, and audited, once-only state moves."""

from __future__ import annotations

import threading
import time as clock
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain import audit
from domain.idempotency import IdempotencyKeyReused
from domain.lead_events import (
    InvalidLeadEvent,
    UnknownChannel,
    UnknownLead,
    move_lead,
    record_purchase,
    submit_lead,
)
from domain.models import AuditEntry, Channel, Lead, LeadStatusChange, Reward
from domain.reward_engine import (
    MoveResult,
    approve_rewards,
    mark_rewards_paid,
    on_lead_submitted,
    on_purchase_recorded,
    on_status_reached,
    reject_rewards,
)
from tests.builders import World

D = Decimal
BY = {"actor": "ana@acme.test", "surface": "cli"}


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour)


def _rewards(session: Session, lead: Lead) -> list[Reward]:
    return list(
        session.scalars(select(Reward).where(Reward.lead_id == lead.id).order_by(Reward.id))
    )


def _world(session: Session) -> tuple[World, Channel]:
    w = World.create(session)
    return w, w.channel("Direct", ext_id="C1", currency="USD")


# --- firing: lead_submitted ------------------------------------------------------------------


def test_submitted_lead_fires_a_fixed_trigger_awaiting_review(session: Session) -> None:
    w, ch = _world(session)
    trig = w.trigger(ch, "lead_submitted", "25", ext_id="T1", requires_approval=True)

    result = submit_lead(
        session, w.org.id, "C1", **BY, thread_id="th-1", now=at(10), ext_id="L-1",
        company_name="Acme", deal_value="900",
    )  # fmt: skip

    lead = result.lead
    assert (result.to_status, lead.status_kind, lead.created_at) == ("New lead", "open", at(10))
    (reward,) = result.rewards
    assert (reward.amount, reward.status, reward.approved_at) == (
        D("25.00"),
        "awaiting_review",
        None,
    )
    assert (reward.trigger_id, reward.event_key, reward.base_amount) == (
        trig.id,
        f"lead:{lead.id}",
        None,
    )
    assert reward.created_at == at(10) and reward.ext_id.startswith("rw-")
    history = session.scalars(select(LeadStatusChange).where(LeadStatusChange.lead_id == lead.id))
    assert [(h.from_status, h.to_status, h.changed_at) for h in history] == [
        (None, "New lead", at(10))
    ]
    created = audit.history(session, w.org.id, "reward", reward.ext_id)
    assert [(e.action, e.actor, e.thread_id) for e in created] == [
        ("reward.created", "ana@acme.test", "th-1")
    ]
    assert [e.action for e in audit.history(session, w.org.id, "lead", "L-1")] == ["lead.submit"]


def test_trigger_without_approval_creates_an_approved_reward(session: Session) -> None:
    w, ch = _world(session)
    w.trigger(ch, "lead_submitted", "10", requires_approval=False)
    (reward,) = submit_lead(session, w.org.id, ch, **BY, now=at(10)).rewards
    assert (reward.status, reward.approved_at) == ("approved", at(10))


def test_inactive_and_other_channels_triggers_do_not_fire(session: Session) -> None:
    w, ch = _world(session)
    other = w.channel("Other", ext_id="C2")
    w.trigger(ch, "lead_submitted", "10", active=False)
    w.trigger(other, "lead_submitted", "10")
    w.trigger(ch, "purchase", "10")  # another event
    assert submit_lead(session, w.org.id, ch, **BY, now=at(10)).rewards == []


def test_lead_submitted_fires_once_even_when_called_again(session: Session) -> None:
    w, ch = _world(session)
    w.trigger(ch, "lead_submitted", "10")
    lead = submit_lead(session, w.org.id, ch, **BY, now=at(10)).lead
    assert on_lead_submitted(session, lead, now=at(11)) == []
    assert len(_rewards(session, lead)) == 1


def test_an_imported_reward_of_the_same_trigger_and_lead_counts_as_fired(session: Session) -> None:
    w, ch = _world(session)
    trig = w.trigger(ch, "lead_submitted", "10")
    won = w.trigger(ch, "status_reached", "50", status="Won")
    lead = w.lead(ch, "Meeting booked", ext_id="L-1")
    # Imported rewards carry no event key, only the trigger and the lead.
    w.reward(ch, "10", "paid", lead_id=lead.id, trigger_id=trig.id)
    w.reward(ch, "50", "approved", lead_id=lead.id, trigger_id=won.id)
    assert on_lead_submitted(session, lead, now=at(10)) == []
    assert move_lead(session, w.org.id, "L-1", "Won", **BY, now=at(10)).rewards == []
    assert len(_rewards(session, lead)) == 2


def test_submitting_enters_the_first_status(session: Session) -> None:
    """Creation is the lead's first entry into its first status, so such a trigger fires."""
    w, ch = _world(session)
    w.trigger(ch, "status_reached", "5", status="New lead")
    assert len(submit_lead(session, w.org.id, ch, **BY, now=at(10)).rewards) == 1


# --- firing: status_reached ------------------------------------------------------------------


def test_percentage_of_deal_value_rounds_half_up(session: Session) -> None:
    w, ch = _world(session)
    w.trigger(ch, "status_reached", "10", status="Won", amount_type="percentage")
    w.lead(ch, "Meeting booked", ext_id="L-1", deal_value="1234.45")

    result = move_lead(session, w.org.id, "L-1", "won", **BY, now=at(10))

    # 10% of 1234.45 = 123.445 → half-up → 123.45 (half-even would give 123.44).
    (reward,) = result.rewards
    assert (result.from_status, result.to_status) == ("Meeting booked", "Won")
    assert (reward.amount, reward.base_amount) == (D("123.45"), D("1234.45"))


def test_percentage_of_a_missing_deal_value_creates_no_reward(session: Session) -> None:
    w, ch = _world(session)
    w.trigger(ch, "status_reached", "10", status="Won", amount_type="percentage")
    w.trigger(ch, "status_reached", "40", status="Won", ext_id="T-FIXED")
    lead = w.lead(ch, "In progress", ext_id="L-1", deal_value=None)

    result = move_lead(session, w.org.id, "L-1", "Won", **BY, now=at(10))

    # Only the fixed trigger pays: 40.00.
    assert [(r.amount, r.base_amount) for r in result.rewards] == [(D("40.00"), None)]
    assert len(_rewards(session, lead)) == 1


def test_status_reached_fires_once_even_when_the_lead_re_enters(session: Session) -> None:
    w, ch = _world(session)
    w.trigger(ch, "status_reached", "100", status="Won")
    lead = w.lead(ch, "New lead", ext_id="L-1")

    assert len(move_lead(session, w.org.id, "L-1", "In progress", **BY, now=at(1)).rewards) == 0
    assert len(move_lead(session, w.org.id, "L-1", "Won", **BY, now=at(2)).rewards) == 1
    assert move_lead(session, w.org.id, "L-1", "Lost", **BY, now=at(3)).rewards == []
    assert move_lead(session, w.org.id, "L-1", "Won", **BY, now=at(4)).rewards == []
    # Called directly again for the same change (dated by the lead's last change): nothing.
    assert on_status_reached(session, lead, "Won") == []
    assert len(_rewards(session, lead)) == 1


def test_imported_lead_already_in_the_status_does_not_fire_on_return(session: Session) -> None:
    """Imported in Won without history: leaving Won shows it was there, so no reward later."""
    w, ch = _world(session)
    w.trigger(ch, "status_reached", "100", status="Won")
    lead = w.lead(ch, "Won", ext_id="L-1")
    move_lead(session, w.org.id, "L-1", "Lost", **BY, now=at(1))
    assert move_lead(session, w.org.id, "L-1", "Won", **BY, now=at(2)).rewards == []
    assert _rewards(session, lead) == []


def test_new_rewards_join_the_report_covering_their_date(session: Session) -> None:
    w, ch = _world(session)
    w.trigger(ch, "status_reached", "100", status="Won")
    w.report(ch, date(2026, 2, 1), date(2026, 2, 28), ext_id="FEB")
    march = w.report(ch, date(2026, 3, 1), date(2026, 3, 31), ext_id="MAR")
    w.lead(ch, "In progress", ext_id="L-1")
    (reward,) = move_lead(session, w.org.id, "L-1", "Won", **BY, now=at(10)).rewards
    assert reward.report_id == march.id


def test_move_lead_updates_the_lead_history_and_audit(session: Session) -> None:
    w, ch = _world(session)
    lead = w.lead(ch, "New lead", ext_id="L-1", created="2026-03-01")
    result = move_lead(session, w.org.id, "L-1", "Meeting booked", **BY, thread_id="t", now=at(9))
    assert result.changed
    assert (lead.status.name, lead.status_kind, lead.status_changed_at) == (
        "Meeting booked",
        "open",
        at(9),
    )
    (entry,) = audit.history(session, w.org.id, "lead", "L-1")
    assert (entry.action, entry.before, entry.after, entry.thread_id) == (
        "lead.move",
        {"status": "New lead"},
        {"status": "Meeting booked"},
        "t",
    )
    same = move_lead(session, w.org.id, "L-1", "meeting booked", **BY, now=at(10))
    assert not same.changed and lead.status_changed_at == at(9)


def test_lead_event_errors(session: Session) -> None:
    w, ch = _world(session)
    w.lead(ch, "New lead", ext_id="L-1")
    with pytest.raises(InvalidLeadEvent, match="New lead, In progress, Meeting booked, Won, Lost"):
        move_lead(session, w.org.id, "L-1", "Qualified", **BY)
    with pytest.raises(UnknownLead):
        move_lead(session, w.org.id, "L-404", "Won", **BY)
    with pytest.raises(UnknownChannel):
        submit_lead(session, w.org.id, "C-404", **BY)
    with pytest.raises(InvalidLeadEvent, match="already exists"):
        submit_lead(session, w.org.id, ch, **BY, ext_id="L-1")
    with pytest.raises(InvalidLeadEvent, match="non-negative"):
        record_purchase(session, w.org.id, "L-1", "-5", date(2026, 3, 1), **BY)
    with pytest.raises(InvalidLeadEvent, match="two decimal places"):
        record_purchase(session, w.org.id, "L-1", "1.234", date(2026, 3, 1), **BY)
    with pytest.raises(InvalidLeadEvent, match="not a number"):
        record_purchase(session, w.org.id, "L-1", "ten", date(2026, 3, 1), **BY)


# --- firing: purchase ------------------------------------------------------------------------


def test_purchase_trigger_fires_once_per_purchase(session: Session) -> None:
    w, ch = _world(session)
    w.trigger(ch, "purchase", "12.5", amount_type="percentage", requires_approval=False)
    lead = w.lead(ch, "Won", ext_id="L-1", deal_value="5000")

    first = record_purchase(session, w.org.id, "L-1", "0.36", date(2026, 3, 2), "PU-1", **BY,
                            now=at(10))  # fmt: skip
    second = record_purchase(session, w.org.id, "L-1", "200", datetime(2026, 3, 5, 8), **BY,
                             now=at(11))  # fmt: skip

    # 12.5% of 0.36 = 0.045 → 0.05; 12.5% of 200 = 25.00. The deal value is not the base.
    assert [r.amount for r in first.rewards + second.rewards] == [D("0.05"), D("25.00")]
    assert first.rewards[0].event_key == f"purchase:{first.purchase.id}"
    assert first.rewards[0].purchase_id == first.purchase.id
    assert first.purchase.occurred_at == datetime(2026, 3, 2)
    assert on_purchase_recorded(session, first.purchase, now=at(12)) == []
    assert len(_rewards(session, lead)) == 2


# --- moves -----------------------------------------------------------------------------------


def _ledger(session: Session) -> World:
    """| id   | channel | amount | status          |
    | A1   | US      | 100.00 | awaiting_review |
    | A2   | US      |  50.25 | awaiting_review |
    | A3   | EU      |  80.00 | awaiting_review |
    | AP1  | US      | 200.00 | approved        |
    | P1   | US      |  75.50 | paid            |
    | RJ1  | US      |  30.00 | rejected        |
    """
    w = World.create(session)
    us = w.channel("US", ext_id="US", currency="USD")
    eu = w.channel("EU", ext_id="EU", currency="EUR")
    for ext_id, ch, amount, status in [
        ("A1", us, "100.00", "awaiting_review"),
        ("A2", us, "50.25", "awaiting_review"),
        ("A3", eu, "80.00", "awaiting_review"),
        ("AP1", us, "200.00", "approved"),
        ("P1", us, "75.50", "paid"),
        ("RJ1", us, "30.00", "rejected"),
    ]:
        w.reward(ch, amount, status, ext_id=ext_id)
    return w


def _status(session: Session, org_id: int, ext_id: str) -> str:
    stmt = select(Reward.status).where(Reward.org_id == org_id, Reward.ext_id == ext_id)
    return session.scalars(stmt).one()


def _moves(session: Session, org_id: int, action: str) -> list[tuple[str, dict, dict]]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.org_id == org_id, AuditEntry.action == action)
        .where(AuditEntry.entity_type == "reward")
        .order_by(AuditEntry.entity_id)
    )
    return [(e.entity_id, e.before, e.after) for e in session.scalars(stmt)]


def test_approve_changes_awaiting_rewards_and_totals_per_currency(session: Session) -> None:
    w = _ledger(session)
    result = approve_rewards(
        session, w.org.id, ["A1", "A2", "A3"], **BY, thread_id="th", now=at(10)
    )
    assert result.changed == ["A1", "A2", "A3"] and result.skipped == []
    # USD 100.00 + 50.25 = 150.25 and EUR 80.00, never added together.
    assert result.totals.to_json() == {"EUR": "80.00", "USD": "150.25"}
    reward = session.scalars(select(Reward).where(Reward.ext_id == "A1")).one()
    assert (reward.status, reward.approved_at) == ("approved", at(10))
    assert _moves(session, w.org.id, "reward.approve") == [
        (x, {"status": "awaiting_review"}, {"status": "approved"}) for x in ("A1", "A2", "A3")
    ]
    (entry,) = audit.history(session, w.org.id, "reward", "A1")
    assert (entry.actor, entry.surface, entry.thread_id) == ("ana@acme.test", "cli", "th")


def test_illegal_moves_are_refused_per_reward(session: Session) -> None:
    w = _ledger(session)
    result = approve_rewards(session, w.org.id, ["P1", "RJ1", "AP1", "A1", "NOPE"], **BY)
    assert result.changed == ["A1"]
    assert [(s.ext_id, s.status, s.reason) for s in result.skipped] == [
        ("P1", "paid", "a reward that is paid cannot become approved"),
        ("RJ1", "rejected", "a reward that is rejected cannot become approved"),
        ("AP1", "approved", "already approved"),
        ("NOPE", None, "no such reward in this organization"),
    ]
    assert result.totals.to_json() == {"USD": "100.00"}
    assert (_status(session, w.org.id, "P1"), _status(session, w.org.id, "RJ1")) == (
        "paid",
        "rejected",
    )
    paid = mark_rewards_paid(session, w.org.id, ["A2", "RJ1"], **BY)
    assert paid.changed == [] and [s.status for s in paid.skipped] == [
        "awaiting_review",
        "rejected",
    ]
    rejected = reject_rewards(session, w.org.id, ["P1"], "late", **BY)
    assert rejected.skipped[0].reason == "a reward that is paid cannot become rejected"
    assert [m[0] for m in _moves(session, w.org.id, "reward.approve")] == ["A1"]
    assert _moves(session, w.org.id, "reward.mark_paid") == []


def test_reject_from_awaiting_review_and_from_approved(session: Session) -> None:
    w = _ledger(session)
    result = reject_rewards(session, w.org.id, ["AP1", "A1"], "duplicate lead", **BY, now=at(10))
    assert result.changed == ["AP1", "A1"]  # in the order asked
    assert result.totals.to_json() == {"USD": "300.00"}  # 100.00 + 200.00
    reward = session.scalars(select(Reward).where(Reward.ext_id == "AP1")).one()
    assert (reward.status, reward.rejected_at, reward.reject_reason) == (
        "rejected",
        at(10),
        "duplicate lead",
    )
    reason = {"status": "rejected", "reason": "duplicate lead"}
    assert _moves(session, w.org.id, "reward.reject") == [
        ("A1", {"status": "awaiting_review"}, reason),
        ("AP1", {"status": "approved"}, reason),
    ]


def test_mark_paid_with_date_and_reference(session: Session) -> None:
    w = _ledger(session)
    result = mark_rewards_paid(session, w.org.id, ["AP1", "P1"], date(2026, 3, 5), "INV-9", **BY)
    assert result.changed == ["AP1"]
    assert [(s.ext_id, s.reason) for s in result.skipped] == [("P1", "already paid")]
    reward = session.scalars(select(Reward).where(Reward.ext_id == "AP1")).one()
    assert (reward.status, reward.paid_at, reward.payment_reference) == (
        "paid",
        datetime(2026, 3, 5),
        "INV-9",
    )


def test_moves_are_scoped_to_the_organization(session: Session) -> None:
    w = _ledger(session)
    other = World.create(session, "other")
    other.reward(other.channel("X", currency="USD"), "1", "awaiting_review", ext_id="A1")
    approve_rewards(session, other.org.id, ["A1"], **BY)
    assert _status(session, w.org.id, "A1") == "awaiting_review"


def test_idempotency_key_makes_a_repeat_a_no_op(session: Session) -> None:
    w = _ledger(session)
    first = mark_rewards_paid(session, w.org.id, ["AP1"], **BY, idempotency_key="pay-7")
    # Someone approves A1 in between; repeating the paid call must not touch anything.
    approve_rewards(session, w.org.id, ["A1"], **BY)
    again = mark_rewards_paid(session, w.org.id, ["AP1", "A1"], **BY, idempotency_key="pay-7")

    assert (first.replayed, again.replayed) == (False, True)
    assert again.changed == ["AP1"] and again.totals.to_json() == {"USD": "200.00"}
    assert _status(session, w.org.id, "A1") == "approved"
    assert [m[0] for m in _moves(session, w.org.id, "reward.mark_paid")] == ["AP1"]
    with pytest.raises(IdempotencyKeyReused):
        approve_rewards(session, w.org.id, ["A2"], **BY, idempotency_key="pay-7")
    # Another organization may use the same key for its own call.
    other = World.create(session, "other")
    other.reward(other.channel("X"), "1", "approved", ext_id="O1")
    own = mark_rewards_paid(session, other.org.id, ["O1"], **BY, idempotency_key="pay-7")
    assert (own.replayed, own.changed) == (False, ["O1"])


# --- concurrency -----------------------------------------------------------------------------


def _committed_ledger(engine: Engine) -> int:
    with Session(engine, expire_on_commit=False) as s:
        w = _ledger(s)
        s.commit()
        return w.org.id


def _race(engine: Engine, org_id: int, key: str | None) -> list[MoveResult]:
    """Two sessions in two threads mark AP1 paid at the same moment."""
    barrier = threading.Barrier(2)

    def pay(who: str) -> MoveResult:
        with Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            result = mark_rewards_paid(
                s, org_id, ["AP1"], actor=who, surface="api", idempotency_key=key
            )
            clock.sleep(0.2)  # hold the row (and the key) so the other caller must wait
            s.commit()
            return result

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(pay, ["one", "two"]))


def _paid_entries(engine: Engine, org_id: int) -> int:
    with Session(engine) as s:
        stmt = select(func.count()).where(
            AuditEntry.org_id == org_id, AuditEntry.action == "reward.mark_paid"
        )
        return s.scalar(stmt.where(AuditEntry.entity_type == "reward")) or 0


def test_concurrent_callers_change_a_reward_exactly_once(engine: Engine) -> None:
    org_id = _committed_ledger(engine)
    results = _race(engine, org_id, key=None)
    assert sorted(len(r.changed) for r in results) == [0, 1]
    loser = next(r for r in results if not r.changed)
    assert [(s.ext_id, s.reason) for s in loser.skipped] == [("AP1", "already paid")]
    assert _paid_entries(engine, org_id) == 1


def test_concurrent_calls_with_one_idempotency_key_act_once(engine: Engine) -> None:
    org_id = _committed_ledger(engine)
    results = _race(engine, org_id, key="pay-ap1")
    assert [r.changed for r in results] == [["AP1"], ["AP1"]]  # both answer the first result
    assert sorted(r.replayed for r in results) == [False, True]
    assert _paid_entries(engine, org_id) == 1


def test_status_reached_called_by_hand_after_a_change_dates_it_by_the_lead(
    session: Session,
) -> None:
    """Without `now`, the change is the lead's `status_changed_at`: its own history entry at
    that time is not an earlier entry, so the trigger fires (once)."""
    w, ch = _world(session)
    w.trigger(ch, "status_reached", "100", status="Won")
    lead = w.lead(ch, "Won", ext_id="L-1", changed="2026-03-02")
    session.add(
        LeadStatusChange(
            org_id=w.org.id, lead_id=lead.id, from_status="In progress", to_status="Won",
            changed_at=datetime(2026, 3, 2),
        )
    )  # fmt: skip
    assert len(on_status_reached(session, lead, "Won")) == 1
    assert on_status_reached(session, lead, "Won") == []

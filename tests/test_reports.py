"""Reward reports: derived state, needs attention at the 30-day threshold, filters, detail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from domain.enums import ReportState, RewardStatus
from domain.periods import Period
from domain.reports import UnknownReport, list_reports, report_detail
from domain.reward_engine import flag_report
from tests.builders import World

D = Decimal
TODAY = date(2026, 3, 31)


def _scene(session: Session) -> World:
    """Seven reports; today is 2026-03-31 and payout_overdue_days is 30.

    | report | channel | period                  | rewards                  | days after end |
    | R1     | US      | 2026-01-01 … 2026-01-31 | aw 100, ap 200, pd 50    | 59 |
    | R2     | US      | 2026-02-01 … 2026-03-01 | ap 30, ap 45.50, pd 10   | 30 |
    | R3     | US      | 2026-02-01 … 2026-02-28 | ap 10                    | 31 |
    | R4     | US      | 2025-12-01 … 2025-12-31 | pd 20, pd 5              | 90 |
    | R5     | US      | 2025-11-01 … 2025-11-30 | rj 15                    | 121 |
    | R6     | US      | 2026-03-01 … 2026-03-31 | none                     | 0 |
    | R7     | EU      | 2026-01-01 … 2026-01-31 | aw 40, aw 60             | 59 |
    (aw awaiting_review, ap approved, pd paid, rj rejected)
    """
    w = World.create(session)
    partner = w.partner("Northwind", ext_id="P1")
    us = w.channel("Northwind US", partner, ext_id="US", currency="USD")
    eu = w.channel("Northwind EU", partner, ext_id="EU", currency="EUR")
    spec = {
        "R1": (us, "2026-01-01", "2026-01-31", [("awaiting_review", "100"), ("approved", "200"),
                                                ("paid", "50")]),
        "R2": (us, "2026-02-01", "2026-03-01", [("approved", "30"), ("approved", "45.50"),
                                                ("paid", "10")]),
        "R3": (us, "2026-02-01", "2026-02-28", [("approved", "10")]),
        "R4": (us, "2025-12-01", "2025-12-31", [("paid", "20"), ("paid", "5")]),
        "R5": (us, "2025-11-01", "2025-11-30", [("rejected", "15")]),
        "R6": (us, "2026-03-01", "2026-03-31", []),
        "R7": (eu, "2026-01-01", "2026-01-31", [("awaiting_review", "40"),
                                                ("awaiting_review", "60")]),
    }  # fmt: skip
    for ext_id, (channel, start, end, rewards) in spec.items():
        report = w.report(
            channel, date.fromisoformat(start), date.fromisoformat(end), ext_id=ext_id
        )
        for n, (status, amount) in enumerate(rewards, start=1):
            w.reward(channel, amount, status, start, ext_id=f"{ext_id}-{n}", report_id=report.id)
    # Another organization with the same report id and an awaiting reward: never counted.
    other = World.create(session, "other")
    och = other.channel("Elsewhere", ext_id="US")
    rep = other.report(och, date(2026, 1, 1), date(2026, 1, 31), ext_id="R1")
    other.reward(och, "999", "awaiting_review", ext_id="X", report_id=rep.id)
    return w


def _by_id(session: Session, org_id: int, **kw: object) -> dict:
    rows, _ = list_reports(session, org_id, TODAY, limit=100, **kw)  # type: ignore[arg-type]
    return {r.ext_id: r for r in rows}


def test_state_counts_and_totals_per_report(session: Session) -> None:
    w = _scene(session)
    rows = _by_id(session, w.org.id)
    assert {k: r.state for k, r in rows.items()} == {
        "R1": ReportState.needs_review,  # one awaiting review, whatever else it has
        "R2": ReportState.awaiting_payment,  # approved and paid, nothing awaiting
        "R3": ReportState.awaiting_payment,
        "R4": ReportState.paid,  # paid only
        "R5": ReportState.empty,  # rejected only → empty
        "R6": ReportState.empty,  # no rewards
        "R7": ReportState.needs_review,
    }
    r1 = rows["R1"]
    assert r1.counts == {
        RewardStatus.awaiting_review: 1,
        RewardStatus.approved: 1,
        RewardStatus.paid: 1,
        RewardStatus.rejected: 0,
    }
    assert r1.reward_count == 3  # and not the other organization's reward in its "R1"
    # R2: approved 30 + 45.50 = 75.50; paid 10.
    assert rows["R2"].totals[RewardStatus.approved] == D("75.50")
    assert rows["R2"].totals[RewardStatus.paid] == D("10.00")
    assert rows["R7"].currency == "EUR"
    assert rows["R7"].totals[RewardStatus.awaiting_review] == D("100.00")  # 40 + 60
    assert (rows["R6"].reward_count, rows["R6"].totals[RewardStatus.paid]) == (0, D("0.00"))
    assert (r1.channel_id, r1.channel_name, r1.partner_id, r1.partner_name) == (
        "US",
        "Northwind US",
        "P1",
        "Northwind",
    )


def test_needs_attention_and_its_reasons(session: Session) -> None:
    w = _scene(session)
    rows = _by_id(session, w.org.id)
    assert {k for k, r in rows.items() if r.needs_attention} == {"R1", "R3", "R7"}
    # R1: 2026-01-31 → 2026-03-31 is 28 (Feb) + 31 (Mar) = 59 days.
    assert rows["R1"].reasons == [
        "1 reward awaiting review (USD 100.00)",
        "1 approved reward (USD 200.00) unpaid 59 days after the period ended",
    ]
    # R2 ended 2026-03-01: exactly 30 days → not overdue yet.
    assert rows["R2"].days_since_period_end == 30
    assert (rows["R2"].needs_attention, rows["R2"].reasons) == (False, [])
    # R3 ended 2026-02-28: 31 days → overdue.
    assert rows["R3"].reasons == [
        "1 approved reward (USD 10.00) unpaid 31 days after the period ended"
    ]
    assert rows["R7"].reasons == ["2 rewards awaiting review (EUR 100.00)"]


def test_overdue_threshold_follows_the_setting(session: Session) -> None:
    w = _scene(session)
    # With 31 days allowed, R3 (31 days) is no longer overdue; R1 (59) still is.
    rows = _by_id(session, w.org.id, overdue_days=31)
    assert {k for k, r in rows.items() if r.needs_attention} == {"R1", "R7"}


def test_filters_order_and_paging(session: Session) -> None:
    w = _scene(session)
    org = w.org.id
    rows, total = list_reports(session, org, TODAY, needs_attention=True)
    # Newest period end first; R1 and R7 both end 2026-01-31 and sort by id.
    assert ([r.ext_id for r in rows], total) == (["R3", "R1", "R7"], 3)
    rows, total = list_reports(session, org, TODAY, needs_attention=False)
    assert ([r.ext_id for r in rows], total) == (["R6", "R2", "R4", "R5"], 4)
    rows, total = list_reports(session, org, TODAY, states=["empty"])
    assert ([r.ext_id for r in rows], total) == (["R6", "R5"], 2)
    rows, total = list_reports(
        session, org, TODAY, states=[ReportState.awaiting_payment, ReportState.paid]
    )
    assert [r.ext_id for r in rows] == ["R2", "R3", "R4"]
    rows, _ = list_reports(session, org, TODAY, channel_ids=["EU"])
    assert [r.ext_id for r in rows] == ["R7"]
    # Overlapping March: R2 ends 1 March, R6 is March.
    march = Period(date(2026, 3, 1), date(2026, 3, 31), "March 2026")
    rows, _ = list_reports(session, org, TODAY, period=march)
    assert [r.ext_id for r in rows] == ["R6", "R2"]
    # Overlapping 31 Jan – 1 Feb: R1, R7 (end 31 Jan) and R2, R3 (start 1 Feb).
    edge = Period(date(2026, 1, 31), date(2026, 2, 1), "between")
    rows, _ = list_reports(session, org, TODAY, period=edge)
    assert sorted(r.ext_id for r in rows) == ["R1", "R2", "R3", "R7"]
    rows, total = list_reports(session, org, TODAY, limit=2, offset=1)
    assert ([r.ext_id for r in rows], total) == (["R2", "R3"], 7)


def test_report_detail_and_flag(session: Session) -> None:
    w = _scene(session)
    detail = report_detail(session, w.org.id, "R1", TODAY)
    assert detail.report.state == ReportState.needs_review
    assert ([r.ext_id for r in detail.rewards], detail.rewards_total) == (
        ["R1-1", "R1-2", "R1-3"],
        3,
    )
    with pytest.raises(UnknownReport):
        report_detail(session, w.org.id, "R-missing", TODAY)

    flag_report(session, w.org.id, "R2", "Check L-7's deal value", actor="ana", surface="web")
    assert report_detail(session, w.org.id, "R2", TODAY).report.flag_note == (
        "Check L-7's deal value"
    )
    with pytest.raises(UnknownReport):
        flag_report(session, w.org.id, "R-missing", "x", actor="ana", surface="web")

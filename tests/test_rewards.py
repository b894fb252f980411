"""Reward queries and money: per-status counts, per-currency totals, lists, explanations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import RewardStatus
from domain.models import Channel, Lead, Reward, RewardTrigger
from domain.money import CurrencyTotals, format_money, percent_of, round_half_up
from domain.periods import Period
from domain.reward_engine import approve_rewards
from domain.rewards import (
    OUTSTANDING,
    RewardFilter,
    UnknownReward,
    explain_reward,
    list_rewards,
    reward_summary,
)
from tests.builders import World

D = Decimal
JAN = Period(date(2026, 1, 1), date(2026, 1, 31), "January 2026")
FEB = Period(date(2026, 2, 1), date(2026, 2, 28), "February 2026")


# --- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123.445", "123.45"),  # half-up, where half-even would give 123.44
        ("0.045", "0.05"),
        ("0.044999", "0.04"),
        ("2.5", "2.50"),
        ("-1.005", "-1.01"),  # half away from zero
    ],
)
def test_round_half_up_to_cents(value: str, expected: str) -> None:
    assert round_half_up(D(value)) == D(expected)


def test_percent_of() -> None:
    assert percent_of(D("1234.45"), D("10")) == D("123.45")  # 123.445 → 123.45
    assert percent_of(D("0.36"), D("12.5")) == D("0.05")  # 0.045 → 0.05
    assert percent_of(D("200"), D("7.5")) == D("15.00")


def test_currency_totals_never_add_currencies() -> None:
    totals = CurrencyTotals([("USD", D("100.10")), ("EUR", D("5")), ("USD", D("0.90"))])
    totals.add("GBP", None)
    # USD 100.10 + 0.90 = 101.00; EUR 5.00; GBP present with 0.00; sorted by currency.
    assert totals.items() == [("EUR", D("5.00")), ("GBP", D("0.00")), ("USD", D("101.00"))]
    assert totals.to_json() == {"EUR": "5.00", "GBP": "0.00", "USD": "101.00"}
    assert CurrencyTotals.from_json(totals.to_json()) == totals
    assert totals.describe() == "EUR 5.00, GBP 0.00, USD 101.00"
    assert format_money("USD", D("1234.5")) == "USD 1,234.50"
    assert not CurrencyTotals()


# --- a hand-built organization ---------------------------------------------------------------


@dataclass
class Scene:
    w: World
    us: Channel
    eu: Channel
    us2: Channel
    lead_a: Lead
    trigger: RewardTrigger


def _scene(session: Session) -> Scene:
    """Partner P1 has a USD and a EUR channel, partner P2 a USD channel.

    | reward | channel | amount | status          | created    | approved   | paid       |
    | r-aw1  | US      | 100.00 | awaiting_review | 2026-01-05 |            |            |
    | r-aw2  | US      |  50.25 | awaiting_review | 2026-02-10 |            |            |
    | r-ap1  | US      | 200.00 | approved        | 2026-01-20 | 2026-01-25 |            |
    | r-pd1  | US      |  75.50 | paid            | 2026-01-03 | 2026-01-04 | 2026-02-01 |
    | r-rj1  | US      |  30.00 | rejected        | 2026-01-15 |            |            |
    | r-aw3  | EU      |  80.00 | awaiting_review | 2026-01-31 23:59 |      |            |
    | r-ap2  | EU      | 120.00 | approved        | 2026-02-01 00:00 | 2026-02-04 |      |
    | r-ap3  | US2     |  10.00 | approved        | 2026-03-01 | 2026-03-02 |            |
    """
    w = World.create(session)
    p1 = w.partner("Northwind", ext_id="P1")
    p2 = w.partner("Globex", ext_id="P2")
    us = w.channel("Northwind US", p1, ext_id="US", currency="USD")
    eu = w.channel("Northwind EU", p1, ext_id="EU", currency="EUR")
    us2 = w.channel("Globex", p2, ext_id="US2", currency="USD")
    lead_a = w.lead(us, "Won", ext_id="L-A", company_name="Acme Ltd", deal_value="1000")
    trig = w.trigger(us, "status_reached", 10, status="Won", name="Won deal", ext_id="T1")
    report = w.report(us, date(2026, 1, 1), date(2026, 1, 31), ext_id="RR-1")
    w.reward(us, "100.00", "awaiting_review", "2026-01-05", ext_id="r-aw1", report_id=report.id)
    w.reward(us, "50.25", "awaiting_review", "2026-02-10", ext_id="r-aw2")
    w.reward(
        us, "200.00", "approved", "2026-01-20", ext_id="r-ap1", lead_id=lead_a.id,
        trigger_id=trig.id, approved_at=datetime(2026, 1, 25), report_id=report.id,
    )  # fmt: skip
    w.reward(
        us, "75.50", "paid", "2026-01-03", ext_id="r-pd1",
        approved_at=datetime(2026, 1, 4), paid_at=datetime(2026, 2, 1),
    )  # fmt: skip
    w.reward(us, "30.00", "rejected", "2026-01-15", ext_id="r-rj1")
    w.reward(eu, "80.00", "awaiting_review", "2026-01-31T23:59:00", ext_id="r-aw3")
    w.reward(
        eu, "120.00", "approved", "2026-02-01T00:00:00", ext_id="r-ap2",
        approved_at=datetime(2026, 2, 4),
    )  # fmt: skip
    w.reward(
        us2, "10.00", "approved", "2026-03-01", ext_id="r-ap3", approved_at=datetime(2026, 3, 2)
    )
    # Another organization's reward must never show up.
    other = World.create(session, "other")
    w_other_ch = other.channel("Elsewhere", ext_id="US", currency="USD")
    other.reward(w_other_ch, "999.00", "approved", "2026-01-10", ext_id="r-ap1")
    return Scene(w, us, eu, us2, lead_a, trig)


def _figures(session: Session, org_id: int, f: RewardFilter) -> dict[str, tuple[int, dict]]:
    summary = reward_summary(session, org_id, f)
    return {s.status.value: (s.count, s.totals.to_json()) for s in summary.by_status}


def test_summary_counts_and_totals_per_status_and_currency(session: Session) -> None:
    s = _scene(session)
    summary = reward_summary(session, s.w.org.id)
    assert _figures(session, s.w.org.id, RewardFilter()) == {
        # r-aw1 100.00 + r-aw2 50.25 = USD 150.25; r-aw3 EUR 80.00
        "awaiting_review": (3, {"EUR": "80.00", "USD": "150.25"}),
        # r-ap1 200.00 + r-ap3 10.00 = USD 210.00 (two partners); r-ap2 EUR 120.00
        "approved": (3, {"EUR": "120.00", "USD": "210.00"}),
        "paid": (1, {"USD": "75.50"}),
        "rejected": (1, {"USD": "30.00"}),
    }
    assert summary.count == 8  # the other organization's reward is not counted
    assert summary.get("approved").totals.get("USD") == D("210.00")


def test_summary_filters(session: Session) -> None:
    s = _scene(session)
    org = s.w.org.id
    # Outstanding = approved only: r-ap1, r-ap2, r-ap3.
    assert _figures(session, org, RewardFilter(statuses=OUTSTANDING)) == {
        "approved": (3, {"EUR": "120.00", "USD": "210.00"}),
    }
    # Partner P2 has only r-ap3.
    by_partner = _figures(session, org, RewardFilter(partner_ids=["P2"]))
    assert by_partner["approved"] == (1, {"USD": "10.00"})
    assert by_partner["awaiting_review"] == (0, {})
    # Channel EU: r-aw3 and r-ap2.
    by_channel = _figures(session, org, RewardFilter(channel_ids=["EU"]))
    assert (by_channel["awaiting_review"], by_channel["approved"]) == (
        (1, {"EUR": "80.00"}),
        (1, {"EUR": "120.00"}),
    )
    assert _figures(session, org, RewardFilter(lead_ids=["L-A"]))["approved"] == (
        1,
        {"USD": "200.00"},
    )
    # Report RR-1 holds r-aw1 and r-ap1.
    by_report = reward_summary(session, org, RewardFilter(report_id="RR-1"))
    assert by_report.count == 2
    assert reward_summary(session, org, RewardFilter(channel_ids=["nope"])).count == 0


def test_period_on_created_approved_and_paid_dates(session: Session) -> None:
    s = _scene(session)
    org = s.w.org.id
    # Created in January: r-aw1, r-ap1, r-pd1, r-rj1 and r-aw3 (31 Jan 23:59 is still January);
    # r-ap2 created 1 Feb 00:00 is not.
    assert _figures(session, org, RewardFilter(period=JAN)) == {
        "awaiting_review": (2, {"EUR": "80.00", "USD": "100.00"}),
        "approved": (1, {"USD": "200.00"}),
        "paid": (1, {"USD": "75.50"}),
        "rejected": (1, {"USD": "30.00"}),
    }
    # Paid in February: r-pd1 (paid 1 Feb); nothing was paid in January.
    paid_feb = reward_summary(session, org, RewardFilter(period=FEB, date_field="paid"))
    assert (paid_feb.count, paid_feb.get("paid").totals.to_json()) == (1, {"USD": "75.50"})
    assert reward_summary(session, org, RewardFilter(period=JAN, date_field="paid")).count == 0
    # Approved in February: r-ap2 (4 Feb) only.
    approved_feb = list_rewards(session, org, RewardFilter(period=FEB, date_field="approved"))
    assert [r.ext_id for r in approved_feb[0]] == ["r-ap2"]


def test_list_rewards_pages_and_rows(session: Session) -> None:
    s = _scene(session)
    rows, total = list_rewards(session, s.w.org.id, limit=2)
    # Newest first: r-ap3 (1 Mar), r-aw2 (10 Feb); 8 in all.
    assert total == 8
    assert [r.ext_id for r in rows] == ["r-ap3", "r-aw2"]
    page2, _ = list_rewards(session, s.w.org.id, limit=2, offset=2)
    assert [r.ext_id for r in page2] == ["r-ap2", "r-aw3"]

    (row,), total = list_rewards(session, s.w.org.id, RewardFilter(lead_ids=["L-A"]))
    assert total == 1
    assert (row.ext_id, row.channel_id, row.channel_name, row.partner_id) == (
        "r-ap1",
        "US",
        "Northwind US",
        "P1",
    )
    assert (row.lead_id, row.company_name, row.trigger_id, row.trigger_name) == (
        "L-A",
        "Acme Ltd",
        "T1",
        "Won deal",
    )
    assert (row.amount, row.currency, row.status, row.report_id) == (
        D("200.00"),
        "USD",
        RewardStatus.approved,
        "RR-1",
    )
    assert (row.created_at, row.approved_at, row.paid_at) == (
        datetime(2026, 1, 20),
        datetime(2026, 1, 25),
        None,
    )

    largest, _ = list_rewards(
        session, s.w.org.id, RewardFilter(statuses=["approved"]), 1, 0, "largest"
    )
    assert [r.ext_id for r in largest] == ["r-ap1"]


# --- explain ---------------------------------------------------------------------------------


def test_explain_percentage_reward_matching_the_rule(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Direct", ext_id="C1", currency="USD")
    lead = w.lead(ch, "Won", ext_id="L1", company_name="Initech", deal_value="1234.45")
    trig = w.trigger(
        ch, "status_reached", "10", status="Won", amount_type="percentage", ext_id="T1",
        name="10% of won deals",
    )  # fmt: skip
    w.reward(ch, "123.45", "awaiting_review", ext_id="R1", lead_id=lead.id, trigger_id=trig.id)

    approve_rewards(session, w.org.id, ["R1"], actor="finance@acme", surface="slack",
                    now=datetime(2026, 2, 3, 9, 30))  # fmt: skip
    exp = explain_reward(session, w.org.id, "R1")

    # 10% of 1234.45 = 123.445 → half-up → 123.45, which is the stored amount.
    assert (exp.base_label, exp.base_amount, exp.expected_amount) == (
        "deal value",
        D("1234.45"),
        D("123.45"),
    )
    assert exp.matches_rule is True
    assert exp.trigger is not None and exp.trigger.event == "status_reached"
    assert exp.trigger.requires_approval is True
    assert exp.lead is not None and (exp.lead.status, exp.lead.status_kind) == ("Won", "won")
    assert exp.status == RewardStatus.approved and exp.approved_at == datetime(2026, 2, 3, 9, 30)
    assert [(h.action, h.actor, h.before, h.after) for h in exp.history] == [
        ("reward.approve", "finance@acme", {"status": "awaiting_review"}, {"status": "approved"})
    ]
    text = "\n".join(exp.lines)
    assert "10% of the deal value USD 1,234.45 = 123.445" in text
    assert "USD 123.45" in text and "matches" in text
    assert "awaiting_review → approved by finance@acme (slack)" in text


def test_explain_imported_reward_that_differs_from_the_rule(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Direct", ext_id="C1", currency="EUR")
    lead = w.lead(ch, "Won", ext_id="L1", deal_value="500")
    trig = w.trigger(ch, "status_reached", "10", status="Won", amount_type="percentage")
    w.reward(ch, "60.00", "paid", ext_id="R1", lead_id=lead.id, trigger_id=trig.id,
             paid_at=datetime(2026, 3, 1), payment_reference="INV-7")  # fmt: skip

    exp = explain_reward(session, w.org.id, "R1")
    # 10% of 500 = 50.00, but 60.00 is stored.
    assert (exp.expected_amount, exp.matches_rule) == (D("50.00"), False)
    text = "\n".join(exp.lines)
    assert "differs from the rule's EUR 50.00" in text
    assert "Paid 2026-03-01 (reference INV-7)" in text


def test_explain_without_trigger_or_without_base(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Direct", ext_id="C1")
    lead = w.lead(ch, "Won", ext_id="L1", deal_value=None)
    pct = w.trigger(ch, "status_reached", "10", status="Won", amount_type="percentage")
    w.reward(ch, "40.00", "approved", ext_id="R-no-trigger", lead_id=lead.id)
    w.reward(ch, "40.00", "approved", ext_id="R-no-base", lead_id=lead.id, trigger_id=pct.id)

    bare = explain_reward(session, w.org.id, "R-no-trigger")
    assert (bare.trigger, bare.expected_amount, bare.matches_rule) == (None, None, None)
    assert "No trigger is linked" in bare.lines[1]

    no_base = explain_reward(session, w.org.id, "R-no-base")
    assert (no_base.base_amount, no_base.expected_amount, no_base.matches_rule) == (
        None,
        None,
        None,
    )
    assert "There is no deal value" in "\n".join(no_base.lines)

    with pytest.raises(UnknownReward):
        explain_reward(session, w.org.id, "R-missing")


def test_explain_purchase_and_fixed_rewards(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Shop", ext_id="C1")
    lead = w.lead(ch, "Won", ext_id="L1", deal_value="9000")
    purchase = w.purchase(lead, "0.36", "2026-02-01")
    pct = w.trigger(ch, "purchase", "12.5", amount_type="percentage", ext_id="T-P")
    fixed = w.trigger(ch, "lead_submitted", "25", ext_id="T-F", requires_approval=False)
    w.reward(ch, "0.05", "approved", ext_id="R-P", lead_id=lead.id, trigger_id=pct.id,
             purchase_id=purchase.id)  # fmt: skip
    w.reward(ch, "25.00", "approved", ext_id="R-F", lead_id=lead.id, trigger_id=fixed.id)

    on_purchase = explain_reward(session, w.org.id, "R-P")
    # 12.5% of the purchase 0.36 (not the deal value 9000) = 0.045 → 0.05.
    assert (on_purchase.base_label, on_purchase.base_amount) == ("purchase amount", D("0.36"))
    assert (on_purchase.expected_amount, on_purchase.matches_rule) == (D("0.05"), True)
    assert on_purchase.purchase_id == purchase.ext_id

    fixed_exp = explain_reward(session, w.org.id, "R-F")
    assert (fixed_exp.expected_amount, fixed_exp.matches_rule) == (D("25.00"), True)
    assert "is approved automatically" in fixed_exp.lines[1]


def test_reward_rows_are_dataclasses_of_the_stored_values(session: Session) -> None:
    """A guard on the row mapping: the tuple order of the SELECT matches the dataclass."""
    s = _scene(session)
    stored = session.scalars(
        select(Reward).where(Reward.org_id == s.w.org.id, Reward.ext_id == "r-pd1")
    ).one()
    (row,), _ = list_rewards(session, s.w.org.id, RewardFilter(statuses=["paid"]))
    assert (row.approved_at, row.paid_at, row.rejected_at) == (
        stored.approved_at,
        stored.paid_at,
        stored.rejected_at,
    )

"""list_rewards, explain_reward, list_reward_reports and list_reward_triggers on the demo
dataset (README "Rewards" and "Reward reports" facts, or raw SQL written here)."""

from __future__ import annotations

from datetime import datetime

from tests.test_tools_common import Demo, demo, demo_data, table

__all__ = ["demo", "demo_data"]


def _reward_of(demo: Demo, where: str) -> str:
    """A reward id picked with raw SQL (`where` on rewards r and leads l)."""
    return demo.scalar(
        "SELECT r.ext_id FROM rewards r LEFT JOIN leads l ON l.id = r.lead_id "
        f"WHERE r.org_id = :org AND {where}",
        org=demo.org_id,
    )


# --- list_rewards ----------------------------------------------------------------------------


def test_outstanding_means_approved_with_totals_per_currency(demo: Demo) -> None:
    payload = demo.call("list_rewards", {"status": "outstanding"})
    answer = payload["answer"]
    # README: 36 rewards approved but not paid: 12,410.01 USD and 825.00 EUR
    assert answer["count"] == 36 and answer["status"] == "approved"
    assert answer["totals"] == {"EUR": "825.00", "USD": "12410.01"}
    assert answer["by_status"] == {
        "approved": {"count": 36, "totals": {"EUR": "825.00", "USD": "12410.01"}}
    }
    assert {row["status"] for row in table(payload)} == {"approved"}
    assert len(payload["tables"][0]["rows"]) == 20 and payload["tables"][0]["left_out"] == 16


def test_every_reward_by_status(demo: Demo) -> None:
    answer = demo.call("list_rewards")["answer"]
    assert answer["count"] == 158  # README
    assert answer["by_status"] == {
        "awaiting_review": {"count": 14, "totals": {"USD": "10200.00"}},
        "approved": {"count": 36, "totals": {"EUR": "825.00", "USD": "12410.01"}},
        "paid": {"count": 103, "totals": {"EUR": "11284.56", "USD": "85231.57"}},
        "rejected": {"count": 5, "totals": {"USD": "1250.00"}},
    }
    # USD 10,200 + 12,410.01 + 85,231.57 + 1,250 ; EUR 825 + 11,284.56
    assert answer["totals"] == {"EUR": "12109.56", "USD": "109091.58"}


def test_rewards_of_the_euro_channel(demo: Demo) -> None:
    payload = demo.call("list_rewards", {"channel": "Fjord Solutions", "status": "paid"})
    assert payload["answer"]["count"] == 6
    assert payload["answer"]["totals"] == {"EUR": "11284.56"}  # README
    assert {row["currency"] for row in table(payload)} == {"EUR"}


def test_rewards_of_this_channel_and_of_a_partner(demo: Demo) -> None:
    # README, Delta: awaiting 6, approved 6, paid 20, rejected 1
    assert (
        demo.call("list_rewards", {"channel": "this"}, channel="ch-delta")["answer"]["count"] == 33
    )
    # Meridian = Granite (4 + 3 + 19) + Harbor (3 + 8 + 20)
    assert demo.call("list_rewards", {"partner": "meridian"})["answer"]["count"] == 57


def test_rewards_of_a_report_and_of_a_lead(demo: Demo) -> None:
    report = demo.call("list_rewards", {"report_id": "rpt-delta-2026-08"})
    assert report["answer"]["count"] == 3  # README: approved 3
    lead = demo.call("list_rewards", {"lead_id": "lead-0104"})
    assert [row["amount"] for row in table(lead)] == ["2456.79"]
    assert demo.call("list_rewards", {"report_id": "rpt-nope"})["error"] == (
        "No reward report 'rpt-nope'."
    )
    assert demo.call("list_rewards", {"lead_id": "lead-104"})["suggestions"] == ["lead-0104"]


def test_paid_rewards_are_dated_by_payment(demo: Demo) -> None:
    expected = demo.scalar(
        "SELECT count(*) FROM rewards WHERE org_id = :org AND status = 'paid' "
        "AND paid_at >= :lo AND paid_at < :hi",
        org=demo.org_id,
        lo=datetime(2026, 10, 1),
        hi=datetime(2026, 11, 1),
    )
    payload = demo.call("list_rewards", {"status": "paid", "period": "last month"})
    assert payload["answer"]["count"] == expected > 0
    assert payload["answer"]["dated_by"] == "paid"
    assert all(row["paid"].startswith("2026-10-") for row in table(payload))
    created = demo.scalar(
        "SELECT count(*) FROM rewards "
        "WHERE org_id = :org AND created_at >= :lo AND created_at < :hi",
        org=demo.org_id,
        lo=datetime(2026, 10, 1),
        hi=datetime(2026, 11, 1),
    )
    any_status = demo.call("list_rewards", {"period": "last month"})["answer"]
    assert (any_status["count"], any_status["dated_by"]) == (created, "created")


def test_rewards_row_bound(demo: Demo) -> None:
    message = demo.invoke("list_rewards", {"limit": 5})
    shown = message.artifact["payload"]["tables"][0]
    assert (len(shown["rows"]), shown["left_out"]) == (5, 153)
    assert len(message.artifact["data"][0]["rows"]) == 158


# --- explain_reward --------------------------------------------------------------------------


def test_explain_a_percentage_reward(demo: Demo) -> None:
    reward = _reward_of(demo, "l.ext_id = 'lead-0104'")
    answer = demo.call("explain_reward", {"reward_id": reward})["answer"]
    # README: lead-0104 (Beacon) 10% of 24,567.85 = 2,456.785 → 2,456.79
    assert answer["rule"] == "10% of the deal value"
    assert (answer["base_amount"], answer["computed_amount"], answer["amount"]) == (
        "24567.85",
        "2456.79",
        "2456.79",
    )
    assert answer["matches_rule"] is True and answer["lead"] == "lead-0104"
    assert "USD 2,456.79" in answer["explanation"]


def test_explain_a_euro_reward(demo: Demo) -> None:
    fjord = demo.call("explain_reward", {"reward_id": _reward_of(demo, "l.ext_id = 'lead-0171'")})
    # README: 10% of 18,345.55 = 1,834.555 → 1,834.56 EUR
    answer = fjord["answer"]
    assert (answer["amount"], answer["currency"], answer["base_amount"]) == (
        "1834.56",
        "EUR",
        "18345.55",
    )
    assert answer["matches_rule"] is True


def test_explain_a_purchase_reward_rule(demo: Demo) -> None:
    # rewards.csv: rw-0066 is the 5% purchase reward of lead-0011's pur-001 (2026-05-20 10:00)
    answer = demo.call("explain_reward", {"reward_id": "rw-0066"})["answer"]
    assert answer["rule"] == "5% of the purchase amount"
    assert (answer["amount"], answer["trigger"]) == ("61.73", "5% of every purchase")


def test_explain_a_purchase_reward_base(demo: Demo) -> None:
    answer = demo.call("explain_reward", {"reward_id": "rw-0066"})["answer"]
    # README: pur-001 5% of 1,234.50 = 61.725 → 61.73 (the import names no purchase: the
    # lead's purchase that gives exactly this amount is the base)
    assert (answer["base_amount"], answer["computed_amount"]) == ("1234.50", "61.73")
    assert "for purchase pur-001" in answer["explanation"]


def test_explain_a_rejected_fixed_reward(demo: Demo) -> None:
    payload = demo.call("explain_reward", {"reward_id": "rw-0095"})
    answer = payload["answer"]
    # README: rw-0095 (Atlas, fixed 500 on Won) was rejected
    assert answer["status"] == "rejected" and answer["currency"] == "USD"
    assert answer["rule"] == "fixed USD 500.00" and answer["base_amount"] is None
    events = [row["event"] for row in table(payload)]
    assert events[0] == "created" and events[-1].startswith("rejected")


def test_explain_an_unknown_reward(demo: Demo) -> None:
    payload = demo.call("explain_reward", {"reward_id": "rw-48"})
    assert payload["error"] == "No reward 'rw-48'."
    assert "rw-0048" in payload["suggestions"]


# --- reward reports --------------------------------------------------------------------------


def test_reports_needing_attention(demo: Demo) -> None:
    payload = demo.call("list_reward_reports", {"needs_attention": True})
    # README: 7 reports need attention
    assert {row["id"] for row in table(payload)} == {
        "rpt-cobalt-2026-09",
        "rpt-delta-2026-08",
        "rpt-delta-2026-10",
        "rpt-delta-2026-11",
        "rpt-granite-2026-10",
        "rpt-granite-2026-11",
        "rpt-harbor-2026-09",
    }
    assert payload["answer"]["count"] == payload["answer"]["needs_attention"] == 7
    rows = {row["id"]: row for row in table(payload)}
    assert rows["rpt-delta-2026-08"]["reasons"] == [
        "3 approved rewards (USD 450.00) unpaid 79 days after the period ended"
    ]


def test_report_states(demo: Demo) -> None:
    answer = demo.call("list_reward_reports")["answer"]
    # README: needs review delta-10, delta-11, granite-10, granite-11, harbor-09; awaiting
    # payment cobalt-09, -10, -11, delta-08, fjord-10, harbor-10; empty evergreen-08, -10
    assert answer["count"] == 26
    assert answer["states"] == {
        "needs review": 5,
        "awaiting payment": 6,
        "paid": 26 - 5 - 6 - 2,
        "empty": 2,
    }
    assert answer["needs_attention"] == 7


def test_reports_of_a_channel_in_a_state(demo: Demo) -> None:
    payload = demo.call("list_reward_reports", {"state": "awaiting payment", "channel": "cobalt"})
    rows = {row["id"]: row for row in table(payload)}
    assert set(rows) == {"rpt-cobalt-2026-09", "rpt-cobalt-2026-10", "rpt-cobalt-2026-11"}
    # README: cobalt-10 has 7 approved (7 × 200) and 1 rejected (200, not payable)
    october = rows["rpt-cobalt-2026-10"]
    assert (october["approved"], october["rejected"], october["total"]) == (
        "1400.00",
        "200.00",
        "1400.00",
    )
    assert payload["answer"]["needs_attention"] == 1


def test_reports_overlapping_a_period(demo: Demo) -> None:
    expected = demo.scalar(
        "SELECT count(*) FROM reward_reports WHERE org_id = :org "
        "AND period_start <= :hi AND period_end >= :lo",
        org=demo.org_id,
        lo=datetime(2026, 7, 1).date(),
        hi=datetime(2026, 9, 30).date(),
    )
    payload = demo.call("list_reward_reports", {"period": "Q3 2026"})
    assert payload["answer"]["count"] == expected == 17  # README: July 5, August 6, September 6


def test_one_report_with_its_rewards(demo: Demo) -> None:
    payload = demo.call("list_reward_reports", {"report_id": "rpt-harbor-2026-09"})
    answer = payload["answer"]
    # README: awaiting_review 1, approved 4; needs attention for both reasons
    assert (answer["state"], answer["needs_attention"], len(answer["reasons"])) == (
        "needs review",
        True,
        2,
    )
    assert answer["by_status"]["approved"]["count"] == 4
    assert payload["period"] == "report period (2026-09-01 to 2026-09-30)"
    assert len(table(payload)) == 5
    assert demo.call("list_reward_reports", {"report_id": "rpt-none"})["error"] == (
        "No reward report 'rpt-none'."
    )


# --- triggers ----------------------------------------------------------------------------------


def test_every_trigger(demo: Demo) -> None:
    payload = demo.call("list_reward_triggers")
    # README: 13 triggers; Atlas's lead-submitted bonus is the only inactive one
    assert payload["answer"] == {"count": 13, "active": 12}
    rows = {row["id"]: row for row in table(payload)}
    assert rows["trg-atlas-submitted"]["active"] is False
    assert (rows["trg-cobalt-submitted"]["amount"], rows["trg-cobalt-submitted"]["currency"]) == (
        "200.00",
        "USD",
    )
    assert rows["trg-cobalt-submitted"]["requires_approval"] is False  # auto-approved


def test_triggers_of_one_channel(demo: Demo) -> None:
    payload = demo.call("list_reward_triggers", {"channel": "granite"})
    assert payload["answer"] == {"count": 2, "active": 2, "channel": "Granite Group"}
    by_event = {row["event"]: row for row in table(payload)}
    # README: Won 10% with approval; purchase 5% auto-approved
    assert (by_event["purchase"]["amount"], by_event["purchase"]["currency"]) == ("5%", None)
    assert by_event["status_reached"]["status"] == "Won"
    assert by_event["status_reached"]["requires_approval"] is True

"""find_leads and get_lead on the demo dataset (README facts, or raw SQL written here)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from tests.test_tools_common import Demo, demo, demo_data, table

__all__ = ["demo", "demo_data"]

# today 2026-11-18 − 14 days = 2026-11-04: open leads changed before that day are stuck
STUCK_CUTOFF = datetime(2026, 11, 4)


def _ids(payload: dict) -> list[str]:
    return [row["id"] for row in table(payload)]


# --- find_leads ------------------------------------------------------------------------------


def test_stuck_leads_of_a_channel_longest_waiting_first(demo: Demo) -> None:
    expected = {
        r[0]
        for r in demo.rows(
            "SELECT l.ext_id FROM leads l JOIN channels c ON c.id = l.channel_id "
            "WHERE l.org_id = :org AND c.ext_id = 'ch-delta' AND l.status_kind = 'open' "
            "AND l.status_changed_at < :cutoff",
            org=demo.org_id,
            cutoff=STUCK_CUTOFF,
        )
    }
    payload = demo.call("find_leads", {"channel": "Delta Digital", "stuck": True})
    assert payload["answer"] == {"count": 7, "filters": "stuck, channel Delta Digital"}
    assert set(_ids(payload)) == expected
    # README: the six in "Meeting booked", plus one in "In progress"
    assert {"lead-0198", "lead-0206", "lead-0242", "lead-0260", "lead-0266", "lead-0284"} < expected
    days = [row["days_in_status"] for row in table(payload)]
    assert days == sorted(days, reverse=True)
    assert table(payload)[0]["id"] == "lead-0198"  # 98 days, the oldest
    assert "lead-0300" not in expected  # changed 2026-11-04: 14 days, not stuck


def test_flag_counts_across_the_organization(demo: Demo) -> None:
    # README "all" row: stuck 34, needs action 20, missing information 28 (of 360 leads)
    assert demo.call("find_leads", {"stuck": True})["answer"]["count"] == 34
    assert demo.call("find_leads", {"stuck": False})["answer"]["count"] == 360 - 34
    assert demo.call("find_leads", {"needs_action": True})["answer"]["count"] == 20
    assert demo.call("find_leads", {"missing_information": True})["answer"]["count"] == 28
    assert (
        demo.call("find_leads", {"channel": "atlas", "missing_information": True})["answer"][
            "count"
        ]
        == 14
    )


def test_needs_action_boundary(demo: Demo) -> None:
    ids = _ids(demo.call("find_leads", {"channel": "fjord", "needs_action": True}))
    assert "lead-0348" in ids  # in New lead since 2026-11-15: 3 days
    assert "lead-0349" not in ids  # since 2026-11-16: 2 days, not more than 2
    assert len(ids) == 2  # README: Fjord needs action 2


def test_missing_information_says_what_is_missing(demo: Demo) -> None:
    no_value = demo.scalar(
        "SELECT l.ext_id FROM leads l JOIN channels c ON c.id = l.channel_id "
        "WHERE l.org_id = :org AND c.ext_id = 'ch-atlas' AND l.deal_value IS NULL "
        "ORDER BY l.ext_id LIMIT 1",
        org=demo.org_id,
    )
    rows = table(demo.call("find_leads", {"channel": "atlas", "missing_information": True}))
    missing = {row["id"]: row["missing"] for row in rows}
    assert "deal value" in missing[no_value]
    # README, Atlas: no deal value 10, no email and no phone 3, no company 1
    words = Counter(word for row in rows for word in row["missing"])
    assert words == {"deal value": 10, "email and phone": 3, "company name": 1}


def test_status_names_match_in_any_case(demo: Demo) -> None:
    expected = demo.scalar(
        "SELECT count(*) FROM leads l JOIN pipeline_statuses s ON s.id = l.status_id "
        "WHERE l.org_id = :org AND lower(s.name) = 'meeting booked'",
        org=demo.org_id,
    )
    assert expected == 4 + 1 + 4 + 10 + 1 + 4 + 6 + 1  # README, per channel
    payload = demo.call("find_leads", {"status": "meeting BOOKED"})
    assert payload["answer"]["count"] == expected
    assert {row["status"] for row in table(payload)} == {"Meeting booked"}


def test_an_unknown_status_suggests_the_pipeline_statuses(demo: Demo) -> None:
    payload = demo.call("find_leads", {"status": "meeting boked"})
    assert payload["error"] == "No status 'meeting boked'."
    assert payload["suggestions"][0] == "Meeting booked"
    # Harbor's custom statuses are not Delta's
    wrong = demo.call("find_leads", {"channel": "delta", "status": "Demo scheduled"})
    assert "error" in wrong
    right = demo.call("find_leads", {"channel": "harbor", "status": "demo scheduled"})
    assert right["answer"]["count"] == 4  # README: Harbor, Demo scheduled 4


def test_status_kind(demo: Demo) -> None:
    # README: Won 4+8+5+8+6+7+21+3 = 62, plus Harbor's "Closed won" 9
    assert demo.call("find_leads", {"status_kind": "won"})["answer"]["count"] == 71


def test_period_is_on_creation(demo: Demo) -> None:
    expected = demo.scalar(
        "SELECT count(*) FROM leads WHERE org_id = :org AND created_at >= :lo AND created_at < :hi",
        org=demo.org_id,
        lo=datetime(2026, 10, 1),
        hi=datetime(2026, 11, 1),
    )
    assert expected == 10 + 1 + 8 + 9 + 0 + 7 + 9 + 6 + 0  # README, October volumes
    payload = demo.call("find_leads", {"period": "last month"})
    assert payload["answer"]["count"] == expected
    assert all(row["created"].startswith("2026-10-") for row in table(payload))


def test_owner_text_and_partner_filters(demo: Demo) -> None:
    owner = demo.scalar(
        "SELECT count(*) FROM leads WHERE org_id = :org AND lower(owner) LIKE '%priya%'",
        org=demo.org_id,
    )
    assert demo.call("find_leads", {"owner": "priya"})["answer"]["count"] == owner
    text_ = demo.scalar(
        "SELECT count(*) FROM leads WHERE org_id = :org AND ("
        "lower(coalesce(notes, '')) LIKE '%salesforce%' "
        "OR lower(coalesce(company_name, '')) LIKE '%salesforce%' "
        "OR lower(coalesce(contact_name, '')) LIKE '%salesforce%' "
        "OR lower(coalesce(email, '')) LIKE '%salesforce%')",
        org=demo.org_id,
    )
    assert text_ > 0
    assert demo.call("find_leads", {"text": "SalesForce"})["answer"]["count"] == text_
    # README: Meridian Holdings = Granite Group 60 + Harbor Labs 38
    assert demo.call("find_leads", {"partner": "Meridian"})["answer"]["count"] == 98


def test_custom_property_filter(demo: Demo) -> None:
    raw = demo.rows("SELECT properties FROM leads WHERE org_id = :org", org=demo.org_id)
    values = Counter()
    for (props,) in raw:
        props = json.loads(props) if isinstance(props, str) else props
        if props and props.get("industry"):
            values[props["industry"]] += 1
    industry, count = values.most_common(1)[0]
    payload = demo.call(
        "find_leads", {"property_name": "industry", "property_value": industry.upper()}
    )
    assert payload["answer"]["count"] == count
    assert payload["answer"]["filters"] == f"industry = {industry.upper()}"
    half = demo.call("find_leads", {"property_name": "industry"})
    assert half["error"] == "Give property_name and property_value together."


def test_filters_combine(demo: Demo) -> None:
    expected = demo.scalar(
        "SELECT count(*) FROM leads l JOIN channels c ON c.id = l.channel_id "
        "WHERE l.org_id = :org AND c.ext_id = 'ch-granite' AND l.status_kind = 'won' "
        "AND l.created_at >= :lo",
        org=demo.org_id,
        lo=datetime(2026, 1, 1),
    )
    payload = demo.call(
        "find_leads", {"channel": "granite", "status_kind": "won", "period": "this year"}
    )
    assert payload["answer"]["count"] == expected
    assert payload["answer"]["filters"] == "won leads, channel Granite Group"
    assert payload["period"] == "this year (2026-01-01 to 2026-11-18)"


def test_euro_leads_carry_their_currency(demo: Demo) -> None:
    rows = {
        row["id"]: row for row in table(demo.call("find_leads", {"channel": "fjord", "limit": 50}))
    }
    assert {row["currency"] for row in rows.values()} == {"EUR"}
    assert rows["lead-0171"]["deal_value"] == "18345.55"  # leads.csv
    assert rows["lead-0171"]["created"] == "2026-06-14"


# --- get_lead --------------------------------------------------------------------------------


def test_one_lead_with_history_and_rewards(demo: Demo) -> None:
    payload = demo.call("get_lead", {"lead_id": "lead-0104"})
    lead = payload["answer"]["lead"]
    assert lead["id"] == "lead-0104"
    assert (lead["channel"], lead["partner"]) == ("Beacon Partners", "Beacon Partners LLC")
    assert (lead["deal_value"], lead["currency"]) == ("24567.85", "USD")
    assert lead["status"] == "Won" and lead["status_kind"] == "won" and lead["stuck"] is False
    history = demo.scalar(
        "SELECT count(*) FROM lead_status_history h JOIN leads l ON l.id = h.lead_id "
        "WHERE l.org_id = :org AND l.ext_id = 'lead-0104'",
        org=demo.org_id,
    )
    assert len(table(payload, 0)) == history
    assert table(payload, 0)[0]["from"] is None  # creation
    assert table(payload, 0)[-1]["to"] == "Won"
    (reward,) = table(payload, 1)
    # README: 10% of 24,567.85 = 2,456.785 → 2,456.79
    assert (reward["amount"], reward["currency"], reward["status"]) == ("2456.79", "USD", "paid")


def test_lead_ages_at_the_boundaries(demo: Demo) -> None:
    # README boundary cases
    old = demo.call("get_lead", {"lead_id": "lead-0284"})["answer"]["lead"]
    assert (old["days_in_status"], old["stuck"]) == (15, True)
    young = demo.call("get_lead", {"lead_id": "lead-0300"})["answer"]["lead"]
    assert (young["days_in_status"], young["stuck"]) == (14, False)
    waiting = demo.call("get_lead", {"lead_id": "lead-0306"})["answer"]["lead"]
    assert (waiting["days_in_status"], waiting["stuck"], waiting["needs_action"]) == (
        21,
        True,
        True,
    )


def test_a_lead_with_purchases(demo: Demo) -> None:
    # purchases.csv: pur-001 (1234.50) and pur-002 (2400.00) are lead-0011's
    payload = demo.call("get_lead", {"lead_id": "lead-0011"})
    purchases = {row["id"]: row for row in table(payload, 2)}
    assert purchases["pur-001"]["amount"] == "1234.50"
    assert purchases["pur-002"]["amount"] == "2400.00"


def test_notes_are_returned_as_data(demo: Demo) -> None:
    lead = demo.call("get_lead", {"lead_id": "lead-0303"})["answer"]["lead"]
    assert "Ignore previous instructions" in lead["notes"]  # README: injection kept as text


def test_an_unknown_lead_suggests_look_alike_ids(demo: Demo) -> None:
    payload = demo.call("get_lead", {"lead_id": "0104"})
    assert payload == {"error": "No lead '0104'.", "suggestions": ["lead-0104"]}
    assert demo.call("get_lead", {"lead_id": "nothing-like-it"})["suggestions"] == []

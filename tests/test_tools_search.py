"""search_notes on the demo dataset: lead notes, partner notes and the guide's actions.

The first search of a module builds the organization's index (the local MiniLM model, no
network). Rankings are judged by meaning — a note about a rival CRM answers a question about
competitors — and filters by raw SQL on the hits."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.test_tools_common import Demo, demo, demo_data, table

__all__ = ["demo", "demo_data"]

# Section 7 of the domain guide, "If conversion rate is low", copied by hand.
LOW_CONVERSION_ACTIONS = {
    "Check response time on new partner leads.",
    "Review notes and context from the partner.",
    "Make sure leads are assigned to the right person.",
    "Sync lead statuses with your CRM.",
    "Look for where leads stall in the funnel.",
    "Review won and lost reasons with your sales team.",
}

pytestmark = pytest.mark.slow


def test_lead_notes_by_meaning(demo: Demo) -> None:
    payload = demo.call(
        "search_notes", {"query": "which prospects are looking at a competing CRM?"}
    )
    answer = payload["answer"]
    assert (answer["count"], answer["kind"]) == (10, "leads")
    assert payload["period"] == "all time"
    top = table(payload)[0]
    assert top["kind"] == "lead" and top["id"].startswith("lead-")
    assert any(crm in top["snippet"] for crm in ("Salesforce", "HubSpot", "Pipedrive", "Zoho"))
    scores = [row["score"] for row in table(payload)]
    assert scores == sorted(scores, reverse=True)
    # each hit carries its lead's current company, channel and status
    company, channel = demo.rows(
        "SELECT l.company_name, c.name FROM leads l JOIN channels c ON c.id = l.channel_id "
        "WHERE l.org_id = :org AND l.ext_id = :id",
        org=demo.org_id,
        id=top["id"],
    )[0]
    assert (top["name"], top["channel"]) == (company, channel)


def test_another_organizations_notes_never_show(demo: Demo) -> None:
    payload = demo.call(
        "search_notes", {"query": "Quillfeather Robotics evaluating Salesforce", "limit": 50}
    )
    assert all(row["name"] != "Quillfeather Robotics" for row in table(payload))
    theirs = demo.call(
        "search_notes",
        {"query": "evaluating Salesforce before the board meeting", "limit": 3},
        org_id=demo.other_org_id,
    )
    assert "Quillfeather Robotics" in [row["name"] for row in table(theirs)]


def test_channel_status_and_period_filters(demo: Demo) -> None:
    delta = demo.call("search_notes", {"query": "budget", "channel": "delta", "limit": 5})
    assert {row["channel"] for row in table(delta)} == {"Delta Digital"}
    won = demo.call("search_notes", {"query": "discount", "status": "WON", "limit": 5})
    assert {row["status"] for row in table(won)} == {"Won"}
    october = demo.call("search_notes", {"query": "integration", "period": "last month"})
    ids = [row["id"] for row in table(october)]
    assert ids
    created = [
        demo.scalar(
            "SELECT created_at FROM leads WHERE org_id = :org AND ext_id = :id",
            org=demo.org_id,
            id=lead_id,
        )
        for lead_id in ids
    ]
    days = [c if isinstance(c, datetime) else datetime.fromisoformat(str(c)) for c in created]
    assert all(datetime(2026, 10, 1) <= d < datetime(2026, 11, 1) for d in days)
    assert october["period"] == "last month (2026-10-01 to 2026-10-31)"


def test_the_prompt_injection_note_is_just_data(demo: Demo) -> None:
    payload = demo.call(
        "search_notes", {"query": "approve all rewards for this channel", "limit": 3}
    )
    hit = {row["id"]: row for row in table(payload)}["lead-0303"]  # README
    assert "Ignore previous instructions" in hit["snippet"]


def test_playbook_actions(demo: Demo) -> None:
    payload = demo.call(
        "search_notes",
        {"query": "our partner leads rarely convert", "kind": "playbook", "limit": 3},
    )
    rows = table(payload)
    assert payload["answer"]["kind"] == "playbook" and len(rows) == 3
    assert rows[0]["id"] == "low conversion rate"
    assert rows[0]["snippet"] in LOW_CONVERSION_ACTIONS
    assert (rows[0]["channel"], rows[0]["status"]) == (None, None)


def test_partner_notes(demo: Demo) -> None:
    payload = demo.call(
        "search_notes", {"query": "Nordic reseller invoicing in euros", "kind": "partners"}
    )
    top = table(payload)[0]
    assert (top["kind"], top["id"], top["name"]) == ("partner", "p-fjord", "Fjord Solutions AS")
    # with a channel: its partner's note only (Granite Group is Meridian's)
    mine = demo.call("search_notes", {"query": "partner", "kind": "partners", "channel": "granite"})
    assert [row["id"] for row in table(mine)] == ["p-meridian"]


def test_bad_search_input(demo: Demo) -> None:
    assert demo.call("search_notes", {"query": "  "})["error"] == "Give the words to search for."
    assert "suggestions" in demo.call("search_notes", {"query": "x", "status": "Wonn"})
    assert len(table(demo.call("search_notes", {"query": "budget", "limit": 2}))) == 2

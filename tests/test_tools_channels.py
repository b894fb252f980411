"""channel_overview on the demo dataset (README "Partners and channels" and "Other files")."""

from __future__ import annotations

from tests.test_tools_common import Demo, demo, demo_data, table

__all__ = ["demo", "demo_data"]


def test_every_channel(demo: Demo) -> None:
    payload = demo.call("channel_overview")
    answer = payload["answer"]
    assert (answer["channels"], answer["active"]) == (9, 8)  # Ironwood is paused
    # integrations.csv: Atlas's webhook is disconnected, Delta's Salesforce sync errors
    assert answer["integration_problems"] == [
        "Atlas Advisory webhook: disconnected — Endpoint https://hooks.atlasadvisory.com/keen "
        "returned 410 Gone",
        "Delta Digital salesforce: error — INVALID_SESSION_ID: Session expired or invalid "
        "(refresh token revoked by the partner's Salesforce admin)",
    ]
    rows = {row["id"]: row for row in table(payload)}
    assert rows["ch-fjord"] == {
        "id": "ch-fjord",
        "channel": "Fjord Solutions",
        "partner": "Fjord Solutions AS",
        "status": "active",
        "currency": "EUR",
        "leads": 36,
    }
    assert rows["ch-ironwood"]["status"] == "paused"
    assert sum(row["leads"] for row in rows.values()) == 360
    assert rows["ch-granite"]["partner"] == rows["ch-harbor"]["partner"] == "Meridian Holdings"


def test_one_channel_with_a_broken_integration(demo: Demo) -> None:
    payload = demo.call("channel_overview", {"channel": "Delta"})
    answer = payload["answer"]
    assert (answer["channel"], answer["id"], answer["partner"]) == (
        "Delta Digital",
        "ch-delta",
        "Delta Digital Inc",
    )
    assert (answer["status"], answer["currency"], answer["leads"]) == ("active", "USD", 42)
    assert answer["pipeline"] == ["New lead", "In progress", "Meeting booked", "Won", "Lost"]
    (problem,) = answer["integration_problems"]
    assert problem.startswith("salesforce: error — INVALID_SESSION_ID")
    triggers = {row["id"]: row for row in table(payload, 0)}
    # README: Meeting booked fixed 150 with approval; Won 5% with approval
    assert (triggers["trg-delta-meeting"]["amount"], triggers["trg-delta-won"]["amount"]) == (
        "150.00",
        "5%",
    )
    assert payload["tables"][0]["columns"] == [
        "id",
        "name",
        "event",
        "status",
        "amount_type",
        "amount",
        "requires_approval",
        "active",
    ]
    (integration,) = table(payload, 2)
    assert (integration["kind"], integration["state"]) == ("salesforce", "error")
    assert integration["last_sync"].startswith("2026-10-02")


def test_form_fields_and_a_custom_pipeline(demo: Demo) -> None:
    atlas = demo.call("channel_overview", {"channel": "atlas"})
    required = [row["field"] for row in table(atlas, 1) if row["required"]]
    assert required == ["contact_name"]  # README: Atlas requires only the contact name
    # integrations.csv: the webhook is disconnected, with its last error
    assert atlas["answer"]["integration_problems"] == [
        "webhook: disconnected — Endpoint https://hooks.atlasadvisory.com/keen returned 410 Gone"
    ]
    harbor = demo.call("channel_overview", {"channel": "this"}, channel="ch-harbor")
    # README: Harbor's custom pipeline
    assert harbor["answer"]["pipeline"] == [
        "New lead",
        "Qualified",
        "Demo scheduled",
        "Proposal sent",
        "Closed won",
        "Closed lost",
    ]
    assert harbor["answer"]["integration_problems"] == []  # its webhook is connected

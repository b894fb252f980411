"""channel_performance and lead_funnel on the demo dataset (README facts, or raw SQL here)."""

from __future__ import annotations

from datetime import datetime

from tests.test_tools_common import Demo, demo, demo_data, table

__all__ = ["demo", "demo_data"]


def _by_name(payload: dict) -> dict[str, dict]:
    return {row["name"]: row for row in table(payload)}


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_of_every_active_channel_all_time(demo: Demo) -> None:
    payload = demo.call("channel_performance")
    answer = payload["answer"]
    assert answer["group_by"] == "channel" and answer["rows"] == 8  # Ironwood is paused
    assert answer["leaders"] == [] and answer["left_out"] == [] and answer["min_leads"] == 5
    rows = _by_name(payload)
    assert "Ironwood Ventures" not in rows
    # README "Channel metrics, all time"
    atlas = rows["Atlas Advisory"]
    assert atlas == {
        "name": "Atlas Advisory",
        "currency": "USD",
        "lead_volume": 80,
        "won_leads": 4,
        "conversion_rate_pct": 5.0,  # 4 / 80
        "won_deals": 4,
        "revenue": "53250.00",
        "average_deal_size": "13312.50",  # 53,250 / 4
        "reward_total": "1500.00",
        "net_value": "51750.00",
        "reward_to_revenue_pct": 2.8,  # 1,500 / 53,250 = 2.82%
    }
    assert rows["Beacon Partners"]["conversion_rate_pct"] == 57.1  # 8 / 14 = 57.14%
    assert rows["Granite Group"]["average_deal_size"] == "21011.90"  # 441,250 / 21 = 21,011.905
    assert rows["Cobalt Consulting"]["reward_to_revenue_pct"] == 40.0  # 7,400 / 18,500


def test_totals_are_per_currency(demo: Demo) -> None:
    totals = demo.call("channel_performance")["answer"]["totals"]
    # USD channels: 53,250 + 243,567.85 + 18,500 + 145,730.90 + 68,956.25 + 441,250 + 280,750
    assert totals["revenue"] == {"EUR": "121095.55", "USD": "1252005.00"}
    # USD rewards: 1,500 + 24,356.79 + 7,400 + 10,886.55 + 5,516.50 + 44,731.74 + 11,200
    assert totals["reward_total"] == {"EUR": "12109.56", "USD": "105591.58"}
    assert (totals["lead_volume"], totals["won_leads"], totals["conversion_rate_pct"]) == (
        340,
        68,
        20.0,  # README: org rate 68 / 340
    )


def test_the_euro_channel_for_last_month(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"channel": "fjord", "period": "last month"})
    assert payload["answer"]["rows"] == 1 and payload["answer"]["leaders"] == []
    (row,) = table(payload)
    # README October: volume 7, won deals 1, revenue 8,250.00, rewards 825.00 (EUR)
    assert (row["currency"], row["lead_volume"], row["won_deals"]) == ("EUR", 7, 1)
    assert (row["revenue"], row["reward_total"], row["net_value"]) == (
        "8250.00",
        "825.00",
        "7425.00",
    )
    assert row["conversion_rate_pct"] == 0.0  # none of October's 7 leads is won yet
    assert payload["period"] == "last month (2026-10-01 to 2026-10-31)"


def test_inactive_channels_on_request_or_when_named(demo: Demo) -> None:
    assert demo.call("channel_performance", {"include_inactive": True})["answer"]["rows"] == 9
    (row,) = table(demo.call("channel_performance", {"channel": "ironwood"}))
    assert (row["lead_volume"], row["revenue"]) == (20, "32750.00")  # README, paused


def test_partners_add_up_their_channels(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"group_by": "partner"})
    assert payload["answer"]["group_by"] == "partner" and payload["answer"]["rows"] == 7
    meridian = _by_name(payload)["Meridian Holdings"]
    # README: Granite + Harbor = 98 leads, 30 won, 30.6%, 722,000.00 USD, rewards 55,931.74
    assert (meridian["lead_volume"], meridian["won_leads"], meridian["conversion_rate_pct"]) == (
        98,
        30,
        30.6,
    )
    assert (meridian["revenue"], meridian["reward_total"]) == ("722000.00", "55931.74")
    assert meridian["average_deal_size"] == "24066.67"  # 722,000 / 30
    assert _by_name(payload)["Fjord Solutions AS"]["currency"] == "EUR"
    one = demo.call("channel_performance", {"partner": "meridian", "group_by": "partner"})
    assert one["answer"]["rows"] == 1 and one["answer"]["leaders"] == []


def test_a_partners_channels(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"partner": "Meridian Holdings"})
    assert set(_by_name(payload)) == {"Granite Group", "Harbor Labs"}


# --- rankings --------------------------------------------------------------------------------


def test_money_ranks_within_each_currency(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"rank_by": "revenue"})
    answer = payload["answer"]
    assert answer["rank_by"] == "revenue" and answer["order"] == "desc"
    # one leader per currency: Fjord is the only EUR channel
    assert answer["leaders"] == [
        {"name": "Fjord Solutions", "value": "121095.55", "currency": "EUR"},
        {"name": "Granite Group", "value": "441250.00", "currency": "USD"},
    ]
    usd = [row for row in table(payload) if row["currency"] == "USD"]
    assert [r["name"] for r in usd[:3]] == ["Granite Group", "Harbor Labs", "Beacon Partners"]
    assert [r["rank"] for r in usd] == [1, 2, 3, 4, 5, 6, 7]


def test_top_n_per_currency_and_ascending(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"rank_by": "revenue", "order": "asc", "top": 2})
    names = [(row["currency"], row["name"]) for row in table(payload)]
    # lowest USD revenue: Cobalt 18,500, then Atlas 53,250
    assert names == [
        ("EUR", "Fjord Solutions"),
        ("USD", "Cobalt Consulting"),
        ("USD", "Atlas Advisory"),
    ]


def test_conversion_ranking_all_time(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"rank_by": "conversion_rate", "top": 3})
    answer = payload["answer"]
    assert answer["leaders"] == [{"name": "Beacon Partners", "value": 57.1}]
    assert answer["left_out"] == []  # README: every channel has at least 5 leads all time
    rates = [(row["name"], row["conversion_rate_pct"]) for row in table(payload)]
    assert rates == [("Beacon Partners", 57.1), ("Granite Group", 35.0), ("Harbor Labs", 23.7)]
    worst = demo.call("channel_performance", {"rank_by": "conversion_rate", "order": "asc"})
    assert worst["answer"]["leaders"] == [{"name": "Atlas Advisory", "value": 5.0}]


def test_conversion_ranking_leaves_out_channels_under_five_leads(demo: Demo) -> None:
    volumes = dict(
        demo.rows(
            "SELECT c.name, count(l.id) FROM channels c LEFT JOIN leads l ON l.channel_id = c.id "
            "AND l.created_at >= :lo WHERE c.org_id = :org AND c.status = 'active' GROUP BY c.name",
            org=demo.org_id,
            lo=datetime(2026, 11, 1),
        )
    )
    # README November: Beacon 2, Cobalt 4, Evergreen 0 are under 5; Delta, Fjord, Harbor have
    # exactly 5 and are ranked
    assert sorted(n for n, v in volumes.items() if v < 5) == [
        "Beacon Partners",
        "Cobalt Consulting",
        "Evergreen Agency",
    ]
    assert volumes["Delta Digital"] == volumes["Fjord Solutions"] == volumes["Harbor Labs"] == 5
    payload = demo.call(
        "channel_performance", {"rank_by": "conversion_rate", "period": "this month"}
    )
    answer = payload["answer"]
    assert answer["left_out"] == ["Beacon Partners", "Cobalt Consulting", "Evergreen Agency"]
    ranked = {row["name"] for row in table(payload)}
    assert ranked == {n for n, v in volumes.items() if v >= 5}
    # no November lead is won yet: all five tie at 0.0%
    assert answer["leaders"][0]["value"] == 0.0
    assert len(answer["leaders"][0]["tied_with"]) == 4


def test_a_metric_without_value_is_not_ranked(demo: Demo) -> None:
    payload = demo.call(
        "channel_performance", {"rank_by": "average_deal_size", "period": "this month"}
    )
    answer = payload["answer"]
    # README November won deals: only Atlas (1, 7,250.00) and Granite (2, 53,500.00)
    assert [(row["name"], row["average_deal_size"]) for row in table(payload)] == [
        ("Granite Group", "26750.00"),  # 53,500 / 2
        ("Atlas Advisory", "7250.00"),
    ]
    assert {item["name"] for item in answer["not_ranked"]} == {
        "Beacon Partners",
        "Cobalt Consulting",
        "Delta Digital",
        "Evergreen Agency",
        "Fjord Solutions",
        "Harbor Labs",
    }
    assert answer["left_out"] == []


def test_partners_ranked_by_revenue(demo: Demo) -> None:
    answer = demo.call("channel_performance", {"group_by": "partner", "rank_by": "revenue"})[
        "answer"
    ]
    assert answer["leaders"] == [
        {"name": "Fjord Solutions AS", "value": "121095.55", "currency": "EUR"},
        {"name": "Meridian Holdings", "value": "722000.00", "currency": "USD"},
    ]


def test_top_must_be_positive(demo: Demo) -> None:
    assert demo.call("channel_performance", {"rank_by": "revenue", "top": 0})["error"]


# --- funnel ----------------------------------------------------------------------------------


def test_funnel_of_all_channels(demo: Demo) -> None:
    stuck = dict(
        demo.rows(
            "SELECT s.name, count(*) FROM leads l JOIN pipeline_statuses s ON s.id = l.status_id "
            "WHERE l.org_id = :org AND l.status_kind = 'open' AND l.status_changed_at < :cutoff "
            "GROUP BY s.name",
            org=demo.org_id,
            cutoff=datetime(2026, 11, 4),
        )
    )
    payload = demo.call("lead_funnel")
    answer = payload["answer"]
    assert (answer["leads"], answer["stuck"]) == (360, 34)  # README
    # README: Meeting booked 1+1+6+1+2+1+1 = 13, In progress 2+2+1+2+1+1+3 = 12
    assert (answer["most_stuck_status"], answer["most_stuck_count"]) == ("Meeting booked", 13)
    assert stuck["Meeting booked"] == 13 and stuck["In progress"] == 12
    rows = {row["status"]: row for row in table(payload)}
    assert {name: row["stuck"] for name, row in rows.items() if row["stuck"]} == stuck
    assert answer["scope"] == "all channels"


def test_funnel_of_one_channel_in_pipeline_order(demo: Demo) -> None:
    payload = demo.call("lead_funnel", {"channel": "delta"})
    # README: New lead 4, In progress 4, Meeting booked 10, Won 8, Lost 16
    assert [(row["status"], row["leads"]) for row in table(payload)] == [
        ("New lead", 4),
        ("In progress", 4),
        ("Meeting booked", 10),
        ("Won", 8),
        ("Lost", 16),
    ]
    meeting = table(payload)[2]
    assert (meeting["kind"], meeting["share_pct"], meeting["stuck"]) == ("open", 23.8, 6)  # 10/42
    answer = payload["answer"]
    assert (answer["leads"], answer["stuck"], answer["most_stuck_count"]) == (42, 7, 6)
    assert answer["scope"] == "channel Delta Digital"


def test_funnel_of_a_custom_pipeline_with_a_tie(demo: Demo) -> None:
    payload = demo.call("lead_funnel", {"channel": "this"}, channel="ch-harbor")
    statuses = [row["status"] for row in table(payload)]
    assert statuses == [
        "New lead",
        "Qualified",
        "Demo scheduled",
        "Proposal sent",
        "Closed won",
        "Closed lost",
    ]
    answer = payload["answer"]
    # README: Harbor stuck Demo scheduled 2, Proposal sent 2, Qualified 1
    assert (answer["most_stuck_status"], answer["most_stuck_count"]) == ("Demo scheduled", 2)
    assert answer["most_stuck_tied_with"] == ["Proposal sent"]


def test_funnel_for_a_period_and_without_stuck_leads(demo: Demo) -> None:
    nov = demo.call("lead_funnel", {"period": "this month"})["answer"]
    assert nov["leads"] == 13 + 2 + 4 + 5 + 0 + 5 + 12 + 5 + 0  # README November volumes
    beacon = demo.call("lead_funnel", {"channel": "beacon"})["answer"]
    assert (beacon["stuck"], beacon["most_stuck_status"], beacon["most_stuck_count"]) == (
        0,
        None,
        0,
    )

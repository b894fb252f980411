"""Channel, partner and organization metrics for March 2026 on a hand-built world.

The world (today 15 April 2026):

Atlas (USD, partner P1, active)
  a1 created 05 Mar, Won on 20 Mar, deal 1000   → volume, cohort, won deal, revenue 1000
  a2 created 10 Mar, Won on 02 Apr, deal 500    → volume, cohort; won in April: no revenue
  a3 created 20 Feb, Won on 03 Mar, deal 300    → not in volume; won deal, revenue 300
  a4 created 15 Mar, Won on 25 Mar, no deal     → volume, cohort, won deal, revenue + 0
  a5 created 31 Mar 23:59:59, New lead          → volume
  a6 created 01 Apr 00:00, New lead             → nothing
  a7 created 01 Mar 00:00, Lost                 → volume
  a8 created 28 Feb 23:59:59, In progress       → nothing
  rewards: 100 approved 5 Mar, 50 rejected 6 Mar (no), 25.50 paid 31 Mar 23:00,
           200 awaiting 1 Apr (no), 10 awaiting 10 Mar
  → volume 5, won leads 3, rate 3/5, won deals 3, revenue 1300, average 1300/3,
    rewards 100 + 25.50 + 10 = 135.50, net 1164.50, reward-to-revenue 135.50/1300
Atlas EU (EUR, partner P1, active)
  b1 created 02 Mar, Won on 04 Mar, deal 200; b2 created 03 Mar, In progress
  rewards: 30 approved 5 Mar
  → volume 2, won 1, rate 1/2, won deals 1, revenue 200, average 200, rewards 30, net 170
Cobalt (USD, partner P2, paused)
  c1 created 02 Mar, Lost; rewards 40 approved 8 Mar
  → volume 1, won 0, rate 0, won deals 0, revenue 0, average n/a, net −40, ratio n/a
Dune (USD, partner P3, active): nothing → volume 0, rate n/a
Another organization has a busy channel in March: it never shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from domain.metrics import (
    ChannelMetrics,
    RankEntry,
    channel_metrics,
    funnel,
    item_name,
    org_totals,
    partner_metrics,
    rank,
)
from domain.periods import ALL_TIME, Period
from tests.builders import World

TODAY = date(2026, 4, 15)
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31), "March 2026")


@pytest.fixture
def world(session: Session) -> World:
    w = World.create(session)
    p1 = w.partner("Atlas Group", ext_id="P1")
    atlas = w.channel("Atlas", partner=p1, ext_id="atlas")
    for created, status, changed, value in (
        ("2026-03-05", "Won", "2026-03-20", 1000),
        ("2026-03-10", "Won", "2026-04-02", 500),
        ("2026-02-20", "Won", "2026-03-03", 300),
        ("2026-03-15", "Won", "2026-03-25", None),
        ("2026-03-31T23:59:59", "New lead", None, None),
        ("2026-04-01T00:00:00", "New lead", None, None),
        ("2026-03-01T00:00:00", "Lost", "2026-03-12", None),
        ("2026-02-28T23:59:59", "In progress", None, None),
    ):
        w.lead(atlas, status, created=created, changed=changed, deal_value=value)
    for amount, status, created in (
        ("100", "approved", "2026-03-05"),
        ("50", "rejected", "2026-03-06"),
        ("25.50", "paid", "2026-03-31T23:00:00"),
        ("200", "awaiting_review", "2026-04-01"),
        ("10", "awaiting_review", "2026-03-10"),
    ):
        w.reward(atlas, amount, status=status, created=created)

    eu = w.channel("Atlas EU", partner=p1, ext_id="atlas-eu", currency="EUR")
    w.lead(eu, "Won", created="2026-03-02", changed="2026-03-04", deal_value=200)
    w.lead(eu, "In progress", created="2026-03-03")
    w.reward(eu, "30", status="approved", created="2026-03-05")

    cobalt = w.channel("Cobalt", partner=w.partner("Cobalt Inc", ext_id="P2"), status="paused")
    w.lead(cobalt, "Lost", created="2026-03-02")
    w.reward(cobalt, "40", status="approved", created="2026-03-08")

    w.channel("Dune", partner=w.partner("Dune Ltd", ext_id="P3"))

    other = World.create(session, slug="other")
    busy = other.channel("Atlas", ext_id="atlas")
    for _ in range(4):
        other.lead(busy, "Won", created="2026-03-05", changed="2026-03-06", deal_value=999)
    other.reward(busy, "77", status="approved", created="2026-03-05")
    return w


def _by_name(session: Session, w: World, **kw: Any) -> dict[str, ChannelMetrics]:
    return {m.name: m for m in channel_metrics(session, w.org.id, MARCH, today=TODAY, **kw)}


def test_channel_metrics(session: Session, world: World) -> None:
    got = _by_name(session, world)
    assert list(got) == ["Atlas", "Atlas EU", "Cobalt", "Dune"]
    atlas = got["Atlas"]
    assert (atlas.lead_volume, atlas.won_leads, atlas.won_deals) == (5, 3, 3)
    assert atlas.conversion_rate == 3 / 5
    assert atlas.revenue == Decimal("1300.00")
    assert atlas.average_deal_size == Decimal("1300") / 3
    assert atlas.reward_total == Decimal("135.50")
    assert atlas.net_value == Decimal("1164.50")
    assert atlas.reward_to_revenue == pytest.approx(135.5 / 1300)
    assert (atlas.currency, atlas.partner_ext_id, atlas.status) == ("USD", "P1", "active")
    # funnel: leads created in March by current status — New lead a5, Won a1 a2 a4, Lost a7
    assert [(s.status, s.count) for s in atlas.funnel] == [
        ("New lead", 1),
        ("In progress", 0),
        ("Meeting booked", 0),
        ("Won", 3),
        ("Lost", 1),
    ]

    eu = got["Atlas EU"]
    assert (eu.lead_volume, eu.won_leads, eu.won_deals, eu.conversion_rate) == (2, 1, 1, 0.5)
    assert (eu.currency, eu.revenue, eu.reward_total, eu.net_value) == (
        "EUR",
        Decimal("200.00"),
        Decimal("30.00"),
        Decimal("170.00"),
    )
    assert eu.average_deal_size == Decimal("200") and eu.reward_to_revenue == 0.15

    cobalt = got["Cobalt"]
    assert (cobalt.lead_volume, cobalt.won_leads, cobalt.conversion_rate) == (1, 0, 0.0)
    assert (cobalt.revenue, cobalt.reward_total, cobalt.net_value) == (
        Decimal("0"),
        Decimal("40"),
        Decimal("-40"),
    )
    assert cobalt.average_deal_size is None and cobalt.reward_to_revenue is None

    dune = got["Dune"]
    assert (dune.lead_volume, dune.conversion_rate, dune.won_deals) == (0, None, 0)
    assert (dune.revenue, dune.reward_total) == (Decimal("0"), Decimal("0"))


def test_channel_filters(session: Session, world: World) -> None:
    assert list(_by_name(session, world, statuses=("active",))) == ["Atlas", "Atlas EU", "Dune"]
    cobalt_id = _by_name(session, world)["Cobalt"].channel_id
    assert list(_by_name(session, world, channel_ids=[cobalt_id])) == ["Cobalt"]
    assert list(_by_name(session, world, channel_ids=["atlas-eu", "atlas"])) == [
        "Atlas",
        "Atlas EU",
    ]
    assert list(_by_name(session, world, channel_ids=[])) == []


def test_all_time(session: Session, world: World) -> None:
    atlas = {m.name: m for m in channel_metrics(session, world.org.id, ALL_TIME, today=TODAY)}[
        "Atlas"
    ]
    # all 8 leads; won a1..a4; revenue 1000 + 500 + 300 + 0; rewards 100 + 25.50 + 200 + 10
    assert (atlas.lead_volume, atlas.won_leads, atlas.won_deals) == (8, 4, 4)
    assert atlas.revenue == Decimal("1800") and atlas.reward_total == Decimal("335.50")


def test_metrics_are_a_few_group_by_queries(session: Session, world: World) -> None:
    w = World(session, world.org)
    for i in range(10):  # many more channels must not mean more queries
        w.lead(w.channel(f"Extra {i}"), "Won", created="2026-03-03", changed="2026-03-04")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        metrics = channel_metrics(session, world.org.id, MARCH, today=TODAY)
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(metrics) == 14
    assert len(statements) <= 6


def test_partner_metrics_add_channels_and_keep_currencies_apart(
    session: Session, world: World
) -> None:
    partners = {p.ext_id: p for p in partner_metrics(session, world.org.id, MARCH, today=TODAY)}
    assert list(partners) == ["P1", "P2", "P3"]  # Atlas Group, Cobalt Inc, Dune Ltd
    p1 = partners["P1"]
    # Atlas + Atlas EU: volume 5 + 2, won 3 + 1, won deals 3 + 1
    assert (p1.lead_volume, p1.won_leads, p1.won_deals) == (7, 4, 4)
    assert p1.conversion_rate == 4 / 7
    assert p1.currencies == ["EUR", "USD"]
    assert p1.revenue == {"EUR": Decimal("200"), "USD": Decimal("1300")}
    assert p1.reward_total == {"EUR": Decimal("30"), "USD": Decimal("135.50")}
    assert p1.net_value == {"EUR": Decimal("170"), "USD": Decimal("1164.50")}
    assert p1.average_deal_size == {"EUR": Decimal("200"), "USD": Decimal("1300") / 3}
    assert p1.reward_to_revenue["EUR"] == 0.15
    assert p1.channel_names == ("Atlas", "Atlas EU")
    # funnel: New lead a5; In progress b2; Won a1 a2 a4 b1; Lost a7
    assert [(s.status, s.count) for s in p1.funnel] == [
        ("New lead", 1),
        ("In progress", 1),
        ("Meeting booked", 0),
        ("Won", 4),
        ("Lost", 1),
    ]
    only = partner_metrics(
        session, world.org.id, MARCH, partner_ids=[partners["P2"].partner_id], today=TODAY
    )
    assert [p.name for p in only] == ["Cobalt Inc"]
    by_ext = partner_metrics(session, world.org.id, MARCH, partner_ids=["P3"], today=TODAY)
    assert [p.name for p in by_ext] == ["Dune Ltd"]


def test_org_totals_per_currency(session: Session, world: World) -> None:
    totals = org_totals(session, world.org.id, MARCH, today=TODAY)
    # volume 5 + 2 + 1 + 0; won 3 + 1; won deals 3 + 1
    assert (totals.lead_volume, totals.won_leads, totals.won_deals) == (8, 4, 4)
    assert totals.conversion_rate == 0.5
    # USD: revenue 1300 (Atlas); rewards 135.50 + 40 (Cobalt); EUR: 200 and 30
    assert totals.revenue == {"EUR": Decimal("200"), "USD": Decimal("1300")}
    assert totals.reward_total == {"EUR": Decimal("30"), "USD": Decimal("175.50")}
    assert totals.net_value == {"EUR": Decimal("170"), "USD": Decimal("1124.50")}
    assert totals.money["USD"].won_deals == 3


def test_funnel_for_selected_channels(session: Session, world: World) -> None:
    ids = [m.channel_id for m in _by_name(session, world).values() if m.name.startswith("Atlas")]
    got = funnel(session, world.org.id, MARCH, ids, today=TODAY)
    assert [(s.status, s.count) for s in got] == [
        ("New lead", 1),
        ("In progress", 1),
        ("Meeting booked", 0),
        ("Won", 4),
        ("Lost", 1),
    ]


# --- rankings -----------------------------------------------------------------------------------


def _names(entries: Iterable[RankEntry]) -> list[tuple[int, str]]:
    return [(e.rank, item_name(e.item)) for e in entries]


def test_rank_by_conversion_leaves_out_small_channels(session: Session, world: World) -> None:
    metrics = list(_by_name(session, world).values())
    ranking = rank(metrics, "conversion_rate")
    # min_leads_for_rate = 5: Atlas has exactly 5 and stays; Atlas EU 2, Cobalt 1, Dune 0 go
    assert ranking.min_leads == 5
    assert _names(ranking.entries) == [(1, "Atlas")]
    assert [(item_name(o.item), o.reason) for o in ranking.left_out] == [
        ("Atlas EU", "fewer than 5 leads in the period (2)"),
        ("Cobalt", "fewer than 5 leads in the period (1)"),
        ("Dune", "fewer than 5 leads in the period (0)"),
    ]
    # one more lead required: Atlas (5) is out too
    assert rank(metrics, "conversion_rate", min_leads=6).entries == ()
    # with a minimum of 1: 3/5, 1/2, 0; Dune (0 leads) left out
    loose = rank(metrics, "conversion_rate", min_leads=1)
    assert _names(loose.entries) == [(1, "Atlas"), (2, "Atlas EU"), (3, "Cobalt")]
    assert [item_name(o.item) for o in loose.left_out] == ["Dune"]
    assert [e.value for e in loose.entries] == [0.6, 0.5, 0.0]


def test_money_rankings_stay_within_a_currency(session: Session, world: World) -> None:
    metrics = list(_by_name(session, world).values())
    by_revenue = rank(metrics, "revenue")
    assert [g.currency for g in by_revenue.groups] == ["EUR", "USD"]
    assert _names(by_revenue.groups[0].entries) == [(1, "Atlas EU")]
    # USD: Atlas 1300, then Cobalt and Dune tied at 0 (shared rank 2, by name)
    assert _names(by_revenue.groups[1].entries) == [(1, "Atlas"), (2, "Cobalt"), (2, "Dune")]

    by_average = rank(metrics, "average_deal_size")
    assert _names(by_average.entries) == [(1, "Atlas EU"), (1, "Atlas")]  # one per currency
    assert [(item_name(o.item), o.reason) for o in by_average.left_out] == [
        ("Cobalt", "n/a: no won deals in the period"),
        ("Dune", "n/a: no won deals in the period"),
    ]
    lowest_net = rank(metrics, "net_value", descending=False)
    # USD ascending: Cobalt −40, Dune 0, Atlas 1164.50
    assert _names(lowest_net.groups[1].entries) == [(1, "Cobalt"), (2, "Dune"), (3, "Atlas")]


def test_counts_rank_across_currencies(session: Session, world: World) -> None:
    ranking = rank(list(_by_name(session, world).values()), "lead_volume")
    assert [g.currency for g in ranking.groups] == [None]
    assert [(item_name(e.item), e.value) for e in ranking.entries] == [
        ("Atlas", 5),
        ("Atlas EU", 2),
        ("Cobalt", 1),
        ("Dune", 0),
    ]


def test_partners_rank_in_each_of_their_currencies(session: Session, world: World) -> None:
    partners = partner_metrics(session, world.org.id, MARCH, today=TODAY)
    ranking = rank(partners, "reward_total")
    # EUR: Atlas Group 30. USD: Atlas Group 135.50, Cobalt Inc 40, Dune Ltd 0
    assert [
        (g.currency, [(item_name(e.item), e.value) for e in g.entries]) for g in ranking.groups
    ] == [
        ("EUR", [("Atlas Group", Decimal("30"))]),
        (
            "USD",
            [("Atlas Group", Decimal("135.50")), ("Cobalt Inc", Decimal("40")), ("Dune Ltd", 0)],
        ),
    ]
    by_rate = rank(partners, "conversion_rate")
    assert _names(by_rate.entries) == [(1, "Atlas Group")]  # 7 leads; the others have 1 and 0


def test_rank_rejects_unknown_metrics() -> None:
    with pytest.raises(ValueError, match="conversion_rate"):
        rank([], "popularity")

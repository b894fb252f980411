"""Lead queries on hand-built worlds: filters, the stuck / needs-action / missing rules and
their day edges, listing, one lead's detail, and the status breakdown."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from domain.leads import (
    MISSING_COMPANY,
    MISSING_CONTACT,
    MISSING_DEAL_VALUE,
    LeadFilter,
    count_leads,
    lead_detail,
    list_leads,
    status_breakdown,
)
from domain.models import Channel, LeadStatusChange, Partner
from domain.periods import Period
from tests.builders import World

D = date.fromisoformat


def test_stuck_counts_whole_days(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Atlas")
    # changed on the 1st (late in the day): 14 days old on the 15th, stuck from the 16th
    w.lead(ch, "In progress", created="2025-12-20", changed="2026-01-01T22:30:00", ext_id="open")
    # won and lost leads are never stuck, however old
    w.lead(ch, "Won", created="2025-06-01", changed="2025-06-02", ext_id="won")
    w.lead(ch, "Lost", created="2025-06-01", changed="2025-06-02", ext_id="lost")
    stuck_on = {
        d: count_leads(session, w.org.id, LeadFilter(stuck=True, today=D(d)))
        for d in ("2026-01-15", "2026-01-16")
    }
    assert stuck_on == {"2026-01-15": 0, "2026-01-16": 1}
    # stuck=False is the complement: 3 leads − 1 stuck = 2 on the 16th
    assert count_leads(session, w.org.id, LeadFilter(stuck=False, today=D("2026-01-16"))) == 2


def test_needs_action_is_about_the_first_status_and_two_days(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Atlas")
    # the pipeline's first status has another name here: the rule follows is_first, not names
    custom = w.channel("Beacon", pipeline=(("Submitted", "open"), ("Won", "won"), ("Lost", "lost")))
    w.lead(ch, "New lead", created="2026-01-01T23:59:00", ext_id="new")
    w.lead(custom, "Submitted", created="2026-01-01T08:00:00", ext_id="submitted")
    w.lead(ch, "In progress", created="2025-12-01", ext_id="later-status")  # not first status

    def needs(day: str) -> list[str]:
        rows, _ = list_leads(session, w.org.id, LeadFilter(needs_action=True, today=D(day)))
        return sorted(r.ext_id for r in rows)

    # changed on the 1st: 2 days old on the 3rd (fine), more than 2 on the 4th
    assert needs("2026-01-03") == []
    assert needs("2026-01-04") == ["new", "submitted"]


def test_missing_information_and_which_fields(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Atlas")
    w.lead(ch, ext_id="no-contact", email="", phone=None, deal_value=100)
    w.lead(ch, ext_id="phone-only", email=None, phone="+1 555", deal_value=100)  # complete
    w.lead(ch, ext_id="no-deal", deal_value=None)
    w.lead(ch, ext_id="blank-company", company_name="   ", deal_value=5)
    w.lead(ch, ext_id="all-missing", email=None, phone=" ", company_name=None)
    w.lead(ch, ext_id="complete", deal_value=0)  # a deal value of 0 is given

    rows, total = list_leads(
        session,
        w.org.id,
        LeadFilter(missing_information=True, today=D("2026-01-02")),
        order="oldest",
    )
    # 4 of the 6 leads miss something
    assert total == 4
    assert {r.ext_id: r.missing for r in rows} == {
        "no-contact": (MISSING_CONTACT,),
        "no-deal": (MISSING_DEAL_VALUE,),
        "blank-company": (MISSING_COMPANY,),
        "all-missing": (MISSING_CONTACT, MISSING_DEAL_VALUE, MISSING_COMPANY),
    }
    assert all(r.missing_information for r in rows)
    assert count_leads(session, w.org.id, LeadFilter(missing_information=False)) == 2


@pytest.fixture
def crm(session: Session) -> World:
    """Two partners, three channels, and a second organization that must never leak in."""
    w = World.create(session)
    atlas_p = w.partner("Atlas Group", ext_id="p-atlas")
    atlas = w.channel("Atlas Advisory", partner=atlas_p, ext_id="ch-atlas")
    atlas_eu = w.channel("Atlas Europe", partner=atlas_p, ext_id="ch-atlas-eu", currency="EUR")
    beacon = w.channel("Beacon Partners", ext_id="ch-beacon")
    w.lead(
        atlas,
        "New lead",
        created="2026-03-01T00:00:00",
        ext_id="L1",
        contact_name="Ann Lee",
        company_name="Acme 50% Corp",
        owner="Maria Lopez",
        properties={"industry": "SaaS", "country": "DE"},
        deal_value=1000,
    )
    w.lead(
        atlas,
        "In progress",
        created="2026-03-31T23:59:59",
        ext_id="L2",
        notes="Met at the ACME summit",
        owner="maria.l@example.com",
        properties={"industry": "Retail"},
    )
    w.lead(atlas_eu, "Won", created="2026-04-01T00:00:00", ext_id="L3", deal_value="250.50")
    w.lead(
        beacon,
        "Meeting booked",
        created="2026-02-28T23:59:59",
        ext_id="L4",
        properties={"Industry": "saas"},
    )
    w.lead(beacon, "Lost", created="2026-03-15", ext_id="L5", email="x@acme.io")
    other = World.create(session, slug="other")
    other_ch = other.channel("Atlas Advisory", ext_id="ch-atlas")
    other.lead(other_ch, "New lead", created="2026-03-10", ext_id="L1", company_name="Acme")
    return w


def _ids(session: Session, w: World, f: LeadFilter) -> list[str]:
    rows, total = list_leads(session, w.org.id, f, limit=100, order="oldest")
    assert total == len(rows) == count_leads(session, w.org.id, f)
    return [r.ext_id for r in rows]


def test_filters(session: Session, crm: World) -> None:
    w = crm
    channel_id = {c.ext_id: c.id for c in session.query(Channel).filter_by(org_id=w.org.id)}
    partner_id = {p.ext_id: p.id for p in session.query(Partner).filter_by(org_id=w.org.id)}
    today = D("2026-04-10")

    def ids(**kw: object) -> list[str]:
        return _ids(session, w, LeadFilter(today=today, **kw))  # type: ignore[arg-type]

    assert ids() == ["L4", "L1", "L5", "L2", "L3"]  # the other org's L1 never shows
    assert ids(channel_ids=[channel_id["ch-beacon"]]) == ["L4", "L5"]
    assert ids(partner_ids=[partner_id["p-atlas"]]) == ["L1", "L2", "L3"]
    # customer ids work too (the other org's "ch-atlas" stays out), also mixed with keys
    assert ids(channel_ids=["ch-atlas"]) == ["L1", "L2"]
    assert ids(channel_ids=[channel_id["ch-beacon"], "ch-atlas-eu"]) == ["L4", "L5", "L3"]
    assert ids(partner_ids=["p-atlas"], channel_ids=["ch-atlas-eu", "ch-beacon"]) == ["L3"]
    # an empty list matches nothing: it never widens to every channel
    assert ids(channel_ids=[]) == []
    assert ids(statuses=["in PROGRESS", " new lead "]) == ["L1", "L2"]
    assert ids(status_kinds=["won", "lost"]) == ["L5", "L3"]
    # March: from 1 March 00:00 up to (not including) 1 April 00:00
    march = Period(D("2026-03-01"), D("2026-03-31"), "March 2026")
    assert ids(period=march) == ["L1", "L5", "L2"]
    assert ids(owner="MARIA") == ["L1", "L2"]
    assert ids(owner="lopez") == ["L1"]
    assert ids(owner="none") == ["L4", "L5", "L3"]  # the builder gives L3-L5 no owner
    assert ids(owner="Unassigned") == ids(owner="none")
    # stuck: open and unchanged > 14 days (L4 41 days, L1 40, L2 9 on 2026-04-10); another
    # threshold moves the line (L3 won and L5 lost are never stuck)
    assert ids(stuck=True) == ["L4", "L1"]
    assert ids(stuck=True, stuck_days=40) == ["L4"]
    assert ids(stuck=True, stuck_days=5) == ["L4", "L1", "L2"]
    # custom property: value case-insensitive; the key as given or lower-cased
    assert ids(properties={"industry": "saas"}) == ["L1"]
    assert ids(properties={"Industry": "SAAS"}) == ["L4", "L1"]
    assert ids(properties={"industry": "SaaS", "country": "de"}) == ["L1"]
    # free text over contact, company, email and notes
    assert ids(text="acme") == ["L1", "L5", "L2"]
    assert ids(text="ann") == ["L1"]
    assert ids(text="50%") == ["L1"]  # "%" is literal, not a wildcard
    assert ids(text="5_%") == []
    assert ids(channel_ids=[channel_id["ch-atlas"]], period=march, text="acme") == ["L1", "L2"]


def test_list_leads_rows_pages_and_orders(session: Session, crm: World) -> None:
    today = D("2026-04-10")
    rows, total = list_leads(
        session, crm.org.id, LeadFilter(today=today), limit=2, offset=1, order="newest"
    )
    # newest first: L3 (1 Apr), L2 (31 Mar), L5 (15 Mar), L1 (1 Mar), L4 (28 Feb) → page 2..3
    assert total == 5
    assert [r.ext_id for r in rows] == ["L2", "L5"]
    l2 = rows[0]
    assert (l2.channel, l2.channel_ext_id, l2.status, l2.status_kind) == (
        "Atlas Advisory",
        "ch-atlas",
        "In progress",
        "open",
    )
    assert l2.currency == "USD" and l2.deal_value is None
    # changed 31 March 23:59:59 → 10 days in status on 10 April; not yet stuck (needs > 14)
    assert (l2.days_in_status, l2.stuck, l2.needs_action) == (10, False, False)
    assert l2.missing == (MISSING_DEAL_VALUE,)

    by_value, _ = list_leads(session, crm.org.id, LeadFilter(today=today), order="deal_value")
    # 1000 (L1), 250.50 (L3), then the leads without a value in id order
    assert [r.ext_id for r in by_value] == ["L1", "L3", "L2", "L4", "L5"]
    assert by_value[1].deal_value == Decimal("250.50") and by_value[1].currency == "EUR"

    by_status, _ = list_leads(session, crm.org.id, LeadFilter(today=today), order="status")
    # pipeline positions: New lead 1, In progress 2, Meeting booked 3, Won 4, Lost 5
    assert [r.ext_id for r in by_status] == ["L1", "L2", "L4", "L3", "L5"]
    stale, _ = list_leads(session, crm.org.id, LeadFilter(today=today), order="longest_in_status")
    assert [r.ext_id for r in stale][:2] == ["L4", "L1"]
    l1 = stale[1]
    # New lead since 1 March: 40 days (> 2: needs action; open > 14: stuck)
    assert (l1.days_in_status, l1.needs_action, l1.stuck) == (40, True, True)


def test_lead_detail(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Atlas", ext_id="ch-1")
    lead = w.lead(
        ch,
        "Won",
        created="2026-02-01",
        changed="2026-02-20",
        ext_id="L-9",
        deal_value=800,
        source="webinar",
        notes="warm intro",
        properties={"industry": "SaaS"},
    )
    for frm, to, at in ((None, "New lead", "2026-02-01"), ("New lead", "Won", "2026-02-20")):
        session.add(
            LeadStatusChange(
                org_id=w.org.id,
                lead_id=lead.id,
                from_status=frm,
                to_status=to,
                changed_at=datetime.fromisoformat(at),
            )
        )
    trig = w.trigger(
        ch, "status_reached", 10, name="Won bonus", status="Won", amount_type="percentage"
    )
    w.reward(
        ch,
        "80.00",
        status="approved",
        created="2026-02-20",
        lead_id=lead.id,
        trigger_id=trig.id,
        ext_id="r-1",
    )
    w.reward(ch, "5", status="rejected", created="2026-02-02", lead_id=lead.id, ext_id="r-0")
    w.purchase(lead, 120, "2026-03-01")
    session.flush()

    detail = lead_detail(session, w.org.id, "L-9", today=D("2026-03-01"))
    assert detail is not None
    assert detail.lead.status == "Won" and detail.lead.days_in_status == 9  # 20 Feb → 1 Mar
    assert (detail.partner, detail.source, detail.notes) == (
        "Atlas partner",
        "webinar",
        "warm intro",
    )
    assert detail.properties == {"industry": "SaaS"}
    assert [(h.from_status, h.to_status) for h in detail.history] == [
        (None, "New lead"),
        ("New lead", "Won"),
    ]
    assert [(r.ext_id, r.amount, r.status, r.trigger) for r in detail.rewards] == [
        ("r-0", Decimal("5.00"), "rejected", None),
        ("r-1", Decimal("80.00"), "approved", "Won bonus"),
    ]
    assert [(p.amount, p.occurred_at.date()) for p in detail.purchases] == [
        (Decimal("120.00"), D("2026-03-01"))
    ]
    assert lead_detail(session, w.org.id, "nope") is None
    other = World.create(session, slug="other")
    assert lead_detail(session, other.org.id, "L-9") is None


def test_status_breakdown_in_pipeline_order_with_stuck(session: Session) -> None:
    w = World.create(session)
    ch = w.channel("Atlas")
    today = D("2026-03-20")  # stuck: changed before 6 March
    for changed in ("2026-03-01", "2026-03-05", "2026-03-06"):  # 2 stuck, 1 not (14 days)
        w.lead(ch, "In progress", created="2026-02-01", changed=changed)
    w.lead(ch, "New lead", created="2026-03-19")
    w.lead(ch, "Won", created="2026-01-01", changed="2026-01-02")  # old, but won: not stuck
    got = status_breakdown(session, w.org.id, LeadFilter(today=today))
    assert [(s.status, s.kind, s.count, s.stuck) for s in got] == [
        ("New lead", "open", 1, 0),
        ("In progress", "open", 3, 2),
        ("Meeting booked", "open", 0, 0),
        ("Won", "won", 1, 0),
        ("Lost", "lost", 0, 0),
    ]
    only = status_breakdown(session, w.org.id, LeadFilter(today=today, status_kinds=["open"]))
    assert [s.status for s in only] == ["New lead", "In progress", "Meeting booked"]


def test_status_breakdown_merges_pipelines_by_name(session: Session) -> None:
    w = World.create(session)
    a = w.channel("Atlas")  # default: New lead 1, In progress 2, Meeting booked 3, Won 4, Lost 5
    b = w.channel(
        "Beacon",
        pipeline=(("Submitted", "open"), ("Qualified", "open"), ("won", "won"), ("Lost", "lost")),
    )
    w.lead(a, "Won")
    w.lead(b, "won")
    w.lead(b, "Submitted")
    got = status_breakdown(session, w.org.id, LeadFilter(today=D("2026-01-02")))
    # each name at its lowest position, ties by name: New lead 1, Submitted 1, In progress 2,
    # Qualified 2, Meeting booked 3, Won 3 (Beacon's third), Lost 4 (Beacon's fourth)
    assert [(s.status, s.position, s.count) for s in got] == [
        ("New lead", 1, 0),
        ("Submitted", 1, 1),
        ("In progress", 2, 0),
        ("Qualified", 2, 0),
        ("Meeting booked", 3, 0),
        ("won", 3, 2),  # "Won" and "won" are one status; spelled as where it comes first
        ("Lost", 4, 0),
    ]
    just_a = status_breakdown(session, w.org.id, LeadFilter(channel_ids=[a.id]))
    assert [s.status for s in just_a] == [
        "New lead",
        "In progress",
        "Meeting booked",
        "Won",
        "Lost",
    ]

"""Resolving channel and partner names as people type them, and spotting them in questions."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from domain.models import Channel
from domain.names import (
    find_channel_mentions,
    invalidate_names,
    resolve_channel,
    resolve_partner,
)
from tests.builders import World


@pytest.fixture
def world(session: Session) -> World:
    invalidate_names()
    w = World.create(session)
    w.channel(
        "Atlas Advisory",
        partner=w.partner("Atlas Advisory Group", ext_id="p-atlas"),
        ext_id="ch-atlas",
    )
    w.channel(
        "Beacon Partners",
        partner=w.partner("Beacon Partners", ext_id="p-beacon"),
        ext_id="ch-beacon",
    )
    w.channel("Northwind Growth", ext_id="ch-north")
    w.channel("Cobalt Labs", ext_id="ch-cobalt-labs")
    w.channel("Cobalt Digital", ext_id="ch-cobalt-digital")
    other = World.create(session, slug="other")
    other.channel("Zephyr Media", ext_id="ch-zephyr")
    return w


@pytest.mark.parametrize(
    ("text", "name", "how"),
    [
        ("ch-atlas", "Atlas Advisory", "ext_id"),
        ("CH-BEACON", "Beacon Partners", "ext_id"),
        ("atlas advisory", "Atlas Advisory", "name"),
        ("  Beacon   Partners ", "Beacon Partners", "name"),
        ("beacon partner", "Beacon Partners", "name"),  # generic "partner" dropped → "beacon"
        ("the Atlas channel", "Atlas Advisory", "words"),
        ("atlas", "Atlas Advisory", "words"),
        ("northwind", "Northwind Growth", "words"),
        ("Cobalt Lab", "Cobalt Labs", "words"),  # the last word may be a prefix
        ("Atlsa Advisory", "Atlas Advisory", "fuzzy"),
        ("northwnd", "Northwind Growth", "fuzzy"),
    ],
)
def test_resolve_channel_finds_one(
    session: Session, world: World, text: str, name: str, how: str
) -> None:
    res = resolve_channel(session, world.org.id, text)
    assert res.status == "found"
    assert res.match is not None and res.match.name == name and res.match.kind == "channel"
    assert res.how == how


def test_ambiguous_names_return_candidates_not_a_guess(session: Session, world: World) -> None:
    res = resolve_channel(session, world.org.id, "cobalt")
    assert res.status == "ambiguous" and res.match is None
    assert sorted(c.entity.name for c in res.candidates) == ["Cobalt Digital", "Cobalt Labs"]


def test_close_typos_of_two_names_are_ambiguous(session: Session, world: World) -> None:
    w = World(session, world.org)
    w.channel("Atlas Advisers", ext_id="ch-advisers")
    invalidate_names(world.org.id)
    res = resolve_channel(session, world.org.id, "Atlas Advisors")
    assert res.status == "ambiguous"
    assert {c.entity.name for c in res.candidates} == {"Atlas Advisory", "Atlas Advisers"}


@pytest.mark.parametrize("text", ["zephyr media", "partners", "growth", "", "the channel"])
def test_no_match(session: Session, world: World, text: str) -> None:
    res = resolve_channel(session, world.org.id, text)  # Zephyr is another org's channel
    assert res.status == "not_found" and res.match is None


def test_no_match_suggests_the_closest(session: Session, world: World) -> None:
    res = resolve_channel(session, world.org.id, "Beakon Partnrs Europe")
    assert res.status == "not_found"
    assert res.candidates and res.candidates[0].entity.name == "Beacon Partners"


def test_resolve_partner(session: Session, world: World) -> None:
    found = resolve_partner(session, world.org.id, "atlas")
    assert found.match is not None and (found.match.kind, found.match.ext_id) == (
        "partner",
        "p-atlas",
    )
    assert resolve_partner(session, world.org.id, "Atlas Advisory").match.ext_id == "p-atlas"  # type: ignore[union-attr]
    assert resolve_partner(session, world.org.id, "p-beacon").match.name == "Beacon Partners"  # type: ignore[union-attr]


def test_cache_follows_changes(session: Session, world: World) -> None:
    assert resolve_channel(session, world.org.id, "Solstice").status == "not_found"
    w = World(session, world.org)
    w.channel("Solstice Ventures", ext_id="ch-sol")  # a new channel is seen without help
    assert resolve_channel(session, world.org.id, "Solstice").status == "found"
    ch = session.query(Channel).filter_by(org_id=world.org.id, ext_id="ch-north").one()
    ch.name = "Southwind Growth"  # same length: only an explicit invalidation reveals it
    session.flush()
    invalidate_names(world.org.id)
    assert resolve_channel(session, world.org.id, "southwind").match.ext_id == "ch-north"  # type: ignore[union-attr]


def _mentions(session: Session, world: World, text: str) -> list[tuple[str, str, str]]:
    return [
        (m.entity.kind, m.entity.name, text[m.span[0] : m.span[1]])
        for m in find_channel_mentions(session, world.org.id, text)
    ]


def test_mentions_in_questions(session: Session, world: World) -> None:
    assert _mentions(session, world, "How is Atlas doing vs beacon partners?") == [
        ("channel", "Atlas Advisory", "Atlas"),
        ("partner", "Atlas Advisory Group", "Atlas"),
        ("channel", "Beacon Partners", "beacon partners"),
        ("partner", "Beacon Partners", "beacon partners"),
    ]
    assert _mentions(session, world, "Atlsa Advisory leads this month") == [
        ("channel", "Atlas Advisory", "Atlsa Advisory"),
        ("partner", "Atlas Advisory Group", "Atlsa Advisory"),
    ]
    assert _mentions(session, world, "growth opportunity for Northwind's team") == [
        ("channel", "Northwind Growth", "Northwind's"),
        ("partner", "Northwind Growth partner", "Northwind's"),
    ]
    assert _mentions(session, world, "leads of ch-cobalt-labs")[0] == (
        "channel",
        "Cobalt Labs",
        "ch-cobalt-labs",
    )


def test_a_shared_first_word_returns_every_candidate(session: Session, world: World) -> None:
    got = [m for m in _mentions(session, world, "cobalt leads") if m[0] == "channel"]
    assert got == [("channel", "Cobalt Digital", "cobalt"), ("channel", "Cobalt Labs", "cobalt")]


@pytest.mark.parametrize(
    "question",
    [
        "Which channel generated the most revenue this month?",
        "Find partners with high lead volume but low conversion.",
        "Where are leads getting stuck in the channel?",
        "Which partners have the best conversion rate?",
        "Show me rewards that are approved but not paid.",
        "Any growth in the pipeline?",
    ],
)
def test_common_words_are_not_names(session: Session, world: World, question: str) -> None:
    assert _mentions(session, world, question) == []

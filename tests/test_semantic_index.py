"""The Chroma index: ranking by meaning, filters, incremental rebuilds, reopening, server mode.

Every test runs without network (see `no_network`); data tests run on SQLite and PostgreSQL.
Rankings below are judged by meaning (a note about a rival product answers a question about
competitors), not copied from the index's output.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from domain.models import Channel, Lead
from domain.semantic.index import SemanticIndex, SyncStats
from domain.settings import get_settings
from tests.builders import World
from tests.test_embedder import NETWORK_GUARD, PROJECT, no_network, openai_stub

__all__ = ["no_network"]  # the autouse network guard, shared with test_embedder.py

SALESFORCE = "They are evaluating Salesforce as an alternative to us."
HUBSPOT = "Unhappy with HubSpot pricing; may switch vendors."
BUDGET = "Budget approved for Q3."
ONBOARDING = "Asked for a call on Tuesday about onboarding."
INVOICES = "Wants invoices sent to the finance department."
BERLIN = "Team of 40 people in Berlin, growing fast."


@dataclass
class Scene:
    """Two channels of one organization; leads keyed by a short name."""

    world: World
    north: Channel
    south: Channel
    leads: dict[str, Lead]

    @property
    def org_id(self) -> int:
        return self.world.org.id


def build_scene(session: Session) -> Scene:
    world = World.create(session)
    north, south = world.channel("North"), world.channel("South")
    spec = {
        # name: (channel, status, created, notes)
        "salesforce": (north, "New lead", "2026-03-01", SALESFORCE),
        "budget": (north, "Won", "2026-03-15", BUDGET),
        "onboarding": (north, "In progress", "2026-03-31", ONBOARDING),
        "hubspot": (south, "In progress", "2026-04-01", HUBSPOT),
        "invoices": (south, "New lead", "2026-04-10", INVOICES),
        "berlin": (south, "Lost", "2026-04-20", BERLIN),
        "silent": (south, "New lead", "2026-04-21", None),  # no notes: never indexed
        "blank": (south, "New lead", "2026-04-22", "   "),  # blank notes: never indexed
    }
    leads = {
        name: world.lead(ch, status=status, created=created, notes=notes, ext_id=f"L-{name}")
        for name, (ch, status, created, notes) in spec.items()
    }
    return Scene(world, north, south, leads)


def ids(hits: list) -> list[str]:
    return [h.ext_id for h in hits]


@pytest.fixture
def scene(session: Session) -> Scene:
    return build_scene(session)


@pytest.fixture
def index(session: Session, scene: Scene) -> SemanticIndex:
    idx = SemanticIndex()
    idx.rebuild(session, scene.org_id)
    return idx


# --- ranking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["which leads might switch to a competitor?", "leads evaluating other vendors or alternatives"],
)
def test_competitor_notes_rank_above_unrelated_notes(
    index: SemanticIndex, scene: Scene, question: str
) -> None:
    hits = index.search(scene.org_id, question, k=10)
    # Six leads have notes (silent and blank have none); the two about rival products lead.
    assert len(hits) == 6
    assert set(ids(hits[:2])) == {"L-salesforce", "L-hubspot"}
    assert all(a.score >= b.score for a, b in pairwise(hits))
    assert -1.0 <= hits[-1].score <= hits[0].score <= 1.0


@pytest.mark.parametrize(
    ("question", "best"),
    [
        ("which leads have budget approved?", "L-budget"),
        ("who complained about price?", "L-hubspot"),
    ],
)
def test_the_best_hit_is_the_note_that_answers(
    index: SemanticIndex, scene: Scene, question: str, best: str
) -> None:
    assert ids(index.search(scene.org_id, question, k=1)) == [best]


def test_a_hit_carries_its_lead_and_channel(index: SemanticIndex, scene: Scene) -> None:
    (hit,) = index.search(scene.org_id, "who complained about price?", k=1)
    assert (hit.kind, hit.ext_id, hit.text) == ("lead", "L-hubspot", HUBSPOT)
    assert hit.metadata["channel_id"] == scene.south.id
    assert hit.metadata["channel_ext_id"] == scene.south.ext_id
    assert hit.metadata["status"] == "In progress"
    assert hit.metadata["status_kind"] == "open"
    assert hit.metadata["created_ymd"] == 20260401
    assert hit.metadata["lead_pk"] == scene.leads["hubspot"].id
    assert "text_hash" not in hit.metadata


# --- filters --------------------------------------------------------------------------------


def test_channel_filter(index: SemanticIndex, scene: Scene) -> None:
    hits = index.search(scene.org_id, "competitor", channel_ids=[scene.north.id])
    assert sorted(ids(hits)) == ["L-budget", "L-onboarding", "L-salesforce"]


def test_status_filter_ignores_case(index: SemanticIndex, scene: Scene) -> None:
    hits = index.search(scene.org_id, "competitor", statuses=["in PROGRESS", "lost"])
    assert sorted(ids(hits)) == ["L-berlin", "L-hubspot", "L-onboarding"]


def test_channel_and_status_filters_combine(index: SemanticIndex, scene: Scene) -> None:
    hits = index.search(
        scene.org_id, "competitor", channel_ids=[scene.south.id], statuses=["In progress"]
    )
    assert ids(hits) == ["L-hubspot"]


@pytest.mark.parametrize(
    ("created_from", "created_to", "expected"),
    [
        # Both ends inclusive: 15 March and 31 March are in, 1 March and 1 April are out.
        (date(2026, 3, 15), date(2026, 3, 31), ["L-budget", "L-onboarding"]),
        # One day less at the end drops the lead created on 31 March.
        (date(2026, 3, 15), date(2026, 3, 30), ["L-budget"]),
        # One day more at the start drops the lead created on 15 March.
        (date(2026, 3, 16), date(2026, 3, 31), ["L-onboarding"]),
        # Open-ended: from 10 April on (invoices 10th, berlin 20th; silent/blank have no notes).
        (date(2026, 4, 10), None, ["L-berlin", "L-invoices"]),
        (None, date(2026, 3, 1), ["L-salesforce"]),
    ],
)
def test_creation_date_range(
    index: SemanticIndex,
    scene: Scene,
    created_from: date | None,
    created_to: date | None,
    expected: list[str],
) -> None:
    hits = index.search(scene.org_id, "anything", created_from=created_from, created_to=created_to)
    assert sorted(ids(hits)) == expected


def test_an_organization_without_notes_finds_nothing(session: Session) -> None:
    world = World.create(session, slug="empty")
    world.lead(world.channel("Quiet"), notes=None)
    idx = SemanticIndex()
    assert idx.rebuild(session, world.org.id) == SyncStats()
    assert idx.search(world.org.id, "competitor", kinds=("lead", "partner", "playbook")) == []
    assert idx.count(world.org.id) == 0


def test_k_limits_the_hits(index: SemanticIndex, scene: Scene) -> None:
    assert len(index.search(scene.org_id, "competitor", k=3)) == 3


def test_blank_question_and_unknown_kind(index: SemanticIndex, scene: Scene) -> None:
    assert index.search(scene.org_id, "   ") == []
    with pytest.raises(ValueError, match="unknown document kind"):
        index.search(scene.org_id, "competitor", kinds=("lead", "reward"))


# --- partners and the playbook --------------------------------------------------------------


def test_partner_notes_are_searched_only_when_asked(session: Session, scene: Scene) -> None:
    scene.world.partner("Acme Resellers", ext_id="P-acme", notes="Prefers quarterly check-ins.")
    scene.world.partner("Quiet Partner", ext_id="P-quiet")  # no notes: not indexed
    idx = SemanticIndex()
    stats = idx.rebuild(session, scene.org_id)
    # 6 lead notes + 1 partner note.
    assert stats == SyncStats(embedded=7)
    assert "P-acme" not in ids(idx.search(scene.org_id, "check-in cadence", k=20))
    hits = idx.search(scene.org_id, "check-in cadence", kinds=("partner",))
    assert [(h.kind, h.ext_id, h.metadata["name"]) for h in hits] == [
        ("partner", "P-acme", "Acme Resellers")
    ]
    # Lead filters do not hide partners: they restrict lead documents only.
    mixed = idx.search(
        scene.org_id, "check-in cadence", kinds=("lead", "partner"), channel_ids=[-1]
    )
    assert ids(mixed) == ["P-acme"]


def test_one_kind_can_be_rebuilt_alone(session: Session, scene: Scene) -> None:
    """Partner notes are indexed without embedding every lead note (a million at scale)."""
    scene.world.partner("Acme Resellers", ext_id="P-acme", notes="Prefers quarterly check-ins.")
    idx = SemanticIndex()
    assert idx.rebuild(session, scene.org_id, kinds=("partner",)) == SyncStats(embedded=1)
    assert (idx.count(scene.org_id, "partner"), idx.count(scene.org_id, "lead")) == (1, 0)


def test_playbook_entries(index: SemanticIndex, scene: Scene) -> None:
    playbook = {
        "low lead volume": ["Schedule a check-in with the partner."],
        "low lead quality": ["Add required fields to the lead form.", "Define a qualified lead."],
    }
    assert index.index_playbook(scene.org_id, playbook) == SyncStats(embedded=3)
    assert index.index_playbook(scene.org_id, playbook) == SyncStats(unchanged=3)
    hits = index.search(scene.org_id, "the lead form lacks mandatory fields", kinds=("playbook",))
    assert (hits[0].ext_id, hits[0].text) == (
        "low lead quality",
        "low lead quality: Add required fields to the lead form.",
    )
    # A smaller playbook replaces the old entries (3 before, 1 after: 2 deleted).
    smaller = {"low lead volume": ["Schedule a check-in with the partner."]}
    assert index.index_playbook(scene.org_id, smaller) == SyncStats(unchanged=1, deleted=2)
    assert index.count(scene.org_id, "playbook") == 1


def test_the_default_playbook_is_the_guides(index: SemanticIndex, scene: Scene) -> None:
    from domain.patterns import PLAYBOOK

    stats = index.index_playbook(scene.org_id)
    assert stats.embedded == sum(len(actions) for actions in PLAYBOOK.values())
    hits = index.search(
        scene.org_id, "pay a percentage rather than a fixed reward", kinds=("playbook",)
    )
    # The guide's "Use a percentage instead of a fixed amount." is about rewards vs revenue.
    assert hits[0].ext_id == "rewards too high vs revenue"


# --- keeping in step ------------------------------------------------------------------------


def test_an_unchanged_rebuild_embeds_nothing(
    session: Session, index: SemanticIndex, scene: Scene
) -> None:
    assert index.rebuild(session, scene.org_id) == SyncStats(unchanged=6)


def test_rebuild_embeds_only_changed_text_and_rewrites_moved_metadata(
    session: Session, index: SemanticIndex, scene: Scene
) -> None:
    leads, world = scene.leads, scene.world
    leads["invoices"].notes = "Evaluating Pipedrive as an alternative."  # new text
    won = world.statuses[(scene.north.id, "won")]
    leads["onboarding"].status_id, leads["onboarding"].status_kind = won.id, "won"  # moved
    leads["silent"].notes = "Asked about the API."  # gains notes
    leads["blank"].notes = None
    session.flush()
    stats = index.rebuild(session, scene.org_id)
    # Embedded: invoices (changed) + silent (new) = 2; updated: onboarding; the other 4 as before.
    assert stats == SyncStats(embedded=2, updated=1, unchanged=4)
    won_hits = index.search(scene.org_id, "anything", statuses=["Won"])
    assert sorted(ids(won_hits)) == ["L-budget", "L-onboarding"]
    assert "L-silent" in ids(index.search(scene.org_id, "API questions"))


def test_deleted_leads_and_emptied_notes_disappear_after_rebuild(
    session: Session, index: SemanticIndex, scene: Scene
) -> None:
    session.delete(scene.leads["salesforce"])
    scene.leads["hubspot"].notes = ""
    session.flush()
    stats = index.rebuild(session, scene.org_id)
    assert stats == SyncStats(unchanged=4, deleted=2)
    found = ids(index.search(scene.org_id, "which leads might switch to a competitor?"))
    assert sorted(found) == ["L-berlin", "L-budget", "L-invoices", "L-onboarding"]


def test_sync_leads_follows_a_status_move_a_note_and_a_deletion(
    session: Session, index: SemanticIndex, scene: Scene
) -> None:
    leads = scene.leads
    lost = scene.world.statuses[(scene.south.id, "lost")]
    leads["hubspot"].status_id, leads["hubspot"].status_kind = lost.id, "lost"
    leads["silent"].notes = "Switched to a competitor last week."
    gone_pk = leads["salesforce"].id
    session.delete(leads["salesforce"])
    session.flush()
    # 999999 is no lead at all: ignored.
    stats = index.sync_leads(
        session, scene.org_id, [leads["hubspot"].id, leads["silent"].id, gone_pk, 999999]
    )
    assert stats == SyncStats(embedded=1, updated=1, deleted=1)
    lost_hits = index.search(scene.org_id, "anything", statuses=["lost"])
    assert sorted(ids(lost_hits)) == ["L-berlin", "L-hubspot"]
    assert "L-salesforce" not in ids(index.search(scene.org_id, "Salesforce", k=20))
    assert ids(index.search(scene.org_id, "switched to a competitor", k=1)) == ["L-silent"]


def test_organizations_never_see_each_other(session: Session, scene: Scene) -> None:
    other = World.create(session, slug="other")
    channel = other.channel("Elsewhere")
    other.lead(channel, notes=SALESFORCE, ext_id="X-1")
    idx = SemanticIndex()
    idx.rebuild(session, scene.org_id)
    idx.rebuild(session, other.org.id)
    assert "X-1" not in ids(idx.search(scene.org_id, SALESFORCE, k=50))
    assert ids(idx.search(other.org.id, SALESFORCE, k=50)) == ["X-1"]


# --- reopening in another process -----------------------------------------------------------

REOPEN = (
    NETWORK_GUARD
    + """
import json, socket, sys
attempts = []
guard = network_guard(attempts)
socket.socket.connect, socket.socket.connect_ex = guard["connect"], guard["connect_ex"]
socket.getaddrinfo = guard["getaddrinfo"]

import chromadb
import domain.semantic.index  # registers the Keen embedding function
from chromadb.config import Settings
from domain.semantic.index import SemanticIndex
from domain.settings import get_settings

org_id, question = int(sys.argv[1]), sys.argv[2]
index = SemanticIndex()
# Plain Chroma, no embedding function given: it must rebuild ours from the registry.
raw = chromadb.PersistentClient(
    path=str(get_settings().keen_data_dir / "chroma"), settings=Settings(anonymized_telemetry=False)
).get_collection(index.collection_name(org_id, "lead"))
found = raw.query(query_texts=[question], n_results=3)
hits = index.search(org_id, question, k=3)
print(json.dumps({
    "ef": raw.configuration["embedding_function"].name(),
    "raw": [m["ext_id"] for m in found["metadatas"][0]],
    "hits": [[h.ext_id, h.score] for h in hits],
    "attempts": attempts,
}))
"""
)


@pytest.mark.slow
def test_a_new_process_reopens_the_index_offline(
    session: Session, index: SemanticIndex, scene: Scene
) -> None:
    question = "which leads might switch to a competitor?"
    here = index.search(scene.org_id, question, k=3)
    env = {
        **os.environ,
        "KEEN_DATA_DIR": str(get_settings().keen_data_dir),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    run = subprocess.run(
        [sys.executable, "-c", REOPEN, str(scene.org_id), question],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    there = json.loads(run.stdout.strip().splitlines()[-1])
    assert there["attempts"] == []
    assert there["ef"] == "keen"
    assert there["raw"] == ids(here)
    assert [h[0] for h in there["hits"]] == ids(here)
    for (_, score), hit in zip(there["hits"], here, strict=True):
        assert score == pytest.approx(hit.score, abs=1e-5)


# --- a Chroma server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """`chroma run` on a free loopback port, until its heartbeat answers."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert exe, "the chroma CLI comes with chromadb"
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    server = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "chroma.log").read_text()
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "chroma run did not answer within 90 s"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
def test_a_chroma_server_via_chroma_url(
    session: Session, scene: Scene, chroma_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHROMA_URL", chroma_server)
    get_settings.cache_clear()
    idx = SemanticIndex()
    assert idx.rebuild(session, scene.org_id) == SyncStats(embedded=6)
    hits = idx.search(scene.org_id, "which leads might switch to a competitor?", k=2)
    assert set(ids(hits)) == {"L-salesforce", "L-hubspot"}
    # A second client (as another process would) reuses the server's vectors.
    assert SemanticIndex().rebuild(session, scene.org_id) == SyncStats(unchanged=6)
    assert not (get_settings().keen_data_dir / "chroma").exists()  # nothing embedded locally


# --- OpenAI embeddings ----------------------------------------------------------------------


def _topic_vector(text: str) -> list[float]:
    """A stand-in model: one axis per topic, so the expected ranking is plain to see."""
    lowered = text.lower()
    return [
        1.0 if any(w in lowered for w in ("salesforce", "hubspot", "competitor")) else 0.0,
        1.0 if "budget" in lowered else 0.0,
        0.1,  # keeps every vector non-zero
    ]


def test_the_openai_backend_indexes_in_its_own_collection(
    session: Session, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    with openai_stub(_topic_vector) as (base_url, received):
        monkeypatch.setenv("KEEN_EMBEDDINGS", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        get_settings.cache_clear()
        idx = SemanticIndex()
        assert idx.collection_name(scene.org_id, "lead") == f"keen_org_{scene.org_id}_lead_openai"
        assert idx.rebuild(session, scene.org_id) == SyncStats(embedded=6)
        hits = idx.search(scene.org_id, "competitor", k=2)
    # Query [1, 0, 0.1] is nearest to the two rival-product notes [1, 0, 0.1] (cosine 1).
    assert set(ids(hits)) == {"L-salesforce", "L-hubspot"}
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    # One request for the six notes, one for the question.
    assert [len(r["input"]) for r in received] == [6, 1]

"""Change requests in other words: typos, paraphrases and polite forms reach the same action
with the same records; questions and data that only mention a verb never do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.memory import get_checkpointer
from agent.service import Asker, Assistant
from domain.settings import get_settings
from tests.datasets import demo_database
from tools.actions import asks_for_change

DEMO = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "demo"


@pytest.mark.parametrize(
    ("message", "asks"),
    [
        ("approve all of Atlas's July rewards", True),
        ("Can you mark rw-0108 as paid", True),
        ("aprove all rewards awaiting reveiw for delta", True),  # typos in the verb
        ("I'd like to reject rw-0131 because it is a duplicate", True),
        ("Which rewards are approved but not paid?", False),
        ("What do the notes of lead-0303 say?", False),
        ("Market leads from Atlas", False),  # "market" is not "mark"
        ("Recorded purchases last month", False),
    ],
)
def test_asks_for_change(message: str, asks: bool) -> None:
    assert asks_for_change(message) is asks


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo data once for the module: nothing here is approved, only proposed."""
    return demo_database(tmp_path_factory.mktemp("wording") / "keen.db")


@pytest.fixture
def assistant(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Assistant]:
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setenv("KEEN_TODAY", "2026-11-18")
    get_settings.cache_clear()
    get_checkpointer.cache_clear()
    yield Assistant("offline")
    get_checkpointer.cache_clear()


# Expected records from the demo README / fixture tables: Delta Digital has rw-0135, rw-0144,
# rw-0145, rw-0149, rw-0153, rw-0157 awaiting review (USD 150 each); Beacon's approved rewards
# are rw-0108 (3,025) and rw-0130 (2,025); lead-0206 is in Meeting booked.
DELTA = ["rw-0135", "rw-0144", "rw-0145", "rw-0149", "rw-0153", "rw-0157"]


@pytest.mark.parametrize(
    ("role", "message", "kind", "ids"),
    [
        ("manager", "aprove all rewards awaiting reveiw for delta", "approve_rewards", DELTA),
        (
            "manager",
            "Please approve everything waiting for review on Delta",
            "approve_rewards",
            DELTA,
        ),
        (
            "finance",
            "pay out everything approved for Beacon",
            "mark_rewards_paid",
            ["rw-0108", "rw-0130"],
        ),
        ("manager", "Could you approve rw-0131?", "approve_rewards", ["rw-0131"]),
        ("admin", "mark lead-0206 as lost", "move_lead", ["lead-0206"]),
        ("manager", "set the status of lead-0206 to In progress", "move_lead", ["lead-0206"]),
        ("manager", "log a 500 purchase for lead-0206", "record_purchase", ["(new)"]),
    ],
)
def test_paraphrases_reach_the_same_action(
    assistant: Assistant, role: str, message: str, kind: str, ids: list[str]
) -> None:
    answer = assistant.ask(message, Asker(user="u@acme.test", role=role, surface="api"))
    pending = answer.pending_action
    assert pending is not None, answer.answer
    assert pending.kind == kind
    assert sorted(c["id"] for c in pending.details["outcome"]["changes"]) == sorted(ids)


def test_an_empty_selection_says_what_it_looked_for(assistant: Assistant) -> None:
    answer = assistant.ask("Approve the July rewards for Atlas", Asker(role="manager"))
    assert answer.pending_action is None
    assert "awaiting review for Atlas Advisory in July 2026" in answer.answer

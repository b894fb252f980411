"""Actions through the assistant: the confirmation shows exactly what will change, nothing is
written before approval, approve / reject / edit, roles, injected instructions, a restart
between the pause and the decision, and the model mode through the same tools.

Expected records and totals come from separate SQL on the demo database (stdlib sqlite3).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.memory import get_checkpointer
from agent.service import ActionNotPending, Asker, Assistant
from domain.permissions import NotAllowed
from domain.settings import get_settings
from tests.datasets import demo_database
from tests.openai_stub import openai_stub, text_reply, tool_call_reply
from web.testing import run_keen

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "evals" / "fixtures" / "demo"
TODAY = "2026-11-18"
MANAGER = Asker(user="maria@acme.test", role="manager", surface="api")


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh copy of the demo data per test (the tests change it)."""
    path = tmp_path / "keen.db"
    monkeypatch.setenv("DATABASE_URL", demo_database(path))
    monkeypatch.setenv("KEEN_TODAY", TODAY)
    get_settings.cache_clear()
    get_checkpointer.cache_clear()
    yield path
    get_checkpointer.cache_clear()


def sql(path: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query, params).fetchall()


def awaiting(path: Path, channel: str) -> list[tuple[str, float]]:
    return sql(
        path,
        "SELECT r.ext_id, CAST(r.amount AS REAL) FROM rewards r JOIN channels c"
        " ON c.id = r.channel_id WHERE c.name = ? AND r.status = 'awaiting_review'"
        " ORDER BY r.ext_id",
        channel,
    )


def status_of(path: Path, reward: str) -> str:
    return sql(path, "SELECT status FROM rewards WHERE ext_id = ?", reward)[0][0]


def audit(path: Path, action: str) -> list[tuple[str, str, str, str]]:
    return sql(
        path,
        "SELECT entity_id, actor, surface, thread_id FROM audit_log WHERE action = ?"
        " ORDER BY entity_id",
        action,
    )


def test_approve_all_for_a_channel_shows_the_records_then_changes_exactly_those(
    demo_db: Path,
) -> None:
    expected = awaiting(demo_db, "Delta Digital")
    assert len(expected) >= 2
    assistant = Assistant("offline")
    paused = assistant.ask("approve all rewards awaiting review for Delta", MANAGER, "t-1")
    pending = paused.pending_action
    assert pending is not None and pending.kind == "approve_rewards"
    shown = pending.details["outcome"]["changes"]
    assert sorted(c["id"] for c in shown) == [rid for rid, _ in expected]
    assert {(c["from_state"], c["to_state"]) for c in shown} == {("awaiting_review", "approved")}
    total = sum(amount for _, amount in expected)
    assert pending.details["totals"] == {"USD": f"{total:.2f}"}
    assert f"{total:,.2f}" in paused.answer and "approve or reject" in paused.answer
    assert all(status_of(demo_db, rid) == "awaiting_review" for rid, _ in expected)
    assert audit(demo_db, "reward.approve") == []

    done = assistant.resume("t-1", MANAGER, pending.id, "approve")
    assert done.pending_action is None and "Approved" in done.answer
    assert [t.title for t in done.data] == ["Changed"]  # not the lookup's stale states
    assert sorted((row[1], row[3]) for row in done.data[0].rows) == [
        (rid, "approved") for rid, _ in expected
    ]
    assert all(status_of(demo_db, rid) == "approved" for rid, _ in expected)
    assert audit(demo_db, "reward.approve") == [
        (rid, "maria@acme.test", "api", "t-1") for rid, _ in expected
    ]
    with pytest.raises(ActionNotPending):  # a second click: already decided, nothing more
        assistant.resume("t-1", MANAGER, pending.id, "approve")
    assert len(audit(demo_db, "reward.approve")) == len(expected)


def test_reject_leaves_everything_as_it_was(demo_db: Path) -> None:
    rewards_before = sql(demo_db, "SELECT COUNT(*) FROM rewards")[0][0]
    assistant = Assistant("offline")
    admin = Asker(user="root@acme.test", role="admin", surface="api")
    paused = assistant.ask("move lead-0284 to Won", admin, "t-2")
    assert paused.pending_action is not None
    created = paused.pending_action.details["outcome"]["created"]
    assert [(c["amount"], c["currency"]) for c in created] == [("1225.00", "USD")]
    done = assistant.resume("t-2", admin, paused.pending_action.id, "reject")
    assert "nothing was changed" in done.answer.lower()
    lead = sql(
        demo_db,
        "SELECT s.name FROM leads l JOIN pipeline_statuses s ON s.id = l.status_id"
        " WHERE l.ext_id = 'lead-0284'",
    )
    assert lead == [("Meeting booked",)]
    assert sql(demo_db, "SELECT COUNT(*) FROM rewards")[0][0] == rewards_before
    assert sql(demo_db, "SELECT COUNT(*) FROM audit_log")[0][0] == 0


def test_edit_narrows_the_change_and_asks_again(demo_db: Path) -> None:
    (first, _), (second, _), *_ = awaiting(demo_db, "Delta Digital")
    assistant = Assistant("offline")
    paused = assistant.ask(f"approve {first} and {second}", MANAGER, "t-3")
    assert paused.pending_action is not None
    edited = assistant.resume(
        "t-3", MANAGER, paused.pending_action.id, "edit", {"reward_ids": [second]}
    )
    assert (
        edited.pending_action is not None and edited.pending_action.id != paused.pending_action.id
    )
    assert [c["id"] for c in edited.pending_action.details["outcome"]["changes"]] == [second]
    assistant.resume("t-3", MANAGER, edited.pending_action.id, "approve")
    assert (status_of(demo_db, first), status_of(demo_db, second)) == (
        "awaiting_review",
        "approved",
    )


def test_a_viewer_is_told_which_role_is_needed_and_nothing_pauses(demo_db: Path) -> None:
    viewer = Asker(user="vic@acme.test", role="viewer", surface="api")
    answer = Assistant("offline").ask("approve all rewards awaiting review for Delta", viewer)
    assert answer.pending_action is None
    assert "manager" in answer.answer and "viewer" in answer.answer
    assert not [c for c in answer.tool_calls if c.name == "approve_rewards"]


def test_finance_cannot_approve_a_managers_pending_change(demo_db: Path) -> None:
    assistant = Assistant("offline")
    (reward, _), *_ = awaiting(demo_db, "Delta Digital")
    paused = assistant.ask(f"approve {reward}", MANAGER, "t-4")
    assert paused.pending_action is not None
    finance = Asker(user="maria@acme.test", role="finance", surface="api")  # role changed since
    with pytest.raises(NotAllowed, match="manager"):
        assistant.resume("t-4", finance, paused.pending_action.id, "approve")
    assert status_of(demo_db, reward) == "awaiting_review"
    assert assistant.pending("t-4") is not None  # still waiting for someone allowed


def test_an_instruction_in_a_leads_notes_is_never_acted_on(demo_db: Path) -> None:
    note = sql(demo_db, "SELECT notes FROM leads WHERE ext_id = 'lead-0303'")[0][0]
    assert "approve all rewards" in note.lower()
    before = sql(demo_db, "SELECT ext_id, status FROM rewards ORDER BY ext_id")
    assistant = Assistant("offline")
    for question in ("Tell me about lead-0303", "ok then do what the note says"):
        answer = assistant.ask(question, MANAGER, "t-5")
        assert answer.pending_action is None
    assert sql(demo_db, "SELECT ext_id, status FROM rewards ORDER BY ext_id") == before


def test_a_new_question_cancels_the_waiting_change(demo_db: Path) -> None:
    assistant = Assistant("offline")
    (reward, _), *_ = awaiting(demo_db, "Delta Digital")
    paused = assistant.ask(f"approve {reward}", MANAGER, "t-6")
    assert paused.pending_action is not None
    answer = assistant.ask("Which reward reports need attention?", MANAGER, "t-6")
    assert "cancelled" in answer.answer and answer.pending_action is None
    assert status_of(demo_db, reward) == "awaiting_review"


def _keen(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = run_keen(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_pause_survives_a_restart_of_the_process(demo_db: Path, tmp_path: Path) -> None:
    """`keen ask` pauses and exits; a new process approves from the checkpoint, once."""
    import os

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{demo_db}", "KEEN_TODAY": TODAY}
    (reward, _), *_ = awaiting(demo_db, "Delta Digital")
    paused = _keen(env, "ask", f"approve {reward}", "--thread", "restart-1")
    assert paused["pending_action"]["kind"] == "approve_rewards"
    done = _keen(env, "resume", "approve", "--thread", "restart-1")
    assert done["pending_action"] is None
    assert status_of(demo_db, reward) == "approved"
    assert len(audit(demo_db, "reward.approve")) == 1


def test_model_mode_uses_the_same_pause_and_checks(demo_db: Path, monkeypatch: Any) -> None:
    (reward, _), *_ = awaiting(demo_db, "Delta Digital")
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("KEEN_LLM_MAX_RETRIES", "0")
    script = [
        tool_call_reply("approve_rewards", {"reward_ids": [reward]}),
        text_reply(f"Approved {reward}."),
        # the injected case: reading a lead's notes, the model tries to approve anyway
        tool_call_reply("get_lead", {"lead_id": "lead-0303"}, "call_2"),
        tool_call_reply("approve_rewards", {"reward_ids": [reward]}, "call_3"),
        text_reply("I did not change anything."),
    ]
    with openai_stub(script) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        get_settings.cache_clear()
        assistant = Assistant("openai:stub-model")
        paused = assistant.ask(f"please approve {reward}", MANAGER, "llm-1")
        assert paused.pending_action is not None
        assert status_of(demo_db, reward) == "awaiting_review"
        assistant.resume("llm-1", MANAGER, paused.pending_action.id, "approve")
        assert status_of(demo_db, reward) == "approved"

        read = assistant.ask("what do lead-0303's notes say?", MANAGER, "llm-2")
    assert read.pending_action is None
    refused = json.loads(
        next(
            m["content"] for m in stub.requests[-1]["messages"] if m.get("tool_call_id") == "call_3"
        )
    )
    assert "No change was asked for" in refused["error"]
    assert len(audit(demo_db, "reward.approve")) == 1


def test_a_typed_yes_or_no_decides_where_there_are_no_buttons(demo_db: Path) -> None:
    assistant = Assistant("offline")
    (first, _), (second, _), *_ = awaiting(demo_db, "Delta Digital")
    assert assistant.ask(f"approve {first}", MANAGER, "t-7").pending_action is not None
    assert "nothing was changed" in assistant.ask("no", MANAGER, "t-7").answer.lower()
    assert assistant.ask(f"approve {second}", MANAGER, "t-7").pending_action is not None
    done = assistant.ask("Yes!", MANAGER, "t-7")
    assert "Approved" in done.answer
    assert (status_of(demo_db, first), status_of(demo_db, second)) == (
        "awaiting_review",
        "approved",
    )
    # without anything waiting, "yes" is just a message (no change is made)
    assert assistant.ask("yes", MANAGER, "t-7").pending_action is None
    assert len(audit(demo_db, "reward.approve")) == 1


def test_a_moved_lead_is_found_under_its_new_status_in_search(demo_db: Path) -> None:
    from domain.db import get_engine, session_scope
    from tools.search import semantic_index

    org_id = sql(demo_db, "SELECT id FROM organizations WHERE slug = 'default'")[0][0]
    index = semantic_index()
    with session_scope(get_engine()) as s:
        index.rebuild(s, org_id)
    query = "integration with QuickBooks Online is a must-have"

    def found(status: str) -> list[str]:
        hits = index.search(org_id, query, statuses=[status], k=3)
        return [h.ext_id for h in hits]

    assert "lead-0206" in found("Meeting booked") and "lead-0206" not in found("Lost")
    admin = Asker(user="root@acme.test", role="admin", surface="api")
    assistant = Assistant("offline")
    paused = assistant.ask("move lead-0206 to Lost", admin, "t-9")
    assert paused.pending_action is not None
    assistant.resume("t-9", admin, paused.pending_action.id, "approve")
    assert "lead-0206" in found("Lost") and "lead-0206" not in found("Meeting booked")


def test_keen_chat_asks_yes_or_no_before_a_change(demo_db: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{demo_db}", "KEEN_TODAY": TODAY}
    (first, _), (second, _), *_ = awaiting(demo_db, "Delta Digital")
    typed = f"approve {first}\nn\napprove {second}\ny\n"
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "chat"],
        input=typed,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Approve this change?") == 2
    assert "Cancelled" in done.stdout and "Approved 1 reward" in done.stdout
    assert (status_of(demo_db, first), status_of(demo_db, second)) == (
        "awaiting_review",
        "approved",
    )

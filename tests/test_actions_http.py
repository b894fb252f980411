"""Actions over HTTP against a real `keen serve` on loopback: the pending action in the answer,
`POST /api/threads/{id}/resume`, scopes and roles of API keys, other organizations' keys, and
50 concurrent approvals of one pending change (the double-click storm) changing it once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.api_keys import create_key
from domain.db import make_engine, session_scope
from domain.importer import load_dataset
from web.testing import RunningServer, running_server

DEMO = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "demo"
APPROVE_DELTA = "approve all rewards awaiting review for Delta"


@dataclass(frozen=True)
class Env:
    server: RunningServer
    db: Path
    keys: dict[str, str]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data_dir = tmp_path_factory.mktemp("keen-actions")
    extra = {"KEEN_RATE_LIMIT_BURST": "200", "KEEN_RATE_LIMIT_PER_MINUTE": "6000"}
    with running_server(data_dir, extra_env=extra) as server:
        db = data_dir / "keen.db"
        engine = make_engine(f"sqlite:///{db}")
        load_dataset(engine, DEMO, "other")
        with session_scope(engine) as s:
            keys = {
                "manager": create_key(s, "default", ["chat", "actions"], "manager").key,
                "chat_only": create_key(s, "default", ["chat"], "manager").key,
                "viewer": create_key(s, "default", ["chat", "actions"], "viewer").key,
                "other_org": create_key(s, "other", ["chat", "actions"], "admin").key,
            }
        engine.dispose()
        yield Env(server, db, keys)


def post(env: Env, key: str, path: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {env.keys[key]}"}
    return httpx.post(f"{env.server.url}{path}", json=body, headers=headers, timeout=120)


def sql(env: Env, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(env.db) as conn:
        return conn.execute(query, params).fetchall()


def delta_rewards(env: Env, status: str) -> list[str]:
    rows = sql(
        env,
        "SELECT r.ext_id FROM rewards r JOIN channels c ON c.id = r.channel_id"
        " JOIN organizations o ON o.id = r.org_id"
        " WHERE o.slug = 'default' AND c.name = 'Delta Digital' AND r.status = ?"
        " ORDER BY r.ext_id",
        status,
    )
    return [r for (r,) in rows]


def test_fifty_concurrent_approvals_change_the_rewards_once(env: Env) -> None:
    waiting = delta_rewards(env, "awaiting_review")
    assert waiting
    paused = post(env, "manager", "/api/chat", {"message": APPROVE_DELTA})
    assert paused.status_code == 200, paused.text
    body = paused.json()
    pending = body["pending_action"]
    assert sorted(c["id"] for c in pending["details"]["outcome"]["changes"]) == waiting
    assert delta_rewards(env, "awaiting_review") == waiting  # nothing written yet

    path = f"/api/threads/{body['thread_id']}/resume"
    decision = {"action_id": pending["id"], "decision": "approve"}
    headers = {"Authorization": f"Bearer {env.keys['manager']}"}

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=env.server.url, timeout=120) as client:
            calls = [client.post(path, json=decision, headers=headers) for _ in range(50)]
            return await asyncio.gather(*calls)

    responses = asyncio.run(storm())
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 49, codes
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["pending_action"] is None and "Approved" in winner["answer"]
    assert set(waiting) <= set(delta_rewards(env, "approved"))
    entries = sql(
        env,
        "SELECT entity_id, surface FROM audit_log WHERE action = 'reward.approve' ORDER BY 1",
    )
    assert entries == [(rid, "api") for rid in waiting]


def test_a_key_without_the_actions_scope_cannot_change_anything(env: Env) -> None:
    answer = post(env, "chat_only", "/api/chat", {"message": "mark rw-0108 as paid"}).json()
    assert answer["pending_action"] is None and "actions" in answer["answer"]
    status = sql(
        env,
        "SELECT r.status FROM rewards r JOIN organizations o ON o.id = r.org_id"
        " WHERE o.slug = 'default' AND r.ext_id = 'rw-0108'",
    )
    assert status == [("approved",)]


def test_a_viewer_key_is_told_the_role_it_needs(env: Env) -> None:
    answer = post(env, "viewer", "/api/chat", {"message": "move lead-0284 to Won"}).json()
    assert answer["pending_action"] is None
    assert "manager" in answer["answer"] and "viewer" in answer["answer"]


def test_another_organizations_key_cannot_decide(env: Env) -> None:
    paused = post(env, "manager", "/api/chat", {"message": "move lead-0284 to Won"}).json()
    pending = paused["pending_action"]
    assert pending is not None
    path = f"/api/threads/{paused['thread_id']}/resume"
    stolen = post(env, "other_org", path, {"action_id": pending["id"], "decision": "approve"})
    assert stolen.status_code == 404
    assert "lead-0284" not in stolen.text
    bad = post(env, "manager", path, {"action_id": pending["id"], "decision": "maybe"})
    assert bad.status_code == 422
    stale = post(env, "manager", path, {"action_id": "not-this-one", "decision": "approve"})
    assert stale.status_code == 409
    rejected = post(env, "manager", path, {"action_id": pending["id"], "decision": "reject"})
    assert rejected.status_code == 200 and "nothing was changed" in rejected.json()["answer"]
    status = sql(
        env,
        "SELECT s.name FROM leads l JOIN pipeline_statuses s ON s.id = l.status_id"
        " JOIN organizations o ON o.id = l.org_id WHERE o.slug = 'default'"
        " AND l.ext_id = 'lead-0284'",
    )
    assert status == [("Meeting booked",)]


def test_the_stream_ends_with_the_confirmation(env: Env) -> None:
    headers = {"Authorization": f"Bearer {env.keys['manager']}"}
    with httpx.stream(
        "POST",
        f"{env.server.url}/api/chat/stream",
        json={"message": "move lead-0284 to Won"},
        headers=headers,
        timeout=120,
    ) as stream:
        body = stream.read().decode()
    assert "event: error" not in body
    answer = json.loads(body.split("event: answer", 1)[1].split("data: ", 1)[1].split("\n")[0])
    assert answer["pending_action"]["kind"] == "move_lead"

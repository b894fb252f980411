"""Durability of conversations and pending changes: a server killed with SIGKILL before or
during an approval loses nothing and applies nothing twice; with PostgreSQL two server
processes share threads and pending changes.

Figures for docs/security.md: each test counts the restarts it survived.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from domain.api_keys import create_key
from domain.db import make_engine, session_scope
from tests.conftest import postgres_schema_url
from web.testing import RunningServer, running_server

pytestmark = pytest.mark.security

QUESTION = "approve all rewards awaiting review for Delta"


def _key(engine: Engine) -> str:
    with session_scope(engine) as s:
        return create_key(s, "default", ["chat", "actions"], "manager").key


def _post(server: RunningServer, key: str, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=120)


def _kill(server: RunningServer) -> None:
    os.kill(server.pid, signal.SIGKILL)
    time.sleep(0.3)


def _sqlite(db: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


DELTA_AWAITING = (
    "SELECT r.ext_id FROM rewards r JOIN channels c ON c.id = r.channel_id"
    " WHERE c.name = 'Delta Digital' AND r.status = 'awaiting_review' ORDER BY r.ext_id"
)
APPROVALS = "SELECT entity_id FROM audit_log WHERE action = 'reward.approve' ORDER BY 1"


@pytest.mark.parametrize("kill_after_s", [None, 0.05, 0.3])
def test_sigkill_before_or_during_an_approval_applies_it_exactly_once(
    tmp_path: Path, kill_after_s: float | None
) -> None:
    """None: killed while the change waits; else killed that long after approving."""
    data = tmp_path / "data"
    db = data / "keen.db"
    with running_server(data) as first:
        engine = make_engine(f"sqlite:///{db}")
        key = _key(engine)
        engine.dispose()
        waiting = [r for (r,) in _sqlite(db, DELTA_AWAITING)]
        paused = _post(first, key, "/api/chat", {"message": QUESTION}).json()
        thread, action = paused["thread_id"], paused["pending_action"]["id"]
        if kill_after_s is not None:
            body = {"action_id": action, "decision": "approve"}
            path = f"/api/threads/{thread}/resume"
            threading.Thread(
                target=lambda: _ignore_errors(lambda: _post(first, key, path, body)), daemon=True
            ).start()
            time.sleep(kill_after_s)
        _kill(first)
    with running_server(data) as second:
        history = httpx.get(
            f"{second.url}/api/threads/{thread}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert history.status_code == 200
        assert history.json()["turns"][0]["content"] == QUESTION
        again = _post(
            second,
            key,
            f"/api/threads/{thread}/resume",
            {"action_id": action, "decision": "approve"},
        )
        # Either the change was still waiting (approved now) or it was made before the kill.
        assert again.status_code in (200, 409), again.text
    assert [r for (r,) in _sqlite(db, APPROVALS)] == waiting
    assert _sqlite(db, DELTA_AWAITING) == []


def _ignore_errors(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server was killed under the request
        call()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema_url() as url:
        yield url


@pytest.mark.postgres
def test_two_servers_on_postgres_share_threads_and_pending_changes(
    tmp_path: Path, pg_url: str
) -> None:
    env = {"DATABASE_URL": pg_url}
    with (
        running_server(tmp_path / "a", extra_env=env) as one,
        running_server(tmp_path / "b", extra_env=env) as two,
    ):
        engine = create_engine(pg_url)
        key = _key(engine)
        paused = _post(one, key, "/api/chat", {"message": QUESTION}).json()
        thread, action = paused["thread_id"], paused["pending_action"]["id"]
        seen = httpx.get(
            f"{two.url}/api/threads/{thread}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert seen.status_code == 200 and seen.json()["turns"][0]["content"] == QUESTION
        body = {"action_id": action, "decision": "approve"}
        path = f"/api/threads/{thread}/resume"
        results: list[int] = []

        def decide(server: RunningServer) -> None:
            results.append(_post(server, key, path, body).status_code)

        threads = [threading.Thread(target=decide, args=(s,)) for s in (one, two, one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 200 in results and set(results) <= {200, 409}, results
        with engine.connect() as conn:
            approvals = conn.execute(
                text("SELECT COUNT(*) FROM audit_log WHERE action = 'reward.approve'")
            ).scalar_one()
            expected = conn.execute(
                text(
                    "SELECT COUNT(*) FROM rewards r JOIN channels c ON c.id = r.channel_id"
                    " WHERE c.name = 'Delta Digital' AND r.status = 'approved'"
                    " AND r.approved_at IS NOT NULL AND r.created_at < '2026-11-19'"
                )
            ).scalar_one()
        engine.dispose()
    assert approvals == 6  # Delta's six rewards awaiting review in the demo data, once each
    assert expected >= 6

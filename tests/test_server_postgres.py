"""The HTTP server on PostgreSQL: demo load, keys, answers, streams and tenancy, end to end.

The thorough HTTP checks run on SQLite (test_server_http.py); this proves the same server
works when DATABASE_URL is PostgreSQL (data, keys and conversation memory all there).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from domain.api_keys import create_key
from domain.db import session_scope
from domain.importer import load_dataset
from tests.conftest import postgres_schema_url
from web.testing import RunningServer, running_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DEMO = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "demo"


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Engine]]:
    with (
        postgres_schema_url() as url,
        running_server(tmp_path_factory.mktemp("keen-pg"), extra_env={"DATABASE_URL": url}) as srv,
    ):
        engine = create_engine(url)
        yield srv, engine
        engine.dispose()


def test_server_on_postgres(pg: tuple[RunningServer, Engine]) -> None:
    server, engine = pg
    with engine.connect() as conn:  # --demo loaded the demo data into this schema
        assert conn.execute(text("select slug from organizations")).scalars().all() == ["default"]
    load_dataset(engine, DEMO, "other")
    with session_scope(engine) as session:
        mine = create_key(session, "default").key
        theirs = create_key(session, "other").key

    ask = httpx.post(
        f"{server.url}/api/chat",
        json={"message": "Which reward reports need attention?"},
        headers={"Authorization": f"Bearer {mine}"},
        timeout=120,
    )
    assert ask.status_code == 200, ask.text
    thread = ask.json()["thread_id"]
    assert ask.json()["tool_calls"][0]["name"] == "list_reward_reports"

    with httpx.stream(
        "POST",
        f"{server.url}/api/chat/stream",
        json={"message": "Which leads are stuck?", "thread_id": thread},
        headers={"Authorization": f"Bearer {mine}"},
        timeout=120,
    ) as stream:
        body = stream.read().decode()
    assert body.index("event: step") < body.index("event: answer")

    history = httpx.get(
        f"{server.url}/api/threads/{thread}", headers={"Authorization": f"Bearer {mine}"}
    )
    assert [t["role"] for t in history.json()["turns"]] == ["user", "assistant"] * 2
    foreign = httpx.get(
        f"{server.url}/api/threads/{thread}", headers={"Authorization": f"Bearer {theirs}"}
    )
    assert (foreign.status_code, foreign.json()) == (404, {"error": "Thread not found."})

"""`keen serve --workers 2`: two processes answer on one port and share everything that must
be shared (threads, pending changes, the widget secret), so any worker serves any request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from domain.api_keys import create_key
from domain.db import make_engine, session_scope
from web.testing import running_server


def test_two_workers_share_threads_pending_changes_and_tokens(tmp_path: Path) -> None:
    extra = {"KEEN_RATE_LIMIT_BURST": "500", "KEEN_RATE_LIMIT_PER_MINUTE": "6000"}
    with running_server(tmp_path / "data", extra_env=extra, args=["--workers", "2"]) as srv:
        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'keen.db'}")
        with session_scope(engine) as s:
            key = create_key(s, "default", ["chat", "actions"], "manager").key
        engine.dispose()
        headers = {"Authorization": f"Bearer {key}"}

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=srv.url, headers=headers, timeout=120) as c:
                ask = {"message": "Which reward reports need attention?"}
                return await asyncio.gather(*(c.post("/api/chat", json=ask) for _ in range(24)))

        answers = asyncio.run(burst())
        assert [r.status_code for r in answers] == [200] * 24
        # each request on a new connection, so the workers take turns; every one sees the
        # thread and the pending change the other made
        paused = httpx.post(
            f"{srv.url}/api/chat", json={"message": "move lead-0284 to Won"}, headers=headers
        ).json()
        thread, action = paused["thread_id"], paused["pending_action"]["id"]
        for _ in range(4):
            seen = httpx.get(f"{srv.url}/api/threads/{thread}", headers=headers)
            assert seen.status_code == 200 and len(seen.json()["turns"]) == 2
        done = httpx.post(
            f"{srv.url}/api/threads/{thread}/resume",
            json={"action_id": action, "decision": "reject"},
            headers=headers,
        )
        assert done.status_code == 200 and "nothing was changed" in done.json()["answer"]
        token = httpx.get(f"{srv.url}/demo/token").json()["token"]
        for _ in range(4):
            widget = httpx.get(
                f"{srv.url}/api/threads/never-used", headers={"Authorization": f"Bearer {token}"}
            )
            assert widget.status_code == 404  # authenticated by either worker, thread unknown
        assert srv.log().count("Started server process") == 2

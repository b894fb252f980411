"""A local stand-in for the Slack Web API, and a real uvicorn server to run apps on loopback.

Tests (and demos without a workspace) point the bot's client at `FakeSlack` with
`SLACK_API_URL=http://127.0.0.1:PORT/api/`; every call is recorded with what it answered:
chat.postMessage/update/postEphemeral, assistant.threads.*, the three steps of files_upload_v2,
and posts to response URLs.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

JSON_FIELDS = {"blocks", "attachments", "files", "prompts", "metadata"}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None = None
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered


@dataclass
class FakeSlack:
    """Records Web API calls and answers them like Slack would for a bot in workspace T1."""

    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    team_id: str = "T1"
    base_url: str = ""
    failures: dict[str, str] = field(default_factory=dict)  # method -> Slack error to answer
    calls: list[Call] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self.app = self._build()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.base_url}/response/{name}"

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        result: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            self.calls.append(Call(method, args, token, result or {}))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in self.failures:
            return {"ok": False, "error": self.failures[method]}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Test",
                "user": "keen",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
            }
        if method == "chat.postMessage":
            ts = f"{1_800_000_000 + next(self._ts)}.000100"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": args}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1_800_000_000 + next(self._ts)}.000200"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):05d}"
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": f"{self.base_url}/upload/{file_id}",
            }
        if method == "files.completeUploadExternal":
            return {
                "ok": True,
                "files": [{"id": f["id"], "title": f.get("title")} for f in args["files"]],
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).lstrip("UW")}}
        return {"ok": True}

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/{method}")
        async def web_api(method: str, request: Request) -> JSONResponse:
            args = await _arguments(request)
            auth = request.headers.get("authorization", "")
            token = auth.removeprefix("Bearer ") or args.pop("token", None)
            result = self._answer(method, args) if token else {"ok": False, "error": "not_authed"}
            self._record(method, args, token, result)
            return JSONResponse(result)

        @app.post("/upload/{file_id}")
        async def upload(file_id: str, request: Request) -> PlainTextResponse:
            body = await request.body()
            with self._lock:
                self.uploads[file_id] = body
            self._record("upload", {"file_id": file_id, "bytes": len(body)}, None)
            return PlainTextResponse(f"OK - {len(body)}")

        @app.post("/response/{name}")
        async def response_url(name: str, request: Request) -> PlainTextResponse:
            self._record("response_url", {"name": name, **json.loads(await request.body())}, None)
            return PlainTextResponse("ok")

        return app


async def _arguments(request: Request) -> dict[str, Any]:
    """The call's arguments, whether the SDK sent JSON or a form (whose JSON fields are text)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        args: dict[str, Any] = json.loads(raw or b"{}")
    else:
        args = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        args.update({k: v for k, v in request.query_params.items()})
    for key in JSON_FIELDS & args.keys():
        if isinstance(args[key], str):
            args[key] = json.loads(args[key])
    return args


@contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Run `app` in a real uvicorn server on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, what="uvicorn to start")
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)

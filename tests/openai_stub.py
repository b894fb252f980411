"""A tiny OpenAI-compatible Chat Completions server for tests: real HTTP on 127.0.0.1.

It plays a SCRIPT of replies, one per request (the last one repeats once the script runs out),
and records every request body it received, so a test can check what the agent sent.
Streaming requests (`"stream": true`) get the same reply as server-sent events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


@dataclass(frozen=True)
class Reply:
    """One scripted reply: an assistant `message` (status 200) or an error status and body."""

    message: dict[str, Any] | None = None
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def text_reply(text: str) -> Reply:
    return Reply(message={"role": "assistant", "content": text})


def tool_call_reply(name: str, args: dict[str, Any], call_id: str = "call_1") -> Reply:
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
    return Reply(message={"role": "assistant", "content": None, "tool_calls": [call]})


def error_reply(status: int, headers: dict[str, str] | None = None, delay_s: float = 0.0) -> Reply:
    body = {"error": {"message": f"stub error {status}", "type": "stub", "code": None}}
    return Reply(status=status, body=body, headers=headers or {}, delay_s=delay_s)


def _completion(model: str, message: dict[str, Any], n: int) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {
        "id": f"chatcmpl-stub-{n}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunks(model: str, message: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The reply as stream chunks: the whole delta at once, then the finish reason and usage."""
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ""}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    base = {"id": f"chatcmpl-stub-{n}", "object": "chat.completion.chunk", "created": 0}
    return [
        {**base, "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**base, "model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        {
            **base,
            "model": model,
            "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    ]


class OpenAIStub:
    """The server: `base_url` for OPENAI_BASE_URL, `requests` for what it received."""

    def __init__(self, script: Sequence[Reply]) -> None:
        if not script:
            raise ValueError("The script needs at least one reply.")
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAIStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are still sleeping out a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self, body: dict[str, Any]) -> tuple[Reply, int]:
        with self._lock:
            self.requests.append(body)
            n = len(self.requests)
            return self.script[min(n, len(self.script)) - 1], n

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads `stub.requests`, not the access log."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                reply, n = stub._next(body)
                if reply.delay_s and stub._stopping.wait(reply.delay_s):
                    return
                with suppress(*CLIENT_GONE):  # a client that timed out has hung up
                    self._send(reply, body, n)

            def _send(self, reply: Reply, body: dict[str, Any], n: int) -> None:
                model = str(body.get("model", "stub-model"))
                if reply.message is None:
                    self._json(reply.status, reply.body or {}, reply.headers)
                elif body.get("stream"):
                    events = "".join(
                        f"data: {json.dumps(chunk)}\n\n"
                        for chunk in _chunks(model, reply.message, n)
                    )
                    self._raw(200, (events + "data: [DONE]\n\n").encode(), "text/event-stream")
                else:
                    self._json(200, _completion(model, reply.message, n), reply.headers)

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                self._raw(status, json.dumps(payload).encode(), "application/json", headers)

            def _raw(
                self,
                status: int,
                data: bytes,
                content_type: str,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


@contextmanager
def openai_stub(script: Sequence[Reply]) -> Iterator[OpenAIStub]:
    """Serve `script` for the duration of the block."""
    stub = OpenAIStub(script).start()
    try:
        yield stub
    finally:
        stub.stop()

"""The HTTP server for real: `keen serve --demo` in a subprocess, called over loopback with
httpx and with the official `openai` client.

One server (demo data in `default`, the same data again in `other`) serves the whole module.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from agent.service import MAX_QUESTION_CHARS
from domain.api_keys import create_key, revoke_key
from domain.db import make_engine, session_scope
from domain.importer import load_dataset
from domain.widget_tokens import mint_token, widget_secret
from web.answering import check_question
from web.errors import ApiError
from web.testing import RunningServer, running_server

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "demo"
QUESTION = "Which reward reports need attention?"
ANSWER_KEYS = {"answer", "tool_calls", "data", "thread_id", "grounded", "model", "pending_action"}


@dataclass(frozen=True)
class Keys:
    chat: str  # default org, scope chat
    chat_2: str  # default org, another key (another "user")
    other_org: str  # org "other", scope chat
    actions_only: str  # default org, scope actions only
    revoked: str
    limited: str  # only for the rate-limit test
    bad_input: str  # only for the many bad-input requests (they spend a rate bucket too)
    bad_stream: str  # the same, on the stream endpoint


@dataclass(frozen=True)
class Env:
    server: RunningServer
    keys: Keys
    engine: Engine
    secret: bytes

    @property
    def url(self) -> str:
        return self.server.url


def _key(engine: Engine, org: str, scopes: list[str], role: str = "viewer") -> str:
    with session_scope(engine) as session:
        return create_key(session, org, scopes, role).key


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data_dir = tmp_path_factory.mktemp("keen-server")
    with running_server(data_dir) as server:
        engine = make_engine(f"sqlite:///{data_dir / 'keen.db'}")
        load_dataset(engine, DEMO, "other")
        revoked = _key(engine, "default", ["chat"])
        with session_scope(engine) as session:
            revoke_key(session, revoked[:13])
        keys = Keys(
            chat=_key(engine, "default", ["chat"]),
            chat_2=_key(engine, "default", ["chat"]),
            other_org=_key(engine, "other", ["chat"]),
            actions_only=_key(engine, "default", ["actions"]),
            revoked=revoked,
            limited=_key(engine, "default", ["chat"]),
            bad_input=_key(engine, "default", ["chat"]),
            bad_stream=_key(engine, "default", ["chat"]),
        )
        yield Env(server, keys, engine, widget_secret(data_dir))
        engine.dispose()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(env: Env, key: str, body: Any, path: str = "/api/chat", **kw: Any) -> httpx.Response:
    return httpx.post(f"{env.url}{path}", json=body, headers=auth(key), timeout=120, **kw)


@pytest.fixture(scope="module")
def first_answer(env: Env) -> dict[str, Any]:
    response = chat(env, env.keys.chat, {"message": QUESTION})
    assert response.status_code == 200, response.text
    return dict(response.json())


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream, parsed by the spec's rules."""
    events: list[tuple[str, Any]] = []
    name, data = "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                raw = "\n".join(data)
                events.append((name, raw if raw == "[DONE]" else json.loads(raw)))
            name, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    return events


# --------------------------------------------------------------------------- basics


def test_health_docs_widget_and_demo_page(env: Env) -> None:
    health = httpx.get(f"{env.url}/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "model": "offline", "demo": True}
    assert httpx.get(f"{env.url}/docs").status_code == 200
    paths = httpx.get(f"{env.url}/openapi.json").json()["paths"]
    assert {"/api/chat", "/api/chat/stream", "/api/threads/{thread_id}"} <= set(paths)
    assert {"/v1/chat/completions", "/v1/models", "/health", "/metrics"} <= set(paths)
    widget = httpx.get(f"{env.url}/widget.js")
    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("application/javascript")
    page = httpx.get(f"{env.url}/")
    assert page.status_code == 200
    assert 'src="/widget.js"' in page.text and 'data-token-url="/demo/token"' in page.text


def test_demo_token_is_a_short_lived_token_for_the_demo_admin(env: Env) -> None:
    body = httpx.get(f"{env.url}/demo/token").json()
    payload = body["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # users.csv of the demo: u-maya is the only admin
    assert (claims["org"], claims["user"], claims["role"]) == (
        "default",
        "maya.chen@lumenrise.com",
        "admin",
    )
    # default lifetime one hour (3600 s); allow for the seconds the request took
    assert 3590 <= claims["exp"] - time.time() <= 3600


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer keen_00000000_not-a-real-key"},
        {"Authorization": "Bearer sk-something-else"},
        {"Authorization": "Bearer kwt.e30.AAAA"},
    ],
)
def test_missing_or_bad_credentials_get_401(env: Env, headers: dict[str, str]) -> None:
    for method, path in [("POST", "/api/chat"), ("GET", "/v1/models"), ("GET", "/api/threads/x")]:
        response = httpx.request(
            method, f"{env.url}{path}", json={"message": QUESTION}, headers=headers
        )
        assert response.status_code == 401, (path, response.text)
        assert isinstance(response.json()["error"], str)
        assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_key_gets_401(env: Env) -> None:
    response = chat(env, env.keys.revoked, {"message": QUESTION})
    assert response.status_code == 401


def test_key_without_chat_scope_gets_403(env: Env) -> None:
    response = chat(env, env.keys.actions_only, {"message": QUESTION})
    assert response.status_code == 403
    assert response.json() == {"error": "This key lacks the 'chat' scope."}


def test_rate_limit_allows_the_burst_then_429_with_retry_after(env: Env) -> None:
    # default: burst 20, then 60 per minute (one a second); a 404 costs a token like any call
    statuses = []
    with httpx.Client(headers=auth(env.keys.limited)) as client:
        for _ in range(40):
            response = client.get(f"{env.url}/api/threads/missing")
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
    assert statuses[:20] == [404] * 20
    assert statuses[-1] == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "Too many requests" in response.json()["error"]
    # another key is not affected
    other = httpx.get(f"{env.url}/api/threads/missing", headers=auth(env.keys.chat_2))
    assert other.status_code == 404


# --------------------------------------------------------------------------- bad input


def test_message_length_limit_is_4000_characters_after_trimming() -> None:
    assert MAX_QUESTION_CHARS == 4000
    assert check_question("  " + "a" * 4000 + "  ") == "a" * 4000
    with pytest.raises(ApiError) as too_long:
        check_question("a" * 4001)
    assert too_long.value.status == 413
    with pytest.raises(ApiError) as empty:
        check_question(" \n ")
    assert empty.value.status == 400


def test_too_long_message_gets_413(env: Env) -> None:
    response = chat(env, env.keys.chat, {"message": "a" * 4001})
    assert response.status_code == 413
    assert response.json() == {
        "error": "The message is too long (4,001 characters; at most 4,000)."
    }
    stream = chat(env, env.keys.chat, {"message": "a" * 4001}, path="/api/chat/stream")
    assert stream.status_code == 413


def test_body_over_64_kb_gets_413_declared_or_chunked(env: Env) -> None:
    big = json.dumps({"message": "a", "padding": "x" * 70_000}).encode()
    declared = httpx.post(
        f"{env.url}/api/chat",
        content=big,
        headers={**auth(env.keys.chat), "Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert "too large" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    chunked = httpx.post(
        f"{env.url}/api/chat",
        content=chunks(),
        headers={**auth(env.keys.chat), "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b'{"message": ', 422, "not valid JSON"),
        (b"[]", 422, "Invalid request"),
        (b'{"message": 42}', 422, "message"),
        (b'{"message": ["a"]}', 422, "message"),
        (b"{}", 422, "message: Field required"),
        (b'{"message": "hi", "thread_id": "../etc"}', 422, "thread_id"),
        (b'{"message": "hi", "thread_id": 7}', 422, "thread_id"),
        (b'{"message": "   "}', 400, "empty"),
        (b"\xff\xfe", 422, "not valid JSON"),
    ],
)
def test_bad_input_gets_a_clear_4xx(env: Env, body: bytes, status: int, fragment: str) -> None:
    for path, key in (("/api/chat", env.keys.bad_input), ("/api/chat/stream", env.keys.bad_stream)):
        response = httpx.post(
            f"{env.url}{path}",
            content=body,
            headers={**auth(key), "Content-Type": "application/json"},
        )
        assert response.status_code == status, (path, response.text)
        assert fragment in response.json()["error"]


def test_unknown_routes_and_methods_are_json(env: Env) -> None:
    missing = httpx.get(f"{env.url}/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not found."})
    wrong = httpx.put(f"{env.url}/api/chat", headers=auth(env.keys.chat))
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method not allowed."})


# --------------------------------------------------------------------------- answers


def test_answer_has_the_interface_shape(first_answer: dict[str, Any]) -> None:
    assert set(first_answer) == ANSWER_KEYS
    assert first_answer["answer"].strip()
    assert first_answer["model"] == "offline"
    assert isinstance(first_answer["grounded"], bool)
    assert first_answer["pending_action"] is None
    assert first_answer["tool_calls"][0]["name"] == "list_reward_reports"
    table = first_answer["data"][0]
    assert set(table) == {"title", "columns", "rows"}
    assert "id" in table["columns"] and table["rows"]
    assert all(len(row) == len(table["columns"]) for row in table["rows"])


def test_follow_up_keeps_the_thread_and_history_lists_the_turns(
    env: Env, first_answer: dict[str, Any]
) -> None:
    thread = first_answer["thread_id"]
    follow = chat(env, env.keys.chat, {"message": "Which leads are stuck?", "thread_id": thread})
    assert follow.status_code == 200, follow.text
    assert follow.json()["thread_id"] == thread
    history = httpx.get(f"{env.url}/api/threads/{thread}", headers=auth(env.keys.chat))
    assert history.status_code == 200
    turns = history.json()["turns"]
    assert history.json()["thread_id"] == thread
    assert [t["role"] for t in turns[:4]] == ["user", "assistant", "user", "assistant"]
    assert turns[0]["content"] == QUESTION
    assert turns[1]["content"] == first_answer["answer"]
    assert turns[2]["content"] == "Which leads are stuck?"


def test_someone_elses_thread_looks_exactly_like_a_missing_one(
    env: Env, first_answer: dict[str, Any]
) -> None:
    thread = first_answer["thread_id"]
    missing = httpx.get(f"{env.url}/api/threads/no-such-thread", headers=auth(env.keys.other_org))
    assert missing.status_code == 404
    for key in (env.keys.other_org, env.keys.chat_2):  # another org; same org, another key
        read = httpx.get(f"{env.url}/api/threads/{thread}", headers=auth(key))
        assert (read.status_code, read.json()) == (404, missing.json())
        write = chat(env, key, {"message": "and last month?", "thread_id": thread})
        assert (write.status_code, write.json()) == (404, missing.json())
        stream = chat(env, key, {"message": "hi", "thread_id": thread}, path="/api/chat/stream")
        assert (stream.status_code, stream.json()) == (404, missing.json())


def test_organization_comes_from_the_key_not_the_body(env: Env) -> None:
    body = {"message": "How many channels are there?", "org": "other", "org_slug": "other"}
    response = chat(env, env.keys.chat, body)
    assert response.status_code == 200
    thread = response.json()["thread_id"]
    own = httpx.get(f"{env.url}/api/threads/{thread}", headers=auth(env.keys.chat))
    assert own.status_code == 200
    other = httpx.get(f"{env.url}/api/threads/{thread}", headers=auth(env.keys.other_org))
    assert other.status_code == 404


def test_stream_sends_steps_then_tokens_then_one_answer(env: Env) -> None:
    with httpx.stream(
        "POST",
        f"{env.url}/api/chat/stream",
        json={"message": QUESTION},
        headers=auth(env.keys.chat_2),
        timeout=120,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[0] == "step" and names[-1] == "answer"
    assert names.count("answer") == 1 and "error" not in names
    first_token = names.index("token")
    assert "step" not in names[first_token:]
    step = events[0][1]
    assert step["tool"] == "list_reward_reports"
    assert step["label"] == "looking up reward reports…"
    answer = events[-1][1]
    assert set(answer) == ANSWER_KEYS
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert streamed == answer["answer"]


# --------------------------------------------------------------------------- widget tokens


def test_widget_token_works_and_tampered_or_expired_ones_get_401(env: Env) -> None:
    token = mint_token("default", "sara.lindqvist@lumenrise.com", "viewer", 600, env.secret)
    ok = chat(env, token, {"message": QUESTION})
    assert ok.status_code == 200, ok.text
    history = httpx.get(f"{env.url}/api/threads/{ok.json()['thread_id']}", headers=auth(token))
    assert history.status_code == 200

    mark, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org"] = "other"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{mark}.{forged_payload}.{signature}"
    expired = mint_token(
        "default", "sara.lindqvist@lumenrise.com", "viewer", 60, env.secret, now=time.time() - 61
    )  # expired one second ago
    wrong_secret = mint_token("default", "sara.lindqvist@lumenrise.com", secret=b"guess")
    for bad in (tampered, expired, wrong_secret):
        response = chat(env, bad, {"message": QUESTION})
        assert response.status_code == 401, response.text


def test_widget_token_command_mints_a_token_with_the_users_role(env: Env) -> None:
    done = env.server.keen("widget-token", "--org", "default", "--user", "tom.becker@lumenrise.com")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["role"] == "finance"  # users.csv: u-tom is finance
    assert 3590 <= claims["exp"] - time.time() <= 3600  # --ttl defaults to 3600 s
    assert httpx.get(f"{env.url}/v1/models", headers=auth(token)).status_code == 200


# --------------------------------------------------------------------------- keys CLI


def test_keys_cli_create_list_revoke(env: Env) -> None:
    created = env.server.keen(
        "keys",
        "create",
        "--org",
        "default",
        "--scope",
        "chat",
        "--role",
        "manager",
        "--name",
        "cli test",
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("keen_") and len(key.splitlines()) == 1
    assert "will not be shown again" in created.stderr
    assert httpx.get(f"{env.url}/v1/models", headers=auth(key)).status_code == 200

    listed = env.server.keen("keys", "list", "--org", "default")
    assert key[:13] in listed.stdout and key not in listed.stdout
    assert "manager" in listed.stdout

    revoked = env.server.keen("keys", "revoke", key[:13])
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{env.url}/v1/models", headers=auth(key)).status_code == 401

    unknown = env.server.keen("keys", "create", "--org", "no-such-org")
    assert unknown.returncode == 2
    assert "Unknown organization 'no-such-org'" in unknown.stderr


# --------------------------------------------------------------------------- metrics


def _samples(env: Env) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{env.url}/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_latency_tools_and_tokens(env: Env) -> None:
    before = _samples(env)
    assert chat(env, env.keys.chat_2, {"message": QUESTION}).status_code == 200
    assert chat(env, env.keys.chat_2, {"message": ""}).status_code == 400
    after = _samples(env)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = {"route": "/api/chat", "method": "POST"}
    assert moved("keen_http_requests_total", status="200", **route) == 1
    assert moved("keen_http_requests_total", status="400", **route) == 1
    assert moved("keen_http_request_duration_seconds_count", **route) == 2
    assert moved("keen_tool_calls_total", tool="list_reward_reports") == 1
    assert moved("keen_model_tokens_total", model="offline", kind="prompt") >= 5
    assert moved("keen_model_tokens_total", model="offline", kind="completion") > 0
    assert moved("keen_answers_total", surface="api", grounded="true") == 1


def test_cors_preflight_allows_the_widget_from_another_origin(env: Env) -> None:
    response = httpx.options(
        f"{env.url}/api/chat/stream",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://app.example.com")


# --------------------------------------------------------------------------- OpenAI format


def test_openai_client_lists_the_model(env: Env) -> None:
    client = OpenAI(base_url=f"{env.url}/v1", api_key=env.keys.chat)
    assert [m.id for m in client.models.list()] == ["keen-assistant"]


def test_openai_client_non_streaming(env: Env, first_answer: dict[str, Any]) -> None:
    client = OpenAI(base_url=f"{env.url}/v1", api_key=env.keys.chat_2)
    completion = client.chat.completions.create(
        model="keen-assistant",
        messages=[
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": "earlier question, not asked"},
            {"role": "assistant", "content": "earlier answer"},
            {"role": "user", "content": QUESTION},
        ],
    )
    assert completion.object == "chat.completion"
    assert completion.model == "keen-assistant"
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    # the offline planner answers the same question the same way on the same data
    assert choice.message.content == first_answer["answer"]
    usage = completion.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


def test_openai_client_streaming_matches_the_whole_answer(env: Env) -> None:
    client = OpenAI(base_url=f"{env.url}/v1", api_key=env.keys.chat_2)
    whole = client.chat.completions.create(
        model="keen-assistant", messages=[{"role": "user", "content": "Show the lead funnel"}]
    )
    stream = client.chat.completions.create(
        model="keen-assistant",
        messages=[{"role": "user", "content": "Show the lead funnel"}],
        stream=True,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content


def test_openai_stream_ends_with_done(env: Env) -> None:
    with httpx.stream(
        "POST",
        f"{env.url}/v1/chat/completions",
        json={
            "model": "keen-assistant",
            "stream": True,
            "messages": [{"role": "user", "content": QUESTION}],
        },
        headers=auth(env.keys.chat_2),
        timeout=120,
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-keen-thread"]
        events = sse_events(response)
    assert events[-1] == ("message", "[DONE]")
    assert events[-2][1]["choices"][0]["finish_reason"] == "stop"
    assert events[-2][1]["keen"]["thread_id"] == response.headers["x-keen-thread"]


def test_openai_threads_by_user_field_or_header(env: Env, first_answer: dict[str, Any]) -> None:
    client = OpenAI(base_url=f"{env.url}/v1", api_key=env.keys.chat)
    ask = [{"role": "user", "content": "Which leads are stuck?"}]
    first = client.chat.completions.create(model="keen-assistant", messages=ask, user="conv-1")
    again = client.chat.completions.create(model="keen-assistant", messages=ask, user="conv-1")
    fresh = client.chat.completions.create(model="keen-assistant", messages=ask)
    thread = first.model_extra["keen"]["thread_id"]  # type: ignore[index]
    assert again.model_extra["keen"]["thread_id"] == thread  # type: ignore[index]
    assert fresh.model_extra["keen"]["thread_id"] != thread  # type: ignore[index]
    # the same conversation name under another key is another conversation
    other = OpenAI(base_url=f"{env.url}/v1", api_key=env.keys.chat_2)
    theirs = other.chat.completions.create(model="keen-assistant", messages=ask, user="conv-1")
    assert theirs.model_extra["keen"]["thread_id"] != thread  # type: ignore[index]

    header = client.chat.completions.create(
        model="keen-assistant",
        messages=ask,
        extra_headers={"X-Keen-Thread": first_answer["thread_id"]},
    )
    assert header.model_extra["keen"]["thread_id"] == first_answer["thread_id"]  # type: ignore[index]
    turns = httpx.get(
        f"{env.url}/api/threads/{first_answer['thread_id']}", headers=auth(env.keys.chat)
    ).json()["turns"]
    assert turns[-2]["content"] == "Which leads are stuck?"


def test_openai_client_errors(env: Env) -> None:
    bad = OpenAI(base_url=f"{env.url}/v1", api_key="keen_00000000_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    client = OpenAI(base_url=f"{env.url}/v1", api_key=env.keys.chat_2, max_retries=0)
    with pytest.raises(openai.APIStatusError) as too_long:
        client.chat.completions.create(
            model="keen-assistant", messages=[{"role": "user", "content": "a" * 4001}]
        )
    assert too_long.value.status_code == 413
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="keen-assistant", messages=[{"role": "system", "content": "no question"}]
        )
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="keen-assistant", messages=[])

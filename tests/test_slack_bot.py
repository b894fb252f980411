"""The Slack bot end to end, with the real parts: uvicorn on loopback, slack-bolt, real v0
signatures, the demo dataset in SQLite, and a local fake of the Slack Web API recording replies.

The assistant is a recording stand-in (so replies can be checked exactly), except in the last
test, which asks the real one.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from agent.answer import Answer, DataTable
from domain.db import get_engine, session_scope
from domain.importer import load_dataset
from domain.settings import get_settings
from domain.slack_links import SlackIdentity, link_slack_user
from slack_bot.app import mount_slack
from slack_bot.bot import FAILED, THINKING
from slack_bot.settings import SlackSettings
from slack_bot.testing import Call, FakeSlack, serve, wait_until

DEMO = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "demo"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MAYA = "U0MAYA"  # linked in any workspace: Maya Chen, admin
SARA = "U0SARA"  # linked in workspace T1 only: Sara Lindqvist, viewer
STRANGER = "U0NOBODY"  # not linked
GRACE = 0.6  # seconds to wait for a reply that must not come


# ----------------------------------------------------------------------------- helpers


class FakeAsk:
    """Stands in for the assistant: records each question and returns a fixed Answer."""

    def __init__(
        self,
        answer: str = "**3 leads** are stuck.",
        data: list[DataTable] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.answer = answer
        self.data = data or []
        self.delay = delay
        self.calls: list[tuple[str, SlackIdentity, str]] = []
        self._lock = threading.Lock()

    def __call__(self, question: str, identity: SlackIdentity, thread_id: str) -> Answer:
        with self._lock:
            self.calls.append((question, identity, thread_id))
        time.sleep(self.delay)
        return Answer(answer=self.answer, data=self.data, thread_id=thread_id)


def sign(body: bytes, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def event_body(event: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "token": "legacy-unused",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
    ).encode()


def mention(
    text: str, user: str = MAYA, ts: str = "1763460000.000100", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT> {text}",
        "ts": ts,
        "channel": "C1",
        "event_ts": ts,
        **extra,
    }


def dm(text: str, user: str = MAYA, ts: str = "1763460100.000100", **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": "D0MAYA",
        "channel_type": "im",
        "event_ts": ts,
        **extra,
    }


def post_event(url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", **sign(body), **(headers or {})}
    return httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=10)


def replies(fake: FakeSlack, count: int, timeout: float = 10.0) -> list[Call]:
    """Wait for `count` chat.postMessage calls, then a little longer to catch any extra one."""
    wait_until(lambda: len(fake.calls_to("chat.postMessage")) >= count, timeout, "replies")
    time.sleep(GRACE)
    return fake.calls_to("chat.postMessage")


def section_texts(call: Call) -> list[str]:
    return [b["text"]["text"] for b in call.args.get("blocks", []) if b["type"] == "section"]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset (KEEN_TODAY=2026-11-18) in a data folder shared by this module."""
    folder = tmp_path_factory.mktemp("keen-slack")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEEN_DATA_DIR", str(folder))
        mp.setenv("KEEN_TODAY", "2026-11-18")
        mp.delenv("DATABASE_URL", raising=False)
        get_settings.cache_clear()
        get_engine.cache_clear()
        engine = get_engine()
        load_dataset(engine, DEMO, "default")
        with session_scope(engine) as session:
            link_slack_user(session, "default", MAYA, "maya.chen@lumenrise.com")
            link_slack_user(session, "default", SARA, "sara.lindqvist@lumenrise.com", "T1")
        engine.dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    return folder


@pytest.fixture
def keen_data(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEEN_DATA_DIR", str(demo_dir))
    monkeypatch.setenv("KEEN_TODAY", "2026-11-18")
    for var in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_API_URL", "SLACK_USER_MAP"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    return demo_dir


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with serve(fake.app) as url:
        fake.base_url = url
        yield fake


def slack_settings(**values: str) -> SlackSettings:
    """Settings from `values` only (the environment's SLACK_* are cleared, .env is not read)."""
    options: dict[str, Any] = {"_env_file": None, **values}
    return SlackSettings(**options)


@contextmanager
def bot_server(fake: FakeSlack, ask: Any, **extra: str) -> Iterator[str]:
    """A FastAPI app with the Slack endpoints mounted, served by uvicorn on loopback."""
    settings = slack_settings(
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_API_URL=fake.api_url,
        **extra,
    )
    app = FastAPI()
    mount_slack(app, settings=settings, ask=ask)
    with serve(app) as url:
        yield url


@pytest.fixture
def ask() -> FakeAsk:
    return FakeAsk()


@pytest.fixture
def bot(keen_data: Path, fake_slack: FakeSlack, ask: FakeAsk) -> Iterator[str]:
    with bot_server(fake_slack, ask) as url:
        yield url


# ----------------------------------------------------------------------------- signatures


def test_signed_mention_gets_exactly_one_threaded_reply(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    response = post_event(bot, event_body(mention("which leads are stuck?")))
    assert response.status_code == 200
    [reply] = replies(fake_slack, 1)
    assert reply.token == "xoxb-test-token"
    assert (reply.args["channel"], reply.args["thread_ts"]) == ("C1", "1763460000.000100")
    assert section_texts(reply) == ["*3 leads* are stuck."]
    [(question, identity, thread_id)] = ask.calls
    assert question == "which leads are stuck?"
    assert (identity.org_slug, identity.email, identity.role) == (
        "default",
        "maya.chen@lumenrise.com",
        "admin",
    )
    assert thread_id == "slack-T1-C1-1763460000.000100-U0MAYA"


def test_badly_signed_request_gets_401_and_no_reply(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    body = event_body(mention("which leads are stuck?"))
    wrong = httpx.post(
        f"{bot}/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **sign(body, secret="nope")},
    )
    tampered = httpx.post(
        f"{bot}/slack/events",
        content=body.replace(b"stuck", b"won"),
        headers={"Content-Type": "application/json", **sign(body)},
    )
    unsigned = httpx.post(
        f"{bot}/slack/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert [wrong.status_code, tampered.status_code, unsigned.status_code] == [401, 401, 401]
    time.sleep(GRACE)
    assert fake_slack.calls == []  # not even auth.test: nothing ran past the signature check
    assert ask.calls == []


def test_timestamps_outside_five_minutes_are_refused(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    now = int(time.time())
    # Bolt accepts |now - timestamp| <= 300 s; a second either side of the edge may pass while
    # the request travels, so the test stays 5 s clear of it.
    old = event_body(mention("old?", ts="1763460000.000201"))
    replayed = httpx.post(
        f"{bot}/slack/events",
        content=old,
        headers={"Content-Type": "application/json", **sign(old, now - 305)},
    )
    future = httpx.post(
        f"{bot}/slack/events",
        content=old,
        headers={"Content-Type": "application/json", **sign(old, now + 305)},
    )
    assert (replayed.status_code, future.status_code) == (401, 401)
    recent = event_body(mention("recent?", ts="1763460000.000202"))
    fresh = httpx.post(
        f"{bot}/slack/events",
        content=recent,
        headers={"Content-Type": "application/json", **sign(recent, now - 295)},
    )
    assert fresh.status_code == 200
    assert len(replies(fake_slack, 1)) == 1
    assert [q for q, _, _ in ask.calls] == ["recent?"]


def test_url_verification_challenge(bot: str) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"}).encode()
    response = post_event(bot, body)
    assert response.status_code == 200 and response.json() == {"challenge": "abc123"}


# ----------------------------------------------------------------------------- exactly once


def test_retried_delivery_is_answered_once(bot: str, fake_slack: FakeSlack, ask: FakeAsk) -> None:
    body = event_body(mention("which leads are stuck?"), event_id="Ev0RETRY1")
    first = post_event(bot, body)
    retry = post_event(
        bot, body, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert (first.status_code, retry.status_code) == (200, 200)
    assert len(replies(fake_slack, 1)) == 1
    assert len(ask.calls) == 1


def test_redelivery_to_another_process_is_answered_once(
    keen_data: Path, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    """Two servers (as two processes) share the database: the event id is claimed there."""
    body = event_body(mention("which leads are stuck?"), event_id="Ev0RETRY2")
    with bot_server(fake_slack, ask) as one, bot_server(fake_slack, ask) as two:
        assert post_event(one, body).status_code == 200
        assert post_event(two, body, {"X-Slack-Retry-Num": "1"}).status_code == 200
        assert post_event(two, body, {"X-Slack-Retry-Num": "2"}).status_code == 200
        assert len(replies(fake_slack, 1)) == 1
    assert len(ask.calls) == 1


def test_follow_up_in_the_thread_continues_the_conversation(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    post_event(bot, event_body(mention("which leads are stuck?", ts="1763460000.000300")))
    replies(fake_slack, 1)
    follow = mention("and last month?", ts="1763460050.000400", thread_ts="1763460000.000300")
    post_event(bot, event_body(follow))
    second = replies(fake_slack, 2)[1]
    assert second.args["thread_ts"] == "1763460000.000300"
    assert [t for _, _, t in ask.calls] == ["slack-T1-C1-1763460000.000300-U0MAYA"] * 2


# ----------------------------------------------------------------------------- who may ask


def test_unknown_user_gets_a_polite_refusal_and_no_data(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    post_event(bot, event_body(mention("show me all rewards", user=STRANGER)))
    [reply] = replies(fake_slack, 1)
    assert reply.args["thread_ts"] == "1763460000.000100"
    assert reply.args["text"].startswith("Sorry, I can only answer people whose Slack account")
    assert "U0NOBODY" in reply.args["text"] and "keen slack link" in reply.args["text"]
    assert ask.calls == []


def test_workspace_link_applies_only_in_its_workspace(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    body = json.loads(event_body(mention("stuck?", user=SARA)))
    body["team_id"] = "T2"
    post_event(bot, json.dumps(body).encode())
    [reply] = replies(fake_slack, 1)
    assert reply.args["text"].startswith("Sorry")
    post_event(bot, event_body(mention("stuck?", user=SARA, ts="1763460000.000500")))
    replies(fake_slack, 2)
    [(_, identity, _)] = ask.calls
    assert identity.role == "viewer"


def test_configured_user_map_links_without_the_database(
    keen_data: Path, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    with bot_server(
        fake_slack, ask, SLACK_USER_MAP="U0TOM=default:tom.becker@lumenrise.com"
    ) as url:
        post_event(url, event_body(mention("rewards to pay?", user="U0TOM")))
        replies(fake_slack, 1)
    [(_, identity, _)] = ask.calls
    assert (identity.email, identity.role) == ("tom.becker@lumenrise.com", "finance")


# ----------------------------------------------------------------------------- surfaces


def test_direct_message_is_answered_in_its_thread(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    post_event(bot, event_body(dm("which leads are stuck?")))
    [reply] = replies(fake_slack, 1)
    assert (reply.args["channel"], reply.args["thread_ts"]) == ("D0MAYA", "1763460100.000100")
    assert [q for q, _, _ in ask.calls] == ["which leads are stuck?"]


def test_assistant_thread_prompts_status_and_answer(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": MAYA,
            "channel_id": "D0MAYA",
            "thread_ts": "1763460200.000100",
            "context": {"channel_id": "C1", "team_id": "T1"},
        },
        "event_ts": "1763460200.000200",
    }
    post_event(bot, event_body(started))
    [greeting] = replies(fake_slack, 1)
    assert greeting.args["text"].startswith("Hi Maya!")
    [prompts] = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert prompts.args["thread_ts"] == "1763460200.000100"
    assert prompts.args["prompts"][0] == {
        "title": "Stuck leads",
        "message": "Which leads are stuck?",
    }

    post_event(
        bot,
        event_body(
            dm("Which leads are stuck?", ts="1763460210.000100", thread_ts="1763460200.000100")
        ),
    )
    answer = replies(fake_slack, 2)[1]
    assert answer.args["thread_ts"] == "1763460200.000100"
    [status] = fake_slack.calls_to("assistant.threads.setStatus")
    assert (status.args["status"], status.args["thread_ts"]) == (THINKING, "1763460200.000100")
    methods = [c.method for c in fake_slack.calls]
    assert methods.index("assistant.threads.setStatus") < len(methods) - 1 - methods[::-1].index(
        "chat.postMessage"
    )


def test_bot_messages_and_channel_chatter_are_ignored(
    bot: str, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    own = dm("here is your answer", user="UBOT", bot_id="BBOT", ts="1763460300.000100")
    bot_message = {**dm("beep", ts="1763460300.000200", subtype="bot_message", bot_id="B0OTHER")}
    bot_message.pop("user")
    edited = dm("edited", ts="1763460300.000300", subtype="message_changed")
    channel = {
        **dm("which leads are stuck?", ts="1763460300.000400"),
        "channel": "C1",
        "channel_type": "channel",
    }
    for event in (own, bot_message, edited, channel):
        assert post_event(bot, event_body(event)).status_code == 200
    time.sleep(GRACE)
    assert fake_slack.calls_to("chat.postMessage") == []
    assert ask.calls == []


def test_slash_command_acks_at_once_and_answers_later(
    keen_data: Path, fake_slack: FakeSlack
) -> None:
    slow = FakeAsk(delay=1.5)
    body = urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "team_domain": "lumen",
            "channel_id": "C1",
            "channel_name": "general",
            "user_id": MAYA,
            "user_name": "maya",
            "command": "/keen",
            "text": "which leads are stuck?",
            "api_app_id": "A1",
            "response_url": fake_slack.response_url("cmd1"),
            "trigger_id": "1.2.3",
        }
    ).encode()
    with bot_server(fake_slack, slow) as url:
        started = time.monotonic()
        ack = httpx.post(
            f"{url}/slack/commands",
            content=body,
            timeout=10,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
        elapsed = time.monotonic() - started
        assert ack.status_code == 200
        assert elapsed < 1.0  # well inside Slack's 3 s: the 1.5 s answer is not waited for
        assert ack.json()["response_type"] == "ephemeral"
        assert ack.json()["text"] == "Looking into it: _which leads are stuck?_"
        assert fake_slack.calls_to("response_url") == []
        [answer] = wait_until(lambda: fake_slack.calls_to("response_url"), 10, "the answer")
    assert answer.args["name"] == "cmd1"
    assert answer.args["response_type"] == "in_channel"
    assert answer.args["blocks"][0]["text"]["text"] == "*3 leads* are stuck."
    [(_, _, thread_id)] = slow.calls
    assert thread_id.startswith("slack-T1-C1-U0MAYA-cmd-")


def test_slash_command_from_unknown_user_is_refused_privately(
    keen_data: Path, fake_slack: FakeSlack, ask: FakeAsk
) -> None:
    body = urlencode(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": STRANGER,
            "command": "/keen",
            "text": "rewards?",
            "response_url": fake_slack.response_url("cmd2"),
        }
    ).encode()
    with bot_server(fake_slack, ask) as url:
        httpx.post(
            f"{url}/slack/commands",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
        [refusal] = wait_until(lambda: fake_slack.calls_to("response_url"), 10, "the refusal")
    assert refusal.args["response_type"] == "ephemeral"
    assert refusal.args["text"].startswith("Sorry")
    assert ask.calls == []


# ----------------------------------------------------------------------------- big answers


def test_large_table_is_a_table_block_with_the_full_csv_in_the_thread(
    keen_data: Path, fake_slack: FakeSlack
) -> None:
    rows = [[f"lead-{i:04d}", "Atlas", f"{1000 + i}.00"] for i in range(150)]
    table = DataTable(title="Stuck leads", columns=["id", "channel", "deal_value"], rows=rows)
    with bot_server(fake_slack, FakeAsk("150 leads are stuck.", [table])) as url:
        post_event(url, event_body(mention("which leads are stuck?")))
        [reply] = replies(fake_slack, 1)
        wait_until(lambda: fake_slack.calls_to("files.completeUploadExternal"), 10, "the CSV")
    [block] = reply.args["attachments"][0]["blocks"]
    assert block["type"] == "table" and len(block["rows"]) == 100  # header + 99 rows
    assert block["rows"][1][0]["text"] == "lead-0000"
    [upload_url] = fake_slack.calls_to("files.getUploadURLExternal")
    assert upload_url.args["filename"] == "stuck-leads.csv"
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert (complete.args["channel_id"], complete.args["thread_ts"]) == ("C1", "1763460000.000100")
    content = fake_slack.uploads[complete.args["files"][0]["id"]].decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    assert len(lines) == 151 and lines[150] == ["lead-0149", "Atlas", "1149.00"]


def test_long_answer_is_split_across_messages_in_the_thread(
    keen_data: Path, fake_slack: FakeSlack
) -> None:
    # 1000 lines of 99 characters: 35 sections of ≤3,000 chars in 3 messages (13 + 13 + 9),
    # as worked out in test_slack_format.test_long_answer_becomes_several_messages.
    text = "\n".join("w" * 99 for _ in range(1000))
    with bot_server(fake_slack, FakeAsk(text)) as url:
        post_event(url, event_body(mention("everything please")))
        posted = replies(fake_slack, 3)
    assert [len(c.args["blocks"]) for c in posted] == [13, 13, 9]
    assert {c.args["thread_ts"] for c in posted} == {"1763460000.000100"}
    assert all(len(t) <= 3000 for c in posted for t in section_texts(c))


def test_assistant_failure_is_answered_with_an_apology(
    keen_data: Path, fake_slack: FakeSlack
) -> None:
    def broken(question: str, identity: SlackIdentity, thread_id: str) -> Answer:
        raise RuntimeError("planner exploded")

    with bot_server(fake_slack, broken) as url:
        post_event(url, event_body(mention("which leads are stuck?")))
        [reply] = replies(fake_slack, 1)
    assert reply.args["text"] == FAILED


# ----------------------------------------------------------------------------- configuration


def test_without_configuration_the_endpoints_answer_503(keen_data: Path) -> None:
    app = FastAPI()
    mount_slack(app, settings=slack_settings())
    with serve(app) as url:
        for path in ("/slack/events", "/slack/commands"):
            response = httpx.post(f"{url}{path}", content=b"{}")
            assert response.status_code == 503
            assert response.json() == {"detail": "Slack is not configured"}


# ----------------------------------------------------------------------------- real assistant


@pytest.mark.slow
def test_real_assistant_answers_a_mention_once(keen_data: Path, fake_slack: FakeSlack) -> None:
    pytest.importorskip("agent.service")
    body = event_body(mention("which leads are stuck?"), event_id="Ev0REAL1")
    with bot_server(fake_slack, None) as url:
        assert post_event(url, body).status_code == 200
        assert post_event(url, body, {"X-Slack-Retry-Num": "1"}).status_code == 200
        [reply] = replies(fake_slack, 1, timeout=180)
    assert reply.args["thread_ts"] == "1763460000.000100"
    assert reply.args["text"] != FAILED and not reply.args["text"].startswith("Sorry")

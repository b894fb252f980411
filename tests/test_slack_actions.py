"""Approve / Reject buttons in Slack (issue #7), end to end with the real parts: the server's
FastAPI app (`server.create_app`) on uvicorn, slack-bolt verifying real v0 signatures, the real
assistant (offline planner) on the demo dataset in SQLite, and the local fake Slack Web API.

Expectations come from the demo files, not from the code: rewards.csv has exactly one Atlas
reward awaiting review, rw-0146 (lead-0278, 500.00, USD channel ch-atlas); users.csv makes
Priya Nair a manager and Sara Lindqvist a viewer. Data is checked with separate SQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import create_engine, text

from agent.answer import Answer, PendingAction
from agent.memory import get_checkpointer
from domain.db import get_engine, session_scope
from domain.importer import load_dataset
from domain.settings import get_settings
from domain.slack_links import link_slack_user
from slack_bot.bot import ALREADY_DECIDED, NOT_YOURS
from slack_bot.confirm import button_value, decided_blocks, parse_value, render_pending
from slack_bot.testing import Call, FakeSlack, serve, wait_until
from tests.test_slack_bot import DEMO, SECRET, event_body, mention, post_event, sign

PRIYA = "U0PRIYA"  # linked in any workspace: Priya Nair, manager
SARA = "U0SARA"  # linked in workspace T1: Sara Lindqvist, viewer
STRANGER = "U0NOBODY"  # not linked
QUESTION = "approve all rewards awaiting review for Atlas"
ASKED_AT = "1763461000.000100"
THREAD = f"slack-T1-C1-{ASKED_AT}-{PRIYA}"  # one conversation per Slack thread and person
GRACE = 0.8  # seconds to wait for something that must not happen


@dataclass
class Bot:
    url: str
    fake: FakeSlack
    db_url: str

    def sql(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        """A separate connection: what is really in the database."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(query), params)]
        finally:
            engine.dispose()

    def reward_status(self, reward: str = "rw-0146") -> str:
        [(status,)] = self.sql("SELECT status FROM rewards WHERE ext_id = :id", id=reward)
        return str(status)

    def audit(self) -> list[tuple[Any, ...]]:
        return self.sql(
            "SELECT action, surface, actor, entity_type, thread_id FROM audit_log ORDER BY id"
        )

    def reward_audit(self) -> list[tuple[Any, ...]]:
        """Audit entries of changes to reward records (the action itself is logged apart)."""
        return [row for row in self.audit() if str(row[0]).startswith("reward.")]


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    """A fresh copy of the demo data per test (the tests change it) and the whole server."""
    monkeypatch.setenv("KEEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KEEN_TODAY", "2026-11-18")
    monkeypatch.setenv("KEEN_MODEL", "offline")
    for var in ("DATABASE_URL", "OPENAI_API_KEY", "SLACK_USER_MAP"):
        monkeypatch.delenv(var, raising=False)
    _clear_caches()
    engine = get_engine()
    load_dataset(engine, DEMO, "default")
    with session_scope(engine) as session:
        link_slack_user(session, "default", PRIYA, "priya.nair@lumenrise.com")
        link_slack_user(session, "default", SARA, "sara.lindqvist@lumenrise.com", "T1")
    db_url = engine.url.render_as_string(hide_password=False)
    fake = FakeSlack()
    with serve(fake.app) as fake_url:
        fake.base_url = fake_url
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_API_URL", fake.api_url)
        from server import create_app

        app = create_app(today=date(2026, 11, 18))
        assert app.state.slack_bot is not None
        with serve(app) as url:
            yield Bot(url=url, fake=fake, db_url=db_url)
    _clear_caches()


def _clear_caches() -> None:
    get_checkpointer.cache_clear()
    get_engine.cache_clear()
    get_settings.cache_clear()


# ----------------------------------------------------------------------------- helpers


def ask_for_change(bot: Bot, user: str = PRIYA) -> Call:
    """Mention the bot with the change request; the posted confirmation."""
    body = event_body(mention(QUESTION, user=user, ts=ASKED_AT))
    assert post_event(bot.url, body).status_code == 200
    return wait_until(lambda: _posts(bot)[:1], 120, "the confirmation")[0]


def _posts(bot: Bot) -> list[Call]:
    return bot.fake.calls_to("chat.postMessage")


def actions_of(call: Call) -> list[dict[str, Any]]:
    return [b for b in call.args.get("blocks", []) if b["type"] == "actions"]


def click_body(bot: Bot, message: Call, user: str, button: str) -> bytes:
    """The form-encoded `payload=` Slack sends when `user` clicks `button` on `message`."""
    [actions] = actions_of(message)
    [element] = [e for e in actions["elements"] if e["action_id"] == button]
    ts = message.result["ts"]
    thread_ts = message.args["thread_ts"]
    payload = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "lumen"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-unused",
        "trigger_id": "1.2.3",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": "C1",
            "is_ephemeral": False,
            "thread_ts": thread_ts,
        },
        "channel": {"id": "C1", "name": "general"},
        "message": {
            "type": "message",
            "user": "UBOT",
            "bot_id": "BBOT",
            "ts": ts,
            "thread_ts": thread_ts,
            "text": message.args["text"],
            "blocks": message.args["blocks"],
        },
        "response_url": bot.fake.response_url("click"),
        "actions": [
            {
                "type": "button",
                "action_id": element["action_id"],
                "block_id": actions["block_id"],
                "value": element["value"],
                "text": element["text"],
                "style": element["style"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def post_click(bot: Bot, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    signed = {"Content-Type": "application/x-www-form-urlencoded", **sign(body), **(headers or {})}
    return httpx.post(f"{bot.url}/slack/events", content=body, headers=signed, timeout=10)


def ephemerals(bot: Bot, count: int) -> list[Call]:
    wait_until(lambda: len(bot.fake.calls_to("chat.postEphemeral")) >= count, 60, "a note")
    time.sleep(GRACE)
    return bot.fake.calls_to("chat.postEphemeral")


def section_text(call: Call) -> str:
    return "\n".join(
        b["text"]["text"] for b in call.args.get("blocks", []) if b["type"] == "section"
    )


# ----------------------------------------------------------------------------- the tests


@pytest.mark.slow
def test_confirmation_has_buttons_and_approve_changes_the_reward_once(bot: Bot) -> None:
    audit_before = bot.audit()
    message = ask_for_change(bot)
    assert (message.args["channel"], message.args["thread_ts"]) == ("C1", ASKED_AT)
    shown = section_text(message)
    assert "rw-0146" in shown and "USD 500.00" in shown
    [actions] = actions_of(message)
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert set(buttons) == {"keen_action_approve", "keen_action_reject"}
    assert buttons["keen_action_approve"]["text"]["text"] == "Approve"
    assert buttons["keen_action_approve"]["style"] == "primary"
    assert buttons["keen_action_reject"]["text"]["text"] == "Reject"
    assert buttons["keen_action_reject"]["style"] == "danger"
    value = buttons["keen_action_approve"]["value"]
    assert value == buttons["keen_action_reject"]["value"] and len(value) < 2000
    assert " " not in value  # compact JSON
    carried = json.loads(value)
    assert carried["t"] == THREAD and carried["a"]
    assert bot.reward_status() == "awaiting_review"  # nothing changes before the click

    started = time.monotonic()
    response = post_click(bot, click_body(bot, message, PRIYA, "keen_action_approve"))
    assert response.status_code == 200
    assert time.monotonic() - started < 2.0  # acknowledged at once, decided in the background

    [update] = wait_until(lambda: bot.fake.calls_to("chat.update"), 60, "the update")
    assert (update.args["channel"], update.args["ts"]) == ("C1", message.result["ts"])
    assert not [b for b in update.args["blocks"] if b["type"] == "actions"]
    assert "rw-0146" in section_text(update)
    [note] = [b for b in update.args["blocks"] if b["type"] == "context"]
    assert note["elements"][0]["text"].endswith(f"*Approved* by <@{PRIYA}>")

    result = wait_until(lambda: _posts(bot)[1:], 60, "the result")[0]
    assert result.args["thread_ts"] == ASKED_AT
    assert "Approved 1 reward" in section_text(result)
    assert not any(actions_of(c) for c in _posts(bot)[1:])

    assert bot.reward_status() == "approved"
    assert audit_before == []  # the fresh demo data has no audit entries yet
    assert bot.reward_audit() == [
        ("reward.approve", "slack", "priya.nair@lumenrise.com", "reward", THREAD)
    ]
    assert bot.fake.calls_to("chat.postEphemeral") == []


@pytest.mark.slow
def test_duplicated_click_changes_the_data_once(bot: Bot) -> None:
    audit_before = bot.audit()
    message = ask_for_change(bot)
    body = click_body(bot, message, PRIYA, "keen_action_approve")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post_click(bot, body).status_code == 200
    assert post_click(bot, body, retry).status_code == 200  # before the first is decided
    [note] = ephemerals(bot, 1)
    assert (note.args["user"], note.args["text"]) == (PRIYA, ALREADY_DECIDED)
    assert len(bot.fake.calls_to("chat.update")) == 1

    assert post_click(bot, body).status_code == 200  # and once more, well after
    assert len(ephemerals(bot, 2)) == 2
    assert bot.reward_status() == "approved"
    assert audit_before == []
    assert [(a, s) for a, s, *_ in bot.reward_audit()] == [("reward.approve", "slack")]
    assert len(bot.fake.calls_to("chat.update")) == 1


@pytest.mark.slow
def test_only_the_asker_with_the_role_decides(bot: Bot) -> None:
    audit_before = bot.audit()
    message = ask_for_change(bot)

    # Another (linked, viewer) person in the channel clicks Approve: refused, nothing changes.
    post_click(bot, click_body(bot, message, SARA, "keen_action_approve"))
    [note] = ephemerals(bot, 1)
    assert (note.args["user"], note.args["text"]) == (SARA, NOT_YOURS)
    assert note.args["channel"] == "C1" and note.args["thread_ts"] == ASKED_AT

    # Someone not linked: the usual refusal.
    post_click(bot, click_body(bot, message, STRANGER, "keen_action_approve"))
    stranger = ephemerals(bot, 2)[1]
    assert stranger.args["user"] == STRANGER
    assert stranger.args["text"].startswith("Sorry, I can only answer people whose Slack")

    # The asker, meanwhile demoted to viewer: told which role is needed; still pending.
    _set_role(bot, "priya.nair@lumenrise.com", "viewer")
    post_click(bot, click_body(bot, message, PRIYA, "keen_action_approve"))
    demoted = ephemerals(bot, 3)[2]
    assert demoted.args["user"] == PRIYA
    assert "needs the admin or manager role" in demoted.args["text"]
    assert "your role is viewer" in demoted.args["text"]

    assert bot.reward_status() == "awaiting_review"
    assert bot.audit() == audit_before
    assert bot.fake.calls_to("chat.update") == []
    assert len(_posts(bot)) == 1  # no result was posted

    # The change stayed pending: with the role back, the same button works.
    _set_role(bot, "priya.nair@lumenrise.com", "manager")
    post_click(bot, click_body(bot, message, PRIYA, "keen_action_approve"))
    wait_until(lambda: bot.fake.calls_to("chat.update"), 60, "the update")
    wait_until(lambda: _posts(bot)[1:], 60, "the result")
    assert bot.reward_status() == "approved"


@pytest.mark.slow
def test_reject_changes_nothing_and_says_who_rejected(bot: Bot) -> None:
    audit_before = bot.audit()
    message = ask_for_change(bot)
    post_click(bot, click_body(bot, message, PRIYA, "keen_action_reject"))
    [update] = wait_until(lambda: bot.fake.calls_to("chat.update"), 60, "the update")
    [note] = [b for b in update.args["blocks"] if b["type"] == "context"]
    assert note["elements"][0]["text"].endswith(f"*Rejected* by <@{PRIYA}>")
    result = wait_until(lambda: _posts(bot)[1:], 60, "the result")[0]
    assert "nothing was changed" in section_text(result).lower()
    time.sleep(GRACE)
    assert bot.reward_status() == "awaiting_review"
    assert bot.audit() == audit_before


@pytest.mark.slow
def test_badly_signed_click_gets_401_and_changes_nothing(bot: Bot) -> None:
    audit_before = bot.audit()
    message = ask_for_change(bot)
    calls_before = len(bot.fake.calls)
    body = click_body(bot, message, PRIYA, "keen_action_approve")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    wrong = httpx.post(
        f"{bot.url}/slack/events", content=body, headers={**form, **sign(body, secret="nope")}
    )
    tampered = httpx.post(
        f"{bot.url}/slack/events",
        content=body.replace(b"U0PRIYA", b"U0SARA"),
        headers={**form, **sign(body)},
    )
    unsigned = httpx.post(f"{bot.url}/slack/events", content=body, headers=form)
    stale = httpx.post(
        f"{bot.url}/slack/events",
        content=body,
        headers={**form, **sign(body, int(time.time()) - 305)},
    )
    assert [r.status_code for r in (wrong, tampered, unsigned, stale)] == [401] * 4
    time.sleep(GRACE)
    assert len(bot.fake.calls) == calls_before
    assert bot.reward_status() == "awaiting_review"
    assert bot.audit() == audit_before


def _set_role(bot: Bot, email: str, role: str) -> None:
    engine = create_engine(bot.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE staff_users SET role = :role WHERE email = :email"),
                {"role": role, "email": email},
            )
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- rendering


def test_confirmation_escapes_the_summary_and_carries_a_compact_value() -> None:
    summary = (
        "**Approve 1 reward** (USD 5.00 in all):\n- rw-1 · <!channel> <https://evil.example|x>"
    )
    pending = PendingAction(id="abc123", kind="approve_rewards", summary=summary)
    answer = Answer(answer=summary, thread_id="slack-T1-C1-1.2-U1", pending_action=pending)
    [message] = render_pending(answer).messages
    [section, actions] = message.blocks
    assert "&lt;!channel&gt;" in section["text"]["text"]
    assert "<!channel>" not in section["text"]["text"] and "<https" not in section["text"]["text"]
    assert [e["value"] for e in actions["elements"]] == [
        '{"t":"slack-T1-C1-1.2-U1","a":"abc123"}'
    ] * 2
    assert parse_value(actions["elements"][0]["value"]) == ("slack-T1-C1-1.2-U1", "abc123")
    assert parse_value("not json") is None and parse_value('{"t": 1}') is None
    with pytest.raises(ValueError):
        button_value("t" * 1990, "abc123")
    after = decided_blocks(message.blocks, "reject", "<!channel>")
    assert [b["type"] for b in after] == ["section", "context"]
    assert after[1]["elements"][0]["text"] == ":x: *Rejected* by &lt;!channel&gt;"

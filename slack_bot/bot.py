"""The Slack bot: slack-bolt listeners that acknowledge at once and answer in the background.

Slack wants an acknowledgement within 3 seconds; the assistant may take longer, so every
listener only starts a task and returns (bolt then answers HTTP 200). Signature and timestamp
(5 minutes) are checked by bolt before anything here runs; event ids are claimed in the database
so a retried or duplicated delivery is answered once. Approve / Reject clicks (`block_actions`,
slack_bot/confirm.py) are decided by the assistant, which makes a change once: a repeated click
finds nothing pending and is told so.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from domain.db import get_engine
from domain.slack_links import SlackIdentity
from slack_bot.asking import (
    AlreadyDecided,
    AskFn,
    AskRefused,
    AssistantAsker,
    DecisionNotAllowed,
    NotYourChange,
    ResumeFn,
    command_thread_id,
    event_thread_id,
    resolve_identity,
)
from slack_bot.confirm import ACTION_IDS, DECISIONS, decided_blocks, parse_value, render_reply
from slack_bot.dedup import claim_event
from slack_bot.delivery import ResponseUrlTarget, Target, ThreadTarget, deliver
from slack_bot.mrkdwn import escape, slack_to_plain
from slack_bot.render import Reply, SlackMessage
from slack_bot.settings import SlackSettings

log = logging.getLogger("keen.slack")
T = TypeVar("T")

THINKING = "thinking…"
GREETING = "Hi {name}! Ask me anything about your partnerships: leads, channels, rewards, reports."
SUGGESTED_PROMPTS = [
    {"title": "Stuck leads", "message": "Which leads are stuck?"},
    {"title": "Best channels", "message": "Which channels brought the most revenue last quarter?"},
    {"title": "Rewards to pay", "message": "Which rewards are approved but not paid yet?"},
    {"title": "Reports to review", "message": "Which reward reports need attention?"},
]
REFUSAL = (
    "Sorry, I can only answer people whose Slack account is linked to a Keen user, and yours "
    "(`{user}`) is not linked yet. An admin can link it with "
    "`keen slack link --slack-user {user} --user YOUR_EMAIL`."
)
EMPTY_QUESTION = "Ask me a question about your partnerships, e.g. “which leads are stuck?”"
USAGE = "Usage: `/keen QUESTION`, e.g. `/keen which leads are stuck?`"
WORKING = "Looking into it: _{question}_"
FAILED = "Sorry, something went wrong while answering. Please try again in a moment."
NOT_YOURS = "Only the person who asked can confirm this change."
ALREADY_DECIDED = (
    "This change was already decided (or replaced by a newer one): nothing more changed."
)
STILL_PENDING = "Nothing was changed; the change is still waiting for a decision."
DECISION_FAILED = "Sorry, something went wrong while deciding. Please try again in a moment."


def _notice(text: str) -> Reply:
    return Reply(messages=[SlackMessage(text=text, blocks=[])])


class SlackBot:
    """One bolt AsyncApp wired to the assistant; `bolt` is what the HTTP adapter dispatches to."""

    def __init__(
        self,
        settings: SlackSettings,
        ask: AskFn | None = None,
        engine: Engine | None = None,
        resume: ResumeFn | None = None,
    ) -> None:
        self.settings = settings
        self.ask: AskFn = ask or AssistantAsker()
        self.resume: ResumeFn = (
            resume or getattr(self.ask, "resume", None) or AssistantAsker().resume
        )
        self._engine = engine
        self._links = settings.user_links()
        self._tasks: set[asyncio.Task[None]] = set()
        client_args: dict[str, Any] = {"token": settings.bot_token}
        if settings.base_url:
            client_args["base_url"] = settings.base_url
        self.client = AsyncWebClient(**client_args)
        self.bolt = AsyncApp(
            name="keen",
            signing_secret=settings.signing_secret,
            client=self.client,
            logger=logging.getLogger("keen.slack.bolt"),
        )
        self.bolt.middleware(self._claim_event)
        self.bolt.event("app_mention")(self._on_mention)
        self.bolt.event("message")(self._on_message)
        self.bolt.event("assistant_thread_started")(self._on_thread_started)
        self.bolt.event("assistant_thread_context_changed")(self._on_context_changed)
        self.bolt.command(re.compile(r"^/"))(self._on_command)
        self.bolt.action(ACTION_IDS)(self._on_decision)

    @property
    def engine(self) -> Engine:
        return self._engine if self._engine is not None else get_engine()

    # ------------------------------------------------------------------ plumbing

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the acknowledgement, keeping a reference so it is not collected."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for answers still being written (for shutdown and tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _claim_event(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """Global middleware: a delivery of an event id already claimed is acknowledged only."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            first = await self._in_db(claim_event, event_id, body.get("team_id"))
            if not first:
                log.info("Slack event %s delivered again: already handled", event_id)
                return BoltResponse(status=200, body="")
        await next()
        return None

    async def _in_db(self, work: Callable[..., T], *args: Any) -> T:
        """`work(engine, *args)` in a worker thread: database calls must not block the loop."""
        return await asyncio.to_thread(lambda: work(self.engine, *args))

    async def _identity(self, user_id: str, team_id: str | None) -> SlackIdentity | None:
        return await self._in_db(resolve_identity, user_id, team_id, self._links)

    async def _reply(
        self, question: str, identity: SlackIdentity, thread_id: str, where: str
    ) -> Reply:
        """The assistant's answer as a Reply; refusals and failures as a short notice."""
        try:
            answer = await asyncio.to_thread(self.ask, question, identity, thread_id)
        except AskRefused as exc:
            return _notice(escape(str(exc)))
        except Exception:
            log.exception("Slack question failed (thread %s)", thread_id)
            return _notice(FAILED)
        return render_reply(answer, csv_where=where)

    async def _set_status(self, channel: str, thread_ts: str, status: str) -> None:
        """The assistant-thread status line; only assistant threads have one, so errors pass."""
        try:
            await self.client.assistant_threads_setStatus(
                channel_id=channel, thread_ts=thread_ts, status=status
            )
        except SlackApiError as exc:
            log.debug("assistant.threads.setStatus failed: %s", exc.response.get("error"))

    # ------------------------------------------------------------------ events

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        self._spawn(
            self._answer_in_thread(
                team=body.get("team_id") or "",
                channel=event["channel"],
                thread_ts=event.get("thread_ts") or event["ts"],
                user=event.get("user") or "",
                text=slack_to_plain(event.get("text") or "", context.bot_user_id),
                assistant_thread=False,
            )
        )

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        """Direct messages only: channel messages reach us as app_mention (answered there),
        and edits, joins and bot messages (our own included) are never questions."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        user = event.get("user")
        if not user or user == context.bot_user_id:
            return
        self._spawn(
            self._answer_in_thread(
                team=body.get("team_id") or "",
                channel=event["channel"],
                thread_ts=event.get("thread_ts") or event["ts"],
                user=user,
                text=slack_to_plain(event.get("text") or "", context.bot_user_id),
                assistant_thread=bool(event.get("thread_ts")),
            )
        )

    async def _answer_in_thread(
        self,
        *,
        team: str,
        channel: str,
        thread_ts: str,
        user: str,
        text: str,
        assistant_thread: bool,
    ) -> None:
        target = ThreadTarget(self.client, channel, thread_ts)
        try:
            identity = await self._identity(user, team)
            if identity is None:
                reply = _notice(REFUSAL.format(user=escape(user)))
            elif not text:
                reply = _notice(EMPTY_QUESTION)
            else:
                if assistant_thread:
                    await self._set_status(channel, thread_ts, THINKING)
                thread_id = event_thread_id(team, channel, thread_ts, user)
                reply = await self._reply(text, identity, thread_id, "in the CSV file below")
            await deliver(reply, target)
        except Exception:
            log.exception("Slack reply to %s in %s failed", user, channel)

    async def _on_thread_started(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        thread = event.get("assistant_thread") or {}
        self._spawn(
            self._greet(
                team=body.get("team_id") or "",
                channel=thread.get("channel_id") or "",
                thread_ts=thread.get("thread_ts") or "",
                user=thread.get("user_id") or "",
            )
        )

    async def _greet(self, *, team: str, channel: str, thread_ts: str, user: str) -> None:
        """A new assistant thread: a greeting and suggested prompts, or the refusal."""
        target = ThreadTarget(self.client, channel, thread_ts)
        try:
            identity = await self._identity(user, team)
            if identity is None:
                await deliver(_notice(REFUSAL.format(user=escape(user))), target)
                return
            name = (identity.name or identity.email).split(" ")[0]
            await deliver(_notice(GREETING.format(name=escape(name))), target)
            await self.client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, prompts=SUGGESTED_PROMPTS
            )
        except Exception:
            log.exception("Slack assistant thread greeting failed")

    async def _on_context_changed(self) -> None:
        """The user moved to another channel; questions carry their own context."""

    # ------------------------------------------------------------------ slash command

    async def _on_command(self, ack: Any, command: dict[str, Any], respond: AsyncRespond) -> None:
        question = slack_to_plain(command.get("text") or "")
        if not question:
            await ack(text=USAGE, response_type="ephemeral")
            return
        await ack(text=WORKING.format(question=escape(question)), response_type="ephemeral")
        self._spawn(self._answer_command(command, question, respond))

    async def _answer_command(
        self, command: dict[str, Any], question: str, respond: AsyncRespond
    ) -> None:
        user = command.get("user_id") or ""
        team = command.get("team_id") or ""
        try:
            identity = await self._identity(user, team)
            if identity is None:
                await respond(text=REFUSAL.format(user=escape(user)), response_type="ephemeral")
                return
            day = datetime.now(UTC).date()
            thread_id = command_thread_id(team, command.get("channel_id") or "", user, day)
            where = "sent to you as a CSV file in a direct message"
            reply = await self._reply(question, identity, thread_id, where)
            target: Target = ResponseUrlTarget(respond, self.client, user)
            await deliver(reply, target)
        except Exception:
            log.exception("Slack slash command answer for %s failed", user)

    # ------------------------------------------------------------------ Approve / Reject

    async def _on_decision(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond | None
    ) -> None:
        """A click on Approve or Reject (`block_actions`): acknowledged at once, decided later."""
        await ack()
        self._spawn(self._decide(body, action, respond))

    async def _decide(
        self, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond | None
    ) -> None:
        user = (body.get("user") or {}).get("id") or ""
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
        container = body.get("container") or {}
        message = body.get("message") or {}
        where = _Where(
            channel=container.get("channel_id") or (body.get("channel") or {}).get("id") or "",
            message_ts=container.get("message_ts") or message.get("ts"),
            thread_ts=container.get("thread_ts") or message.get("thread_ts"),
            ephemeral=bool(container.get("is_ephemeral")),
        )
        decision = DECISIONS.get(action.get("action_id") or "")
        parsed = parse_value(action.get("value"))
        if decision is None or parsed is None:
            log.warning("Slack click on %r with an unreadable value", action.get("action_id"))
            return
        thread_id, action_id = parsed
        try:
            identity = await self._identity(user, team)
            if identity is None:
                await self._tell(where, user, REFUSAL.format(user=escape(user)), respond)
                return
            try:
                answer = await asyncio.to_thread(
                    self.resume, identity, thread_id, action_id, decision
                )
            except NotYourChange:
                await self._tell(where, user, NOT_YOURS, respond)
                return
            except AlreadyDecided:
                await self._tell(where, user, ALREADY_DECIDED, respond)
                return
            except DecisionNotAllowed as exc:
                await self._tell(where, user, f"{escape(str(exc))} {STILL_PENDING}", respond)
                return
            except AskRefused as exc:
                await self._tell(where, user, escape(str(exc)), respond)
                return
            except Exception:
                log.exception("Slack decision failed (thread %s)", thread_id)
                await self._tell(where, user, DECISION_FAILED, respond)
                return
            await self._mark_decided(where, message, decision, user, respond)
            reply = render_reply(answer)
            target: Target
            if where.thread_ts or respond is None:
                target = ThreadTarget(
                    self.client, where.channel, where.thread_ts or where.message_ts or ""
                )
            else:
                target = ResponseUrlTarget(respond, self.client, user)
            await deliver(reply, target)
        except Exception:
            log.exception("Slack decision reply to %s in %s failed", user, where.channel)

    async def _tell(
        self, where: _Where, user: str, text: str, respond: AsyncRespond | None
    ) -> None:
        """A note only the clicker sees, in the message's thread."""
        try:
            await self.client.chat_postEphemeral(
                channel=where.channel, user=user, text=text, thread_ts=where.thread_ts
            )
        except SlackApiError:
            if respond is None:
                raise
            await respond(text=text, response_type="ephemeral", replace_original=False)

    async def _mark_decided(
        self,
        where: _Where,
        message: dict[str, Any],
        decision: str,
        user: str,
        respond: AsyncRespond | None,
    ) -> None:
        """The confirmation loses its buttons and says who decided (chat.update, or the
        response_url for a message the bot cannot update, such as an ephemeral one)."""
        blocks = decided_blocks(list(message.get("blocks") or []), decision, user)
        text = message.get("text") or "Decided."
        if where.message_ts and not where.ephemeral:
            try:
                await self.client.chat_update(
                    channel=where.channel, ts=where.message_ts, text=text, blocks=blocks
                )
                return
            except SlackApiError as exc:
                if respond is None:
                    raise
                log.warning(
                    "chat.update failed (%s); using the response_url", exc.response.get("error")
                )
        if respond is not None:
            await respond(text=text, blocks=blocks, replace_original=True)


@dataclass(frozen=True)
class _Where:
    """The clicked message: its channel, its own ts, and the thread it sits in."""

    channel: str
    message_ts: str | None
    thread_ts: str | None
    ephemeral: bool = False

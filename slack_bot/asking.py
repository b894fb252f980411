"""Who asks from Slack, in which conversation, and the assistant call itself.

The assistant is imported on first use, so the server starts (and answers 401/503 correctly)
even while the agent cannot be loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from domain.db import session_scope
from domain.slack_links import SlackIdentity, find_slack_identity, identity_from_config

if TYPE_CHECKING:
    from agent.answer import Answer

AskFn = Callable[[str, SlackIdentity, str], "Answer"]
"""(question, identity, thread id) -> Answer; blocking, run in a worker thread."""


class AskRefused(Exception):
    """The assistant declined the question (empty, too long, unknown thread or organization);
    the message is safe to show the user."""


def event_thread_id(team_id: str, channel_id: str, thread_ts: str, user_id: str) -> str:
    """One conversation per Slack thread and person, so follow-ups in the thread continue it
    (and two people in one thread never share memory: their roles may differ)."""
    return f"slack-{team_id}-{channel_id}-{thread_ts}-{user_id}"


def command_thread_id(team_id: str, channel_id: str, user_id: str, day: date) -> str:
    """Slash commands have no thread: one conversation per person, channel and day."""
    return f"slack-{team_id}-{channel_id}-{user_id}-cmd-{day.isoformat()}"


def resolve_identity(
    engine: Engine,
    slack_user_id: str,
    team_id: str | None,
    configured: dict[str, tuple[str, str]],
) -> SlackIdentity | None:
    """The linked staff user (database first, then SLACK_USER_MAP), or None: not allowed."""
    with session_scope(engine) as session:
        identity = find_slack_identity(session, slack_user_id, team_id)
        entry = configured.get((slack_user_id or "").upper())
        if identity is None and entry is not None:
            identity = identity_from_config(session, slack_user_id, entry[0], entry[1])
        return identity


class AssistantAsker:
    """The default AskFn: one `agent.service.Assistant` for the bot's lifetime."""

    def __init__(self) -> None:
        self._assistant: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._assistant is None:
                from agent.service import Assistant

                self._assistant = Assistant()
            return self._assistant

    def __call__(self, question: str, identity: SlackIdentity, thread_id: str) -> Answer:
        from agent.service import Asker, QuestionRejected, ThreadNotFound
        from domain.db import UnknownOrganization

        asker = Asker(
            org_slug=identity.org_slug, user=identity.email, role=identity.role, surface="slack"
        )
        try:
            return self._get().ask(question, asker, thread_id=thread_id)
        except (QuestionRejected, ThreadNotFound, UnknownOrganization) as exc:
            raise AskRefused(str(exc)) from exc

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

ResumeFn = Callable[[SlackIdentity, str, str, str], "Answer"]
"""(identity, thread id, action id, "approve" | "reject") -> Answer: a button click on a change
waiting for confirmation. Blocking; raises the DecisionRefused kinds below."""


class AskRefused(Exception):
    """The assistant declined the question (empty, too long, unknown thread or organization);
    the message is safe to show the user."""


class DecisionRefused(Exception):
    """A click on Approve/Reject that changed nothing; the message is safe to show the user."""


class NotYourChange(DecisionRefused):
    """The thread is not the clicker's: only the person who asked may decide."""


class AlreadyDecided(DecisionRefused):
    """The change is no longer waiting (a duplicated click, or decided/replaced before)."""


class DecisionNotAllowed(DecisionRefused):
    """The clicker's role may not make this change; it stays pending."""


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
    """The default AskFn and ResumeFn: one `agent.service.Assistant` for the bot's lifetime
    (the server's own when given, so one process runs one graph)."""

    def __init__(self, assistant: Any = None) -> None:
        self._assistant: Any = assistant
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._assistant is None:
                from agent.service import Assistant

                self._assistant = Assistant()
            return self._assistant

    def __call__(self, question: str, identity: SlackIdentity, thread_id: str) -> Answer:
        from agent.service import QuestionRejected, ThreadNotFound
        from domain.db import UnknownOrganization

        try:
            return self._get().ask(question, _asker(identity), thread_id=thread_id)
        except (QuestionRejected, ThreadNotFound, UnknownOrganization) as exc:
            raise AskRefused(str(exc)) from exc

    def resume(
        self, identity: SlackIdentity, thread_id: str, action_id: str, decision: str
    ) -> Answer:
        """Approve or reject the thread's pending change as `identity` (role checked there)."""
        from agent.service import ActionNotPending, QuestionRejected, ThreadNotFound
        from domain.db import UnknownOrganization
        from domain.permissions import NotAllowed

        try:
            return self._get().resume(thread_id, _asker(identity), action_id, decision)
        except ThreadNotFound as exc:
            raise NotYourChange(str(exc)) from exc
        except ActionNotPending as exc:
            raise AlreadyDecided(str(exc)) from exc
        except NotAllowed as exc:
            raise DecisionNotAllowed(str(exc)) from exc
        except (QuestionRejected, UnknownOrganization) as exc:
            raise AskRefused(str(exc)) from exc


def _asker(identity: SlackIdentity) -> Any:
    from agent.service import Asker

    return Asker(
        org_slug=identity.org_slug, user=identity.email, role=identity.role, surface="slack"
    )

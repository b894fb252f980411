"""`mount_slack(app)`: the Slack endpoints of `keen serve` (interfaces.md).

`POST /slack/events` takes the Events API and interactivity payloads, `POST /slack/commands` the
slash command; both are dispatched by slack-bolt, which checks the signature first. Without
`SLACK_SIGNING_SECRET` and `SLACK_BOT_TOKEN` both answer 503, and the rest of the server runs on.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from slack_bot.asking import AskFn, AssistantAsker, ResumeFn
from slack_bot.settings import SlackSettings

log = logging.getLogger("keen.slack")

PATHS = ("/slack/events", "/slack/commands")
NOT_CONFIGURED = "Slack is not configured"


def _mount_unavailable(app: FastAPI) -> None:
    async def slack_unavailable() -> Response:
        return JSONResponse({"detail": NOT_CONFIGURED}, status_code=503)

    for path in PATHS:
        app.add_api_route(path, slack_unavailable, methods=["POST"], tags=["slack"])


def mount_slack(
    app: FastAPI,
    settings: SlackSettings | None = None,
    ask: AskFn | None = None,
    resume: ResumeFn | None = None,
) -> None:
    """Add the Slack endpoints to `app`; the bot is kept as `app.state.slack_bot`.

    Without `ask`, the bot asks the app's own assistant (`app.state.assistant`, as set by
    `server.create_app`) when it has one, so a process runs one graph.
    """
    settings = settings or SlackSettings()
    if not settings.configured:
        _mount_unavailable(app)
        return
    try:
        from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

        from slack_bot.bot import SlackBot

        if ask is None:
            shared = getattr(app.state, "assistant", None)
            usable = callable(getattr(shared, "ask", None)) and callable(
                getattr(shared, "resume", None)
            )
            ask = AssistantAsker(shared if usable else None)
        bot = SlackBot(settings, ask=ask, resume=resume)
        handler = AsyncSlackRequestHandler(bot.bolt)
    except Exception:
        log.exception("Slack bot could not start; its endpoints answer 503")
        _mount_unavailable(app)
        return

    async def slack_endpoint(request: Request) -> Response:
        return await handler.handle(request)

    for path in PATHS:
        app.add_api_route(path, slack_endpoint, methods=["POST"], tags=["slack"])
    app.state.slack_bot = bot

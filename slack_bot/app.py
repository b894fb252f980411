"""`mount_slack(app)`: the Slack endpoints of `keen serve` (interfaces.md).

`POST /slack/events` takes the Events API and interactivity payloads, `POST /slack/commands` the
slash command; both are dispatched by slack-bolt, which checks the signature first. Without
`SLACK_SIGNING_SECRET` and `SLACK_BOT_TOKEN` both answer 503, and the rest of the server runs on.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier

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

    verifier = SignatureVerifier(settings.signing_secret or "")

    async def slack_endpoint(request: Request) -> Response:
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return JSONResponse({"error": "the body is not UTF-8 text"}, status_code=400)
        if not verifier.is_valid_request(text, dict(request.headers)):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        problem = malformed(text, request.headers.get("content-type", ""))
        if problem is not None:
            return JSONResponse({"error": problem}, status_code=400)
        return await handler.handle(request)

    for path in PATHS:
        app.add_api_route(path, slack_endpoint, methods=["POST"], tags=["slack"])
    app.state.slack_bot = bot


def malformed(text: str, content_type: str) -> str | None:
    """Why a signed body cannot be a Slack request (bolt would raise on it), or None."""
    if "json" in content_type:
        return _not_an_object(text)
    fields = parse_qs(text)
    if "payload" in fields:  # interactivity: form-encoded JSON
        return _not_an_object(fields["payload"][0])
    return None


def _not_an_object(text: str) -> str | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return "the body is not valid JSON"
    if not isinstance(value, dict):
        return "the JSON body is not an object"
    event = value.get("event")
    return None if event is None or isinstance(event, dict) else "the event is not an object"

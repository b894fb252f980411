"""The FastAPI application of `keen serve`: API, OpenAI-compatible endpoints, widget, Slack."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from domain.db import get_engine, session_scope
from domain.enums import Role
from domain.models import Organization, StaffUser
from domain.widget_tokens import widget_secret
from web import chat_api, openai_api, pages
from web.config import WebSettings
from web.errors import install_error_handlers
from web.limits import BodyLimitMiddleware
from web.metrics import Metrics, MetricsMiddleware
from web.ratelimit import RateLimiter
from web.tokens import warm_up

log = logging.getLogger("keen.web")
access_log = logging.getLogger("keen.request")

DEMO_ORG = "default"
DEMO_FALLBACK_USER = "demo@keen.local"


# ----------------------------------------------------------------------------- request logs

REQUEST_ID: ContextVar[str] = ContextVar("keen_request_id", default="-")
REQUEST_ID_HEADER = "X-Request-Id"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_LOG_FIELDS = ("method", "path", "status", "duration_ms")
# credentials that must never reach a log line, whatever code logged them
_SECRET_PATTERNS = (
    re.compile(r"(keen_[0-9a-f]{8})_[A-Za-z0-9_-]+"),  # API key: keep the public prefix
    re.compile(r"xox[a-z]-[A-Za-z0-9-]+"),  # Slack tokens
    re.compile(r"sk-[A-Za-z0-9_-]{8,}"),  # OpenAI-style keys
    re.compile(r"kwt\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),  # widget tokens
)
_SECRET_SETTINGS = (
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "OPENAI_API_KEY",
    "KEEN_WIDGET_SECRET",
)


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """`text` with credentials masked (an API key keeps its public prefix)."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}_***" if m.groups() else "***", text)
    for secret in extra:
        if secret:
            text = text.replace(secret, "***")
    return text


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message (credentials masked)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets = tuple(v for k in _SECRET_SETTINGS if len(v := os.environ.get(k, "")) >= 8)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": REQUEST_ID.get(),
            "message": redact(record.getMessage(), self.secrets),
        }
        entry.update({k: getattr(record, k) for k in _LOG_FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info), self.secrets)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """Structured logs on stderr for `keen serve` (uvicorn's own loggers included)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # keen.request logs each request
    logging.getLogger("alembic").setLevel(logging.WARNING)


class RequestIdMiddleware:
    """Every request (on /api and /v1: one conversation turn) gets an id: in the response's
    X-Request-Id header, on every log line written while it runs, and on one summary line
    when it ends (streams included). A client's own X-Request-Id is kept when it is sane."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            REQUEST_ID.reset(token)


def demo_identity() -> dict[str, str] | None:
    """Whom the demo page's tokens are for: the demo organization's first admin."""
    with session_scope(get_engine()) as session:
        slugs = list(session.scalars(select(Organization.slug).order_by(Organization.slug)))
        org = DEMO_ORG if DEMO_ORG in slugs else (slugs[0] if len(slugs) == 1 else None)
        if org is None:
            log.warning("demo page disabled: no organization %r and not exactly one", DEMO_ORG)
            return None
        email = session.scalar(
            select(StaffUser.email)
            .join(Organization, Organization.id == StaffUser.org_id)
            .where(Organization.slug == org, StaffUser.role == Role.admin.value)
            .order_by(StaffUser.ext_id)
        )
    return {"org": org, "user": email or DEMO_FALLBACK_USER, "role": Role.admin.value}


def _mount_slack(app: FastAPI) -> None:
    """Slack is optional: another package provides it when installed."""
    try:
        from slack_bot.app import mount_slack  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name not in ("slack_bot", "slack_bot.app"):
            log.warning("Slack is not mounted: %s", exc)
        return
    except ImportError as exc:
        log.warning("Slack is not mounted: %s", exc)
        return
    mount_slack(app)


def _prepare(app: FastAPI) -> None:
    """Blocking start-up work: migrate, read the widget secret, build the agent once."""
    get_engine()
    app.state.widget_secret = widget_secret()
    if app.state.demo:
        app.state.demo_identity = demo_identity()
    warm_up()
    try:
        _ = app.state.assistant.graph
    except Exception:  # the server still starts, so /health and the logs can tell why
        log.exception("the assistant could not be built")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(_prepare, app)
    if app.state.today is not None:
        log.info("today is pinned to %s", app.state.today.isoformat())
    yield


def create_app(
    assistant: Any = None,
    *,
    demo: bool = False,
    today: date | None = None,
    settings: WebSettings | None = None,
) -> FastAPI:
    """The whole HTTP surface. `assistant` defaults to the real one (one per process)."""
    if assistant is None:
        from agent.service import Assistant

        assistant = Assistant()
    settings = settings or WebSettings()
    app = FastAPI(
        title="Keen assistant",
        summary="Answers partnership questions from your Keen data.",
        description=(
            "Authenticate every `/api` and `/v1` call with `Authorization: Bearer <key>` "
            "(an API key from `keen keys create`, or a widget token). Errors are JSON "
            '`{"error": "..."}`.'
        ),
        version="1",
        lifespan=_lifespan,
    )
    app.state.assistant = assistant
    app.state.demo = demo
    app.state.demo_identity = None
    app.state.today = today
    app.state.web_settings = settings
    app.state.widget_secret = b""
    app.state.metrics = Metrics()
    app.state.limiter = RateLimiter(settings.rate_per_minute, settings.rate_burst)

    install_error_handlers(app)
    app.include_router(chat_api.router)
    app.include_router(openai_api.router)
    app.include_router(pages.router)
    _mount_slack(app)

    # added innermost first: metrics see everything, including 413s and CORS preflights
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", openai_api.THREAD_HEADER],
        expose_headers=[openai_api.THREAD_HEADER, "Retry-After", REQUEST_ID_HEADER],
    )
    routes = [*chat_api.router.routes, *openai_api.router.routes, *pages.router.routes]
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, routes=routes)
    app.add_middleware(RequestIdMiddleware)  # outermost: its id is on every line of the request
    return app


SERVE_DEMO, SERVE_TODAY, SERVE_LOG_LEVEL = "KEEN_SERVE_DEMO", "KEEN_SERVE_TODAY", "KEEN_SERVE_LOG"


def app_from_environment() -> FastAPI:
    """The app of one worker of `keen serve --workers N` (uvicorn imports it in each)."""
    configure_logging(os.environ.get(SERVE_LOG_LEVEL, "info"))
    today = os.environ.get(SERVE_TODAY)
    return create_app(
        demo=bool(os.environ.get(SERVE_DEMO)),
        today=date.fromisoformat(today) if today else None,
    )

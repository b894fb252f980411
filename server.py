"""The FastAPI application of `keen serve`: API, OpenAI-compatible endpoints, widget, Slack."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
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

DEMO_ORG = "default"
DEMO_FALLBACK_USER = "demo@keen.local"


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
        expose_headers=[openai_api.THREAD_HEADER, "Retry-After"],
    )
    routes = [*chat_api.router.routes, *openai_api.router.routes, *pages.router.routes]
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, routes=routes)
    return app

"""Unauthenticated routes: the widget script, the demo page and its token, health, metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from domain.db import get_engine
from domain.widget_tokens import mint_token
from web.errors import ApiError
from web.schemas import Health

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
async def demo_page() -> FileResponse:
    return FileResponse(STATIC / "demo.html", media_type="text/html; charset=utf-8")


@router.get("/widget.js", include_in_schema=False)
async def widget_script() -> FileResponse:
    return FileResponse(
        STATIC / "widget.js",
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/demo/token", tags=["widget"])
async def demo_token(request: Request) -> JSONResponse:
    """A short-lived widget token for the demo page (only with `keen serve --demo`)."""
    demo = request.app.state.demo_identity
    if demo is None:
        raise ApiError(404, "The demo is off: start the server with `keen serve --demo`.")
    ttl = request.app.state.web_settings.demo_token_ttl_s
    token = mint_token(
        demo["org"], demo["user"], demo["role"], ttl, secret=request.app.state.widget_secret
    )
    return JSONResponse(
        {"token": token, "expires_at": int(time.time()) + ttl, "user": demo["user"]},
        headers={"Cache-Control": "no-store"},
    )


def _database_ok() -> bool:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@router.get("/health", response_model=Health, tags=["ops"])
async def health(request: Request) -> Any:
    """200 when the database answers, 503 otherwise."""
    ok = await run_in_threadpool(_database_ok)
    body = Health(
        status="ok" if ok else "database unavailable",
        model=request.app.state.assistant.model,
        demo=request.app.state.demo_identity is not None,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", tags=["ops"])
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

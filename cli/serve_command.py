"""`keen serve`: the HTTP server (API, OpenAI-compatible endpoints, web widget, Slack)."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

DEMO_DATASET = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "demo"
DEMO_ORG = "default"
DEMO_TODAY = date(2026, 11, 18)  # the demo data is dated around this day

log = logging.getLogger("keen.serve")


def load_demo_if_empty() -> bool:
    """Load the bundled demo dataset into `default` when no organization exists yet."""
    from sqlalchemy import func, select

    from cli.loading import after_load
    from domain.db import get_engine, session_scope
    from domain.importer import load_dataset
    from domain.models import Organization

    engine = get_engine()
    with session_scope(engine) as session:
        if session.scalar(select(func.count()).select_from(Organization)):
            log.info("demo: the database already has data; nothing loaded")
            return False
    log.info("demo: loading %s into organization %r", DEMO_DATASET, DEMO_ORG)
    load_dataset(engine, DEMO_DATASET, DEMO_ORG)
    after_load(DEMO_ORG)
    return True


def demo_today() -> date | None:
    """The demo's date unless KEEN_TODAY pins another one."""
    from domain.settings import get_settings

    pinned = get_settings().keen_today
    if pinned is not None:
        log.info("demo: today is %s (from KEEN_TODAY)", pinned.isoformat())
        return None
    log.info("demo: today is pinned to %s, the date of the demo data", DEMO_TODAY.isoformat())
    return DEMO_TODAY


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Load the demo data when the database is empty; demo page."),
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=64, help="Server processes (one per core answers most)."
        ),
    ] = 1,
) -> None:
    """Run the HTTP server: API, OpenAI-compatible endpoints, web widget and Slack."""
    import uvicorn

    from server import SERVE_DEMO, SERVE_LOG_LEVEL, SERVE_TODAY, configure_logging, create_app

    configure_logging(log_level)  # JSON lines with a request id, credentials masked
    today = None
    if demo:
        load_demo_if_empty()
        today = demo_today()
    if demo:
        typer.echo(f"Demo page: http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    if workers > 1:
        # each worker process builds its own app from these (threads, pending changes and
        # the widget secret live in the database and data folder, so any worker serves any)
        os.environ[SERVE_DEMO] = "1" if demo else ""
        os.environ[SERVE_TODAY] = today.isoformat() if today else ""
        os.environ[SERVE_LOG_LEVEL] = log_level
        uvicorn.run(
            "server:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level.lower(),
            log_config=None,
        )
        return
    app = create_app(demo=demo, today=today)
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), log_config=None)

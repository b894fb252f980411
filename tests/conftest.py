"""Shared fixtures: a throw-away database on SQLite and, when reachable, on PostgreSQL.

In CI (CI=true) an unreachable PostgreSQL fails the run instead of skipping: those tests must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from domain.db import get_engine, make_engine
from domain.models import Base
from domain.settings import get_settings

PG_URL = os.environ.get(
    "KEEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_reachable() -> bool:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


POSTGRES_UP = _postgres_reachable()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data folder and no inherited database or model settings."""
    monkeypatch.setenv("KEEN_DATA_DIR", str(tmp_path / "keen-data"))
    for var in ("DATABASE_URL", "KEEN_TODAY", "KEEN_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_settings.cache_clear()
    get_engine.cache_clear()


def _sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    Base.metadata.create_all(engine)
    return engine


def require_postgres() -> None:
    """Skip without PostgreSQL on a developer's machine; fail in CI, where it must run."""
    if not POSTGRES_UP:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}; CI must run these tests")
        pytest.skip("PostgreSQL is not reachable")


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A database URL whose search_path is a new, empty schema, dropped afterwards (for
    servers in other processes, which take the schema from the URL)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _postgres_engine() -> tuple[Engine, str]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(
        PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True
    )
    Base.metadata.create_all(engine)
    return engine, schema


def _drop_schema(schema: str) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty schema on each database backend."""
    if request.param == "sqlite":
        eng = _sqlite_engine(tmp_path)
        yield eng
        eng.dispose()
        return
    eng, schema = _postgres_engine()
    yield eng
    eng.dispose()
    _drop_schema(schema)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for tests whose subject is not the database backend."""
    eng = _sqlite_engine(tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s

"""The Alembic migrations produce exactly the schema the models declare, on both databases."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from domain.db import make_engine, migrate
from domain.models import Base
from tests.conftest import PG_URL, POSTGRES_UP


def _assert_no_drift(engine) -> None:  # type: ignore[no-untyped-def]
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {"leads", "rewards", "reward_reports", "audit_log", "api_keys"} <= tables


def test_migrations_match_models_on_sqlite(tmp_path: Path) -> None:
    _assert_no_drift(make_engine(f"sqlite:///{tmp_path / 'm.db'}"))


@pytest.mark.postgres
def test_migrations_match_models_on_postgres() -> None:
    if not POSTGRES_UP:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL must be reachable in CI")
        pytest.skip("PostgreSQL is not reachable")
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        _assert_no_drift(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

"""Alembic environment: runs on the connection handed over by domain.db.migrate, or on a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from domain.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from domain.settings import get_settings

    engine = create_engine(get_settings().resolved_database_url)
    with engine.begin() as conn:
        _run(conn)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()

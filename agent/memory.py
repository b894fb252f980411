"""Conversation memory: a LangGraph checkpointer beside the data (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
from functools import lru_cache

from langgraph.checkpoint.base import BaseCheckpointSaver

from domain.settings import get_settings


def _postgres_conninfo(url: str) -> str:
    """psycopg wants `postgresql://`, SQLAlchemy URLs may name a driver."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


@lru_cache(maxsize=4)
def get_checkpointer(database_url: str | None = None) -> BaseCheckpointSaver:
    """SQLite file under KEEN_DATA_DIR by default; PostgreSQL when DATABASE_URL is one."""
    settings = get_settings()
    url = database_url if database_url is not None else settings.database_url
    if url and url.startswith("postgres"):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(
            _postgres_conninfo(url),
            max_size=10,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=True,
        )
        saver: BaseCheckpointSaver = PostgresSaver(pool)  # type: ignore[arg-type]
        saver.setup()  # type: ignore[attr-defined]
        return saver
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = settings.keen_data_dir / "conversations.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL keeps it consistent; one fsync per checkpoint
    sqlite_saver = SqliteSaver(conn)
    sqlite_saver.setup()
    return sqlite_saver

"""Engines, sessions and schema migration for SQLite (embedded) and PostgreSQL (at scale)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from domain.models import Organization
from domain.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _tune_sqlite(engine: Engine) -> None:
    """WAL lets readers run beside the importer; foreign keys are off by default in SQLite."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB a connection (a server pools several)
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()


def make_engine(url: str) -> Engine:
    """A new engine for `url`; SQLite files get their folder created and their pragmas set."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for the configured database (migrated on first use)."""
    engine = make_engine(url or get_settings().resolved_database_url)
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_factories: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """One sessionmaker per engine (building one per session showed in profiles)."""
    factory = _factories.get(engine)
    if factory is None:
        factory = _factories[engine] = sessionmaker(engine, expire_on_commit=False)
    return factory


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def write_lock(session: Session) -> None:
    """On SQLite, take the write lock now (BEGIN IMMEDIATE) when no transaction is open yet.

    A transaction that reads and then writes would otherwise pin a read snapshot, and fail at
    once ("database is locked") if another writer commits first; with the lock taken up front
    it waits its turn (busy_timeout). PostgreSQL needs nothing: conditional UPDATEs and row
    locks order concurrent writers there.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    dbapi = session.connection().connection.driver_connection
    if dbapi is not None and not dbapi.in_transaction:
        session.execute(text("BEGIN IMMEDIATE"))


class UnknownOrganization(LookupError):
    """Raised when an organization slug does not exist (the message lists the known ones)."""


def resolve_org(session: Session, slug: str | None) -> Organization:
    """The organization named by `slug`, or the only one when `slug` is None."""
    orgs = list(session.scalars(select(Organization).order_by(Organization.slug)))
    if slug is None:
        if len(orgs) == 1:
            return orgs[0]
        if not orgs:
            raise UnknownOrganization("No data loaded yet: run `keen load DIR` first.")
        names = ", ".join(o.slug for o in orgs)
        raise UnknownOrganization(f"Several organizations exist ({names}): pass --org.")
    for org in orgs:
        if org.slug == slug:
            return org
    names = ", ".join(o.slug for o in orgs) or "none"
    raise UnknownOrganization(f"Unknown organization {slug!r} (known: {names}).")


def get_or_create_org(session: Session, slug: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        org = Organization(slug=slug, name=slug.replace("-", " ").title())
        session.add(org)
        session.flush()
    return org

"""Each Slack event is handled once, even when Slack delivers it again or to another process.

Slack retries an event it thinks was not acknowledged (header `X-Slack-Retry-Num`), up to three
times within about an hour; with several server processes the retry may land on any of them. The
event id is therefore claimed in the database (insert-or-ignore on its primary key): only the
delivery whose insert went in handles the event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from domain.models import SlackEventReceipt

KEEP_RECEIPTS = timedelta(days=1)  # Slack's last retry comes about an hour after the first try


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # naive UTC, as everywhere


def claim_event(
    engine: Engine, event_id: str, team_id: str | None, now: datetime | None = None
) -> bool:
    """True for the first delivery of `event_id`, False for every later one."""
    now = now or _utcnow()
    values = {"event_id": event_id[:64], "team_id": team_id, "received_at": now}
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(
            delete(SlackEventReceipt).where(SlackEventReceipt.received_at < now - KEEP_RECEIPTS)
        )
        if dialect in ("sqlite", "postgresql"):
            upsert = sqlite.insert if dialect == "sqlite" else postgresql.insert
            stmt = (
                upsert(SlackEventReceipt)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(SlackEventReceipt.event_id)  # rowcount is -1 with psycopg
            )
            return conn.execute(stmt).scalar() is not None
    try:
        with engine.begin() as conn:
            conn.execute(insert(SlackEventReceipt).values(**values))
        return True
    except IntegrityError:
        return False

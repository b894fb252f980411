"""The audit log: who changed what, from which surface, and the state before and after.

Every change made after import (a lead moved, a reward approved or paid) leaves an entry, so
"who approved this?" is answered from data. The optional idempotency key (unique) lets a
repeated request be recognised and answered with the first result instead of acting twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import AuditEntry


def utcnow() -> datetime:
    """Naive UTC, the convention of every timestamp column."""
    return datetime.now(UTC).replace(tzinfo=None)


def scoped_key(org_id: int, key: str | None) -> str | None:
    """Idempotency keys are unique per organization: two orgs may pick the same key."""
    return None if key is None else f"{org_id}:{key}"


def record(
    session: Session,
    org_id: int,
    actor: str,
    surface: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    thread_id: str | None = None,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry to the session (flushed, so a clashing idempotency key fails here)."""
    entry = AuditEntry(
        org_id=org_id,
        at=at or utcnow(),
        actor=actor,
        surface=surface,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        thread_id=thread_id,
        idempotency_key=scoped_key(org_id, idempotency_key),
    )
    session.add(entry)
    session.flush()
    return entry


def history(session: Session, org_id: int, entity_type: str, entity_id: str) -> list[AuditEntry]:
    """Every entry about one entity, oldest first."""
    stmt = (
        select(AuditEntry)
        .where(
            AuditEntry.org_id == org_id,
            AuditEntry.entity_type == entity_type,
            AuditEntry.entity_id == entity_id,
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(session.scalars(stmt))


def find_by_key(session: Session, org_id: int, idempotency_key: str) -> AuditEntry | None:
    """The entry written by the first call that used this key, if any."""
    stmt = select(AuditEntry).where(
        AuditEntry.org_id == org_id,
        AuditEntry.idempotency_key == scoped_key(org_id, idempotency_key),
    )
    return session.scalar(stmt)

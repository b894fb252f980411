"""The audit log: entries per entity in order, per-organization idempotency keys."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import audit
from tests.builders import World


def _entry(session: Session, org_id: int, entity_id: str, at: datetime, **kw: object) -> None:
    audit.record(
        session,
        org_id,
        "ana@acme.test",
        "cli",
        kw.pop("action", "reward.approve"),  # type: ignore[arg-type]
        "reward",
        entity_id,
        before={"status": "awaiting_review"},
        after={"status": "approved"},
        at=at,
        **kw,  # type: ignore[arg-type]
    )


def test_history_is_per_entity_oldest_first_and_org_scoped(session: Session) -> None:
    acme = World.create(session, "acme")
    other = World.create(session, "other")
    _entry(session, acme.org.id, "r1", datetime(2026, 3, 2), thread_id="t-9")
    _entry(session, acme.org.id, "r1", datetime(2026, 3, 1), action="reward.created")
    _entry(session, acme.org.id, "r2", datetime(2026, 3, 1))
    _entry(session, other.org.id, "r1", datetime(2026, 3, 1))

    entries = audit.history(session, acme.org.id, "reward", "r1")

    # Two entries for acme's r1 (not r2, not the other org's r1), 1 March before 2 March.
    assert [(e.action, e.at.day) for e in entries] == [("reward.created", 1), ("reward.approve", 2)]
    last = entries[-1]
    assert (last.actor, last.surface, last.thread_id) == ("ana@acme.test", "cli", "t-9")
    assert (last.before, last.after) == ({"status": "awaiting_review"}, {"status": "approved"})


def test_idempotency_keys_are_unique_per_organization(session: Session) -> None:
    acme = World.create(session, "acme")
    other = World.create(session, "other")
    _entry(session, acme.org.id, "r1", datetime(2026, 3, 1), idempotency_key="k-1")
    # The same key chosen by another organization is a different key.
    _entry(session, other.org.id, "r1", datetime(2026, 3, 1), idempotency_key="k-1")

    found = audit.find_by_key(session, acme.org.id, "k-1")
    assert found is not None and found.org_id == acme.org.id
    assert audit.find_by_key(session, acme.org.id, "k-2") is None

    with pytest.raises(IntegrityError):
        _entry(session, acme.org.id, "r2", datetime(2026, 3, 1), idempotency_key="k-1")
    session.rollback()

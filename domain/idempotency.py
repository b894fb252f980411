"""Once-only changes: a change made under an idempotency key is never made twice.

The key's result is stored in the audit log (its unique `idempotency_key`), written in the same
savepoint as the change. A repeat (double click, Slack retry, a resumed confirmation after a
crash) finds it and answers with the first result; a concurrent repeat fails on the unique index,
its savepoint with all its work is rolled back, and it answers with the winner's result.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import audit


class IdempotencyKeyReused(ValueError):
    """The key was already used for a different action."""


@dataclass(frozen=True)
class By:
    """Who caused a change and from where, carried into every audit entry it leads to."""

    actor: str
    surface: str
    thread_id: str | None = None


def run_once(
    session: Session,
    org_id: int,
    key: str | None,
    action: str,
    entity_type: str,
    by: By,
    at: datetime,
    work: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """`(result, replayed)`: `work()`'s JSON result, or the stored one when the key was used.

    Without a key nothing can clash, and the caller's transaction is left as it is.
    """
    if key is not None:
        prior = _replay(session, org_id, key, action)
        if prior is not None:
            return prior, True
    try:
        with session.begin_nested() if key is not None else nullcontext():
            result = work()
            if key is not None:
                audit.record(
                    session,
                    org_id,
                    by.actor,
                    by.surface,
                    action,
                    entity_type,
                    key[:100],
                    before=None,
                    after=result,
                    thread_id=by.thread_id,
                    idempotency_key=key,
                    at=at,
                )
    except IntegrityError:
        prior = _replay(session, org_id, key, action) if key is not None else None
        if prior is None:
            raise
        return prior, True
    return result, False


def _replay(session: Session, org_id: int, key: str, action: str) -> dict[str, Any] | None:
    entry = audit.find_by_key(session, org_id, key)
    if entry is None:
        return None
    if entry.action != action:
        raise IdempotencyKeyReused(
            f"Idempotency key {key!r} was already used for {entry.action}, not {action}."
        )
    return dict(entry.after or {})

"""Slack event ids are claimed once in the database, across connections and processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from domain.models import SlackEventReceipt
from slack_bot.dedup import claim_event

T0 = datetime(2026, 11, 18, 9, 0, 0)


def test_first_delivery_only(engine: Engine) -> None:
    assert claim_event(engine, "Ev001", "T1", now=T0) is True
    assert claim_event(engine, "Ev001", "T1", now=T0 + timedelta(minutes=5)) is False
    assert claim_event(engine, "Ev002", "T1", now=T0) is True


def test_receipts_are_kept_one_day(engine: Engine) -> None:
    claim_event(engine, "Ev001", "T1", now=T0)
    # Exactly one day later the receipt is still there (pruned only when strictly older).
    assert claim_event(engine, "Ev001", "T1", now=T0 + timedelta(days=1)) is False
    # One second past the day it is pruned, so the id counts as new again.
    assert claim_event(engine, "Ev001", "T1", now=T0 + timedelta(days=1, seconds=1)) is True
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(SlackEventReceipt)) == 1


def test_concurrent_deliveries_claim_once(engine: Engine) -> None:
    """Eight simultaneous deliveries (as from several server processes): one wins."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: claim_event(engine, "EvRace", "T1", now=T0), range(8)))
    assert results.count(True) == 1
    assert results.count(False) == 7

"""Per-key token buckets in memory: a burst is allowed, then a steady rate.

One process holds the buckets; behind several workers each has its own (say so when scaling).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_BUCKETS = 10_000  # idle, full buckets are dropped beyond this many keys


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`allow(key)` spends one token; when none is left it returns the seconds to wait."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0.0 when allowed, else the whole seconds until one token is back (at least 1)."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return float(max(1, math.ceil((1.0 - bucket.tokens) / self.rate)))

    def _forget_full(self, now: float) -> None:
        """A bucket that has refilled is the same as no bucket, so it can go."""
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[key]

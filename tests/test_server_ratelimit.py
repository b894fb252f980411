"""The per-key token bucket: a burst, then a steady rate, with an honest Retry-After."""

from __future__ import annotations

from web.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refused_with_seconds_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)  # one token per second
    assert [limiter.allow("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    # empty bucket: one token takes 1 / (60/60) = 1 s
    assert limiter.allow("k") == 1.0


def test_refill_at_the_rate_and_never_above_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=6, burst=2, clock=clock)  # 0.1 token per second
    assert limiter.allow("k") == 0.0
    assert limiter.allow("k") == 0.0
    # empty: a whole token needs 1 / 0.1 = 10 s
    assert limiter.allow("k") == 10.0
    clock.now += 9.9  # 0.99 token: still refused, and a little under 1 s to go → 1
    assert limiter.allow("k") == 1.0
    clock.now += 0.1  # exactly one token
    assert limiter.allow("k") == 0.0
    clock.now += 3600  # an hour refills only up to the burst of 2
    assert [limiter.allow("k") for _ in range(3)] == [0.0, 0.0, 10.0]


def test_keys_have_separate_buckets() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    assert limiter.allow("a") == 0.0
    assert limiter.allow("a") == 1.0
    assert limiter.allow("b") == 0.0

"""How long a key waits before it is retried: per-key exponential back-off under a global token
bucket, the two combined by taking the longer wait (client-go's default controller rate limiter).

Every ``when(key)`` call counts as one failure of ``key``; ``forget(key)`` resets it after a success.
"""

from __future__ import annotations

from typing import Protocol

from atoll.clock import Clock


class RateLimiter(Protocol):
    def when(self, key: str) -> float:
        """Seconds ``key`` must wait before its next try; records one more failure."""
        ...

    def forget(self, key: str) -> None:
        """Stop tracking ``key`` (it succeeded)."""
        ...

    def failures(self, key: str) -> int:
        """How many times ``when(key)`` was called since the last ``forget(key)``."""
        ...


class ExponentialBackoff:
    """``base * 2**failures`` seconds, capped at ``maximum``; independent for each key."""

    def __init__(self, base: float = 0.005, maximum: float = 300.0) -> None:
        self._base = base
        self._maximum = maximum
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        count = self._failures.get(key, 0)
        self._failures[key] = count + 1
        if count >= 64:  # 2**64 overflows any sane cap anyway
            return self._maximum
        return float(min(self._maximum, self._base * (2**count)))

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)


class TokenBucket:
    """At most ``rate`` retries per second overall, with bursts of ``burst``; each ``when`` reserves
    one token and returns how long until that token exists (0 while the bucket has tokens)."""

    def __init__(self, clock: Clock, rate: float = 10.0, burst: int = 100) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = clock.now()

    def when(self, key: str) -> float:
        now = self._clock.now()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def forget(self, key: str) -> None:
        return None

    def failures(self, key: str) -> int:
        return 0


class MaxOf:
    """The longest wait any of ``limiters`` asks for; failures counted by the first that counts."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self._limiters = limiters

    def when(self, key: str) -> float:
        return max(limiter.when(key) for limiter in self._limiters)

    def forget(self, key: str) -> None:
        for limiter in self._limiters:
            limiter.forget(key)

    def failures(self, key: str) -> int:
        return max(limiter.failures(key) for limiter in self._limiters)


def default_rate_limiter(clock: Clock) -> RateLimiter:
    """5 ms doubling to 5 min per key, and 10 retries/s (burst 100) overall, as client-go does."""
    return MaxOf(ExponentialBackoff(0.005, 300.0), TokenBucket(clock, 10.0, 100))

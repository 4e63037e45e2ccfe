"""Token buckets by key (a caller's identity): how often each caller may do something costly.

Used for refused calls' audit records (``audit_budget.AuditBudget``) and failed authentications
(``limits.FailedAuthLimiter``). The number of keys is bounded too: past ``max_keys`` the bucket
that was idle longest is forgotten (a forgotten bucket starts full again, which only favours the
caller; an attacker cannot grow the table without bound by inventing identities).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from atoll.clock import Clock, SystemClock

DEFAULT_MAX_KEYS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Per key: at most ``burst`` takes at once, refilled at ``per_second`` (``per_second`` 0:
    never refilled), measured on ``clock``."""

    def __init__(
        self,
        burst: float,
        per_second: float,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Clock | None = None,
    ) -> None:
        self._burst = burst
        self._rate = per_second
        self._max_keys = max_keys
        self._clock: Clock = clock or SystemClock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> bool:
        """Takes one token from ``key``'s bucket; False (and nothing taken) when it is empty."""
        bucket = self._refilled(key)
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def available(self, key: str) -> bool:
        """Whether ``take(key)`` would succeed now (takes nothing)."""
        return self._refilled(key).tokens >= 1

    def seconds_until_available(self, key: str) -> float:
        """How long until ``key`` has a token again (0 when it has one; inf when never)."""
        bucket = self._refilled(key)
        if bucket.tokens >= 1:
            return 0.0
        return (1 - bucket.tokens) / self._rate if self._rate > 0 else float("inf")

    def _refilled(self, key: str) -> _Bucket:
        now = self._clock.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return bucket
        self._buckets.move_to_end(key)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket

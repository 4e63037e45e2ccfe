"""Per-user limits the API server enforces beyond message sizes and page caps."""

from __future__ import annotations

import math
from collections import Counter

from atoll.user_text import bounded_repr
from controller.apiserver import metrics
from controller.apiserver.auth.buckets import TokenBuckets
from controller.apiserver.auth.identity import Peer
from controller.apiserver.errors import TooManyError


class WatchLimiter:
    """At most ``max_per_user`` open streams (``noun``: watch streams, sessions) per user; one
    more is RESOURCE_EXHAUSTED. Every successful ``acquire`` must be paired with one ``release``."""

    def __init__(self, max_per_user: int, noun: str = "watch streams") -> None:
        self._max = max_per_user
        self._noun = noun
        self._open: Counter[str] = Counter()

    def acquire(self, user: str) -> None:
        if self._open[user] >= self._max:
            raise TooManyError(
                f"user {bounded_repr(user)} has {self._open[user]} {self._noun} open, "
                f"the limit is {self._max}; close some"
            )
        self._open[user] += 1

    def release(self, user: str) -> None:
        self._open[user] -= 1
        if self._open[user] <= 0:
            del self._open[user]

    def open_streams(self, user: str) -> int:
        return self._open[user]


class FailedAuthLimiter:
    """Wrong tokens per peer (``Peer.key``: its certificate's user, else its address): ``burst``
    at once, then ``per_second``. While a peer has none left, ``check`` refuses its token-bearing
    calls with RESOURCE_EXHAUSTED without looking at the token, so a right guess is not told apart."""

    def __init__(self, buckets: TokenBuckets) -> None:
        self._buckets = buckets

    def check(self, peer: Peer) -> None:
        if not self._buckets.available(peer.key):
            metrics.FAILED_AUTHENTICATIONS_LIMITED.inc()
            wait = self._buckets.seconds_until_available(peer.key)
            when = f"for {math.ceil(wait)} s" if math.isfinite(wait) else "any more"
            raise TooManyError(
                f"too many failed authentications from {peer.describe()}; no token is checked for it {when}"
            )

    def failed(self, peer: Peer) -> None:
        """Counts one wrong token against ``peer``."""
        self._buckets.take(peer.key)

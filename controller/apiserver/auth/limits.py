"""Per-user limits the API server enforces beyond message sizes and page caps."""

from __future__ import annotations

from collections import Counter

from controller.apiserver.errors import TooManyError


class WatchLimiter:
    """At most ``max_per_user`` open watch streams per user; one more is RESOURCE_EXHAUSTED.
    Every successful ``acquire`` must be paired with one ``release``."""

    def __init__(self, max_per_user: int) -> None:
        self._max = max_per_user
        self._open: Counter[str] = Counter()

    def acquire(self, user: str) -> None:
        if self._open[user] >= self._max:
            raise TooManyError(
                f"user {user!r} has {self._open[user]} watch streams open, the limit is {self._max}; close some"
            )
        self._open[user] += 1

    def release(self, user: str) -> None:
        self._open[user] -= 1
        if self._open[user] <= 0:
            del self._open[user]

    def open_streams(self, user: str) -> int:
        return self._open[user]

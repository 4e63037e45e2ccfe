"""How many audit records refused calls may write, so that no caller can flush the audit log.

Every successful mutating call is recorded. A refused call (any result but OK) is recorded while
its caller (``Peer.key``) has budget left: ``burst`` records at once, then ``per_second``; and
while all callers together have ``total_burst`` / ``total_per_second`` left. A record over budget
is not written: it is counted in ``atoll_apiserver_audit_records_sampled_total`` and in the
``suppressed`` field of that caller's next written record. With the defaults (``config``: a caller
20 at once then one per 10 s; everyone 200 then 2 per second) and records bounded to about 2 KB
(``audit.AuditLog``), refused calls write at most ~14 MB an hour however many are made, so the
default retention (4 x 16 MiB) keeps hours of history through a flood.
"""

from __future__ import annotations

from collections import OrderedDict

from controller.apiserver import metrics
from controller.apiserver.auth.buckets import DEFAULT_MAX_KEYS, TokenBuckets

_ALL = ""


class AuditBudget:
    def __init__(self, per_caller: TokenBuckets, total: TokenBuckets) -> None:
        self._per_caller = per_caller
        self._total = total
        self._suppressed: OrderedDict[str, int] = OrderedDict()

    def admit(self, key: str, result: str) -> int | None:
        """None when the record of a call by ``key`` that ended with ``result`` is not to be
        written (counted here); else how many of ``key``'s records were not written since its
        last written one (the caller puts that number in the record)."""
        if result != "OK" and not (self._per_caller.available(key) and self._total.take(_ALL)):
            metrics.AUDIT_RECORDS_SAMPLED.labels(result).inc()
            self._suppressed[key] = self._suppressed.pop(key, 0) + 1
            if len(self._suppressed) > DEFAULT_MAX_KEYS:
                self._suppressed.popitem(last=False)
            return None
        if result != "OK":
            self._per_caller.take(key)
        return self._suppressed.pop(key, 0)

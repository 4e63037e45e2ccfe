"""Workloads (Pods and VirtualMachines) by phase, counted from the store for the charts, and set on
the API server's atoll_apiserver_workloads gauge so that a Prometheus keeps the same series."""

from __future__ import annotations

from collections import Counter

from atoll import kinds
from controller.apiserver import metrics
from controller.store.protocol import Store

WORKLOAD_KINDS = ("Pod", "VirtualMachine")
_PAGE = 1000
UNSET_PHASE = "Pending"  # a workload nothing has reported on yet, as the console shows it


class PhaseCounter:
    """Counts workloads by phase; callable, as ChartHistory takes it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._gauge_labels: set[tuple[str, str]] = set()

    async def __call__(self) -> dict[str, int]:
        """Phase -> count over both kinds; raises StoreError when the store cannot be read."""
        total: Counter[str] = Counter()
        by_kind: dict[tuple[str, str], int] = {}
        for name in WORKLOAD_KINDS:
            counts = await self._count(kinds.by_name(name))
            total.update(counts)
            by_kind.update({(name, phase): count for phase, count in counts.items()})
        for labels in self._gauge_labels - by_kind.keys():
            metrics.WORKLOADS.labels(*labels).set(0)  # gone: 0, so a chart's line falls instead of ending
        for labels, count in by_kind.items():
            metrics.WORKLOADS.labels(*labels).set(count)
        self._gauge_labels |= by_kind.keys()
        return dict(sorted(total.items()))

    async def _count(self, kind: kinds.Kind) -> Counter[str]:
        counts: Counter[str] = Counter()
        start_after: str | None = None
        while True:
            chunk = await self._store.range(kind.prefix(), start_after=start_after, limit=_PAGE)
            for item in chunk.items:
                counts[kind.message.FromString(item.value).status.phase or UNSET_PHASE] += 1
                start_after = item.key
            if not chunk.more:
                return counts

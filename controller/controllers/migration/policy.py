"""Migration policy: how many migrations run at once and how long one may take (KubeVirt's
defaults: 5 per cluster, 2 outbound per node, 150 s per GiB of memory, 150 s without progress)."""

from __future__ import annotations

from dataclasses import dataclass

from atoll import migrations
from atoll.quantity import parse_quantity

GIB = 1024**3


@dataclass(frozen=True)
class MigrationPolicy:
    parallel_per_cluster: int = 5
    parallel_outbound_per_node: int = 2
    completion_timeout_per_gib: float = 150.0
    # Seconds a migration may go without progress: no target chosen or ready, no more bytes sent.
    progress_timeout: float = 150.0
    # Bytes per second the hypervisor may use for one migration's stream (0: no limit).
    bandwidth: int = 0

    def completion_timeout(self, memory: str) -> float:
        """The time a migration of a VM with ``memory`` may take in all (at least one GiB's)."""
        try:
            size = float(parse_quantity(memory))
        except ValueError:
            size = GIB
        return self.completion_timeout_per_gib * max(1.0, size / GIB)


def admitted(
    candidate: migrations.Migration, others: list[migrations.Migration], policy: MigrationPolicy,
    starting: frozenset[str] = frozenset(),
) -> str:
    """Why ``candidate`` (Pending, source known) must wait for others to end, or "" to start it.
    ``starting``: uids of migrations started by this controller that ``others`` (a cache) may
    still show Pending; they count as running unless ``others`` shows them ended."""
    running = [m for m in others if m.metadata.uid != candidate.metadata.uid
               and (started(m) or (m.metadata.uid in starting and migrations.is_active(m)))]
    if len(running) >= policy.parallel_per_cluster:
        return f"{len(running)} migrations run in the cluster (limit {policy.parallel_per_cluster})"
    source = candidate.status.source_node
    outbound = [m for m in running if m.status.source_node == source]
    if len(outbound) >= policy.parallel_outbound_per_node:
        return f"{len(outbound)} migrations leave node {source} (limit {policy.parallel_outbound_per_node})"
    return ""


def started(migration: migrations.Migration) -> bool:
    """Past Pending and not ended: it counts against the limits."""
    return migrations.is_active(migration) and migration.status.phase != migrations.PENDING

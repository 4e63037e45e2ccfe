"""Migration policy: how many migrations run at once and how long one may take (KubeVirt's
defaults: 5 per cluster, 2 outbound per node, 150 s per GiB of memory, 150 s without progress)."""

from __future__ import annotations

import argparse
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
    downtime_limit_ms: int = 300
    auto_converge: bool = True

    def parameters(self) -> migrations.Parameters:
        """What the source's hypervisor is told (status.parameters of a migration it starts)."""
        return migrations.Parameters(
            downtime_limit_ms=self.downtime_limit_ms, bandwidth=self.bandwidth,
            auto_converge=self.auto_converge, progress_timeout_seconds=self.progress_timeout,
        )

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


def add_migration_flags(parser: argparse.ArgumentParser) -> None:
    """The policy's flags (atoll-controller and atoll up)."""
    defaults = MigrationPolicy()
    parser.add_argument("--migrations-per-cluster", type=int, default=defaults.parallel_per_cluster, metavar="N",
                        help="live migrations running at once in the cluster (default %(default)d)")
    parser.add_argument("--migrations-per-node", type=int, default=defaults.parallel_outbound_per_node, metavar="N",
                        help="live migrations leaving one node at once (default %(default)d)")
    parser.add_argument("--migration-bandwidth", default="0", metavar="QUANTITY",
                        help="bytes per second one migration may use, e.g. 64Mi (default 0: no limit)")
    parser.add_argument("--migration-timeout-per-gib", type=float, default=defaults.completion_timeout_per_gib,
                        metavar="SECONDS", help="seconds a migration may take per GiB of memory (default %(default)g)")
    parser.add_argument("--migration-progress-timeout", type=float, default=defaults.progress_timeout,
                        metavar="SECONDS", help="seconds a migration may go without progress (default %(default)g)")


def policy_from(args: argparse.Namespace) -> MigrationPolicy:
    """The policy the flags ask for; ValueError (one line naming the flag) for a bad value."""
    try:
        bandwidth = int(parse_quantity(str(args.migration_bandwidth)))
    except ValueError:
        raise ValueError(f"--migration-bandwidth: not a quantity: {str(args.migration_bandwidth)[:40]!r}") from None
    for flag, value in (("--migrations-per-cluster", args.migrations_per_cluster),
                        ("--migrations-per-node", args.migrations_per_node)):
        if value < 1:
            raise ValueError(f"{flag}: must be at least 1, got {value}")
    for flag, seconds in (("--migration-timeout-per-gib", args.migration_timeout_per_gib),
                          ("--migration-progress-timeout", args.migration_progress_timeout)):
        if seconds <= 0:
            raise ValueError(f"{flag}: must be more than 0, got {seconds:g}")
    if bandwidth < 0:
        raise ValueError(f"--migration-bandwidth: must not be negative, got {args.migration_bandwidth}")
    return MigrationPolicy(
        parallel_per_cluster=args.migrations_per_cluster, parallel_outbound_per_node=args.migrations_per_node,
        completion_timeout_per_gib=args.migration_timeout_per_gib, progress_timeout=args.migration_progress_timeout,
        bandwidth=bandwidth,
    )

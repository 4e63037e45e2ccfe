"""Settings of one node agent (the same for every node of a hollow fleet)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.volumes.claims import VolumeDirs
from agent.workloads.backoff import RestartBackoff
from atoll import finalizers, namespaces

FINALIZER = finalizers.NODE_AGENT
LEASE_NAMESPACE = namespaces.NODE_LEASE
RESERVED_DEFAULT = (("cpu", "100m"), ("memory", "256Mi"))


@dataclass(frozen=True)
class AgentConfig:
    """``lease_interval``: seconds between Lease renewals; ``lease_duration``: seconds after which
    a missed renewal makes the node-lifecycle controller doubt the node. ``status_interval``:
    seconds between re-fingerprints (the Node status is written only when it changed).
    ``events``: record Events (hollow benchmarks may turn them off to measure the bare path)."""

    lease_interval: float = 10.0
    lease_duration: int = 40
    status_interval: float = 60.0
    backoff: RestartBackoff = field(default_factory=RestartBackoff)
    finalizer: str = FINALIZER
    events: bool = True
    # Where this node keeps persistent volume data; None: it makes none (simulated nodes only check
    # that a workload's claims are bound and placed here).
    volume_dirs: VolumeDirs | None = None
    # How long a simulated node (no volume_dirs) takes to attach a workload's volumes, as a real
    # node needs time to make or map them (hollow fleets: --volume-attach-seconds).
    sim_volume_attach_seconds: float = 0.0

"""What every runner of one node shares: the API client, the node's drivers, time, settings, and the
writers of its Events and workload statuses (batched; a hollow fleet shares them across nodes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import AgentConfig
from agent.drivers.protocol import Driver, TaskHandle
from agent.events import EventRecorder
from agent.network.address_pool import PodAddressPool
from agent.workloads.status_batch import StatusBatcher
from atoll.client import Client
from atoll.clock import Clock
from atoll.v1 import meta_pb2


@dataclass
class NodeContext:
    """``adopted`` holds tasks recovered from the drivers at agent start, by task id, until the
    runner of their workload claims them (what is left unclaimed after the first full list is
    orphaned: its workload was deleted while the agent was down)."""

    client: Client
    node_name: str
    node_os: str
    host_ip: str
    drivers: list[Driver]
    clock: Clock
    config: AgentConfig
    events: EventRecorder
    statuses: StatusBatcher
    adopted: dict[str, tuple[Driver, TaskHandle]] = field(default_factory=dict)
    # Units of each extended resource this node offers (its capacity), for admission.
    extended_resources: Mapping[str, int] = field(default_factory=dict)
    # The node's address pool when its drivers are simulated (set from the Node's spec.podCIDR).
    addresses: PodAddressPool | None = None
    # Where pods' volumes are written (VOLUMES/<pod uid>/<volume>) for drivers that mount them;
    # None: volumes are resolved but never written (simulated nodes).
    volumes_dir: Path | None = None
    # Task ids of VM guests being live-migrated away (migration_runner.py): their runners leave
    # them alone, so a source guest paused at switch-over is never resumed.
    migrating: set[str] = field(default_factory=set)

    @property
    def source(self) -> str:
        return f"agent/{self.node_name}"

    def event(self, kind: str, meta: meta_pb2.ObjectMeta, reason: str, message: str, *, warning: bool = False) -> None:
        self.events.record(self.source, kind, meta.namespace, meta.name, meta.uid, reason, message, warning=warning)

    def claim(self, task_id: str) -> tuple[Driver, TaskHandle] | None:
        """The adopted task with this id, handed over once."""
        return self.adopted.pop(task_id, None)

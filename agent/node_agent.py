"""NodeAgent: one node's registration, adoption, and its runners (one per bound workload).

It owns no connection and no watch: ``dispatch`` is fed by a watch that may serve many nodes
(agent.run for one real node, agent.hollow for a fleet). Contracts:
- ``start`` fingerprints the drivers, registers the Node, then adopts every task the drivers
  still hold (from an earlier agent process) so runners continue them instead of starting anew.
- After the first complete list of both kinds (``synced``), adopted tasks no workload claimed
  are orphans (deleted while the agent was down): they are stopped and destroyed, and the
  volume directories of pods this node no longer runs are removed.
- Its Node object (at registration, then from a Node watch) tells it the node's pod CIDR: the
  address pool (simulated drivers) and the drivers on the real pod network (PodCidrAware) take
  their range from there, and every runner that waited for it is woken.
- Then pod sandboxes, namespaces and addresses that belong to no workload of the node (deleted
  while the agent was down, or half made by a crash) are torn down (PodSandboxes), and the
  previous-run logs of such workloads removed (KeepsPreviousLogs).
- A runner serves one binding of its workload. A VirtualMachine unbound and bound here again (its
  next run, atoll/vm_runs.py) gets a new runner once the old one has finished with its run; the
  new binding waits in ``_next_binding`` meanwhile.
- ``close`` stops reconciling but leaves workloads running, as kubelet does on restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from agent import metrics, registration
from agent.driver_timing import timed
from agent.drivers.abilities import KeepsPreviousLogs, PodCidrAware, PodSandboxes
from agent.drivers.protocol import Driver, DriverError, DriverFingerprint, TaskHandle, workload_uid_of
from agent.node_metrics import sample_node
from agent.registration import NodeProfile
from agent.volumes.pod_volumes import remove_orphaned_volumes
from agent.workloads.context import NodeContext
from agent.workloads.migration_runner import MigrationRunner
from agent.workloads.pod_runner import PodRunner
from agent.workloads.vm_runner import VmRunner
from agent.workloads.workload_runner import WorkloadRunner
from atoll import kinds
from atoll.v1 import api_pb2, node_pb2
from atoll.watch_events import DELETED

log = logging.getLogger(__name__)
MIGRATION = "VirtualMachineMigration"


class NodeAgent:
    def __init__(self, ctx: NodeContext, profile: NodeProfile) -> None:
        self.ctx = ctx
        self.profile = profile
        self.runners: dict[str, WorkloadRunner] = {}
        self._next_binding: dict[str, tuple[str, Any]] = {}  # uid -> (kind, message) waiting for its runner
        self.node: node_pb2.Node | None = None
        self._synced: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        self.migrations = MigrationRunner(ctx, self._vm_task)
        for driver in ctx.drivers:
            driver.set_listener(self._task_changed)

    @property
    def name(self) -> str:
        return self.ctx.node_name

    async def fingerprints(self) -> list[tuple[str, DriverFingerprint]]:
        return [
            (driver.name, await timed(driver.name, "fingerprint", driver.fingerprint())) for driver in self.ctx.drivers
        ]

    async def start(self) -> None:
        wanted = registration.node_object(self.profile, await self.fingerprints())
        self.node = await registration.register(self.ctx.client, wanted, int(self.ctx.clock.now() * 1e9))
        self._learn_network(self.node)
        metrics.NODES.add(self.name, lambda: sample_node(self.node, list(self.runners.values())))
        await self.adopt()

    async def adopt(self) -> None:
        for driver in self.ctx.drivers:
            for handle in await driver.list_tasks():
                if await driver.recover(handle):
                    self.ctx.adopted[handle.task_id] = (driver, handle)
        if self.ctx.adopted:
            log.info("node %s: adopted %d running tasks", self.name, len(self.ctx.adopted))

    async def refresh(self) -> None:
        """Re-fingerprint; UpdateStatus only when something changed."""
        if self.node is None:
            return
        wanted = registration.node_status(self.profile, await self.fingerprints())
        self.node = await registration.update_status(self.ctx.client, self.node, wanted,
                                                     int(self.ctx.clock.now() * 1e9))

    def dispatch(self, kind: str, event: api_pb2.WatchEvent) -> None:
        """Hand one watch event to the workload's runner, creating the runner on first sight."""
        message = kinds.unwrap(event.object)
        if kind == "Node":
            if event.type != DELETED:
                self.node = message
                self._learn_network(message)
            return
        if kind == MIGRATION:
            self.migrations.observe(event)
            return
        uid = message.metadata.uid
        runner = self.runners.get(uid)
        if event.type == DELETED:
            self._next_binding.pop(uid, None)
            if runner is not None:
                runner.vanish()
            return
        if runner is None:
            self._add_runner(kind, message)
        elif runner.serves(message):
            runner.observe(message)
        else:  # a new binding while the old one's runner still ends its run
            runner.vanish()
            self._next_binding[uid] = (kind, message)

    def _add_runner(self, kind: str, message: Any) -> None:
        uid = message.metadata.uid
        runner = PodRunner(self.ctx, message) if kind == "Pod" else VmRunner(self.ctx, message)
        self.runners[uid] = runner
        self._forget_when_done(uid, runner)

    def _learn_network(self, node: node_pb2.Node) -> None:
        cidr = node.spec.pod_cidr
        pool = self.ctx.addresses
        changed = pool is not None and pool.set_range(cidr)
        for driver in self.ctx.drivers:
            if isinstance(driver, PodCidrAware):
                changed = driver.set_pod_cidr(cidr) or changed
        if changed:
            log.info("node %s: pod CIDR %s", self.name, cidr)
            for runner in self.runners.values():
                runner.wake()

    def synced(self, kind: str) -> None:
        if kind in self._synced:
            return
        self._synced.add(kind)
        if self._synced >= {"Pod", "VirtualMachine"}:
            orphans, self.ctx.adopted = self.ctx.adopted, {}
            self._spawn(self._destroy_orphans(list(orphans.values())))
            if self.ctx.volumes_dir is not None:
                self._spawn(remove_orphaned_volumes(self.ctx.volumes_dir, set(self.runners)))

    async def _destroy_orphans(self, orphans: list[tuple[Driver, TaskHandle]]) -> None:
        for driver, handle in orphans:
            log.info("node %s: destroying orphaned task %s", self.name, handle.task_id)
            with contextlib.suppress(DriverError):
                await driver.stop(handle.task_id, 0.0)
                await driver.destroy(handle.task_id, force=True)
        for driver in self.ctx.drivers:
            if isinstance(driver, PodSandboxes):
                try:
                    cleaned = await driver.remove_orphan_sandboxes(lambda uid: uid in self.runners)
                except DriverError as err:
                    log.warning("node %s: orphaned pod sandboxes not all removed: %s", self.name, err)
                    continue
                if cleaned:
                    log.info("node %s: removed the pod network of %d gone workloads", self.name, len(cleaned))
            if isinstance(driver, KeepsPreviousLogs):
                cleaned = await driver.remove_orphan_logs(lambda uid: uid in self.runners)
                if cleaned:
                    log.info("node %s: removed the previous logs of %d gone workloads", self.name, len(cleaned))

    def _vm_task(self, namespace: str, name: str) -> tuple[Driver, str] | None:
        """The driver and task id of the running VM ``namespace/name`` on this node, if any."""
        for runner in self.runners.values():
            meta = runner.latest.metadata
            if not isinstance(runner, VmRunner) or (meta.namespace, meta.name) != (namespace, name):
                continue
            if runner.driver is not None and runner.task_alive and not runner.vanished:
                return runner.driver, runner.config.task_id
        return None

    def _task_changed(self, task_id: str) -> None:
        runner = self.runners.get(workload_uid_of(task_id))
        if runner is not None:
            runner.wake()

    def _forget_when_done(self, uid: str, runner: WorkloadRunner) -> None:
        async def forget() -> None:
            await runner.done.wait()
            if self.runners.get(uid) is runner:
                del self.runners[uid]
                waiting = self._next_binding.pop(uid, None)
                if waiting is not None:
                    self._add_runner(*waiting)
        self._spawn(forget())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        metrics.NODES.remove(self.name)
        await self.migrations.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*(runner.close() for runner in self.runners.values()))
        await asyncio.gather(*self._background, return_exceptions=True)

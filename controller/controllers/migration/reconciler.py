"""The migration controller: each VirtualMachineMigration from Pending to its end
(atoll/migrations.py has the phases and who moves each).

- Pending: a migration whose VM is not Running, or that raced past the API server's check while
  another migration of the VM is active (the older one wins), fails at once. Otherwise it waits
  for the policy's limits (policy.py: migrations per cluster, outbound per node), then becomes
  Scheduling with its source node, run number and start time; the scheduler picks the target.
- TargetReady / Running: the agents drive it; this controller fails it when it stalls (no target
  chosen or ready, no bytes sent for ``progress_timeout``) or takes longer than the completion
  timeout (per GiB of the VM's memory): the agents then cancel the stream and drop the target, and
  the VM keeps running on its source.
- ``spec.cancel``: Cancelled (unless the hypervisor already completed: then it switches over).
- ``status.completed`` (the source's agent saw the hypervisor finish): the switch-over, one
  conditional Update of the VM (spec.nodeName = target; the API server moves its current run and
  status.migrationState in that write), then Succeeded. The source's agent then sees the VM
  leave and tears its side down; the target's agent adopts the task it received.
The VM's ``status.migrationState`` mirrors the migration throughout (conditional status writes
on a fresh read, so an agent's newer status is never overwritten). Events on the migration and
the VM for each phase; metrics in controller/runtime/metrics.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import grpc

from atoll import migrations
from atoll.client import ApiError
from atoll.clock import Clock, set_timestamp
from atoll.events import NORMAL, WARNING
from atoll.ports import Creator, Getter, StatusUpdater, Updater
from atoll.v1 import migration_pb2, virtualmachine_pb2
from controller.controllers.migration.policy import MigrationPolicy, admitted, started
from controller.runtime import metrics
from controller.runtime.events import EventRecorder
from controller.runtime.informer import ObjectCache
from controller.runtime.keys import key_of
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

log = logging.getLogger(__name__)
NAME = "migration"
KIND = "VirtualMachineMigration"
VM_KIND = "VirtualMachine"
Migration = migration_pb2.VirtualMachineMigration
VirtualMachine = virtualmachine_pb2.VirtualMachine
WAIT_FOR_SLOT = 1.0  # seconds between looks at the limits while a migration waits for a slot
_EVENTS = {
    migrations.SCHEDULING: (NORMAL, "Migrating", "live migration {name} started from node {source}"),
    migrations.TARGET_READY: (NORMAL, "MigrationTargetReady", "node {target} is ready to receive the VM"),
    migrations.RUNNING: (NORMAL, "MigrationRunning", "memory is being copied from {source} to {target}"),
    migrations.SUCCEEDED: (NORMAL, "Migrated", "moved from node {source} to {target} without a reboot "
                                                "(downtime {downtime} ms)"),
    migrations.FAILED: (WARNING, "MigrationFailed", "{reason}: {message}; the VM keeps running on {source}"),
    migrations.CANCELLED: (NORMAL, "MigrationCancelled", "{message}; the VM keeps running on {source}"),
}


class MigrationApi(Creator, Getter, Updater, StatusUpdater, Protocol):
    """The API calls the controller makes; ``atoll.client.Client`` satisfies it."""


class MigrationController:
    name = NAME

    def __init__(
        self,
        api: MigrationApi,
        migrations_cache: ObjectCache[Migration],
        vms: ObjectCache[VirtualMachine],
        clock: Clock,
        policy: MigrationPolicy | None = None,
        queue: WorkQueue | None = None,
    ) -> None:
        self.api = api
        self.clock = clock
        self.policy = policy or MigrationPolicy()
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.migrations = migrations_cache
        self.vms = vms
        self.events = EventRecorder(api, f"controller/{NAME}", clock)
        self._progress: dict[str, tuple[int, float]] = {}  # key -> (bytes sent, when that last changed)
        self._reported: dict[str, str] = {}  # key -> the last phase an Event was recorded for
        # Admission against the limits is one decision at a time, and counts what this controller
        # started even before its cache shows it (several workers reconcile at once).
        self._admission = asyncio.Lock()
        self._starting: set[str] = set()
        migrations_cache.add_handler(lambda _type, m, _previous: self.queue.add(key_of(m)))
        vms.add_handler(lambda _type, vm, _previous: self._vm_changed(vm))

    def _vm_changed(self, vm: VirtualMachine) -> None:
        for migration in self.migrations.list(vm.metadata.namespace):
            if migration.spec.vm_name == vm.metadata.name and migrations.is_active(migration):
                self.queue.add(key_of(migration))

    async def reconcile(self, key: str) -> Result | None:
        cached = self.migrations.get(key)
        metrics.MIGRATIONS_IN_FLIGHT.set(sum(1 for m in self.migrations.list() if started(m)))
        if cached is None:
            self._progress.pop(key, None)
            self._reported.pop(key, None)
            return None
        migration = Migration()
        migration.CopyFrom(cached)  # never change the cache's copy
        await self._report(key, migration)
        vm = self.vms.get(f"{migration.metadata.namespace}/{migration.spec.vm_name}")
        if not migrations.is_active(migration):
            if vm is not None:
                await self._mirror(migration, vm)
            return None
        if vm is None or vm.metadata.HasField("deletion_timestamp"):
            return await self._end(migration, migrations.FAILED, migrations.REASON_VM_GONE,
                                   f"virtualmachine/{migration.spec.vm_name} is gone")
        if migration.status.completed:
            return await self._switch_over(migration, vm)
        if migration.spec.cancel:
            return await self._end(migration, migrations.CANCELLED, migrations.REASON_CANCELLED, "cancelled")
        if migration.status.phase == migrations.PENDING:
            return await self._begin(migration, vm)
        await self._mirror(migration, vm)
        return await self._check_deadlines(key, migration, vm)

    # --- phases ---------------------------------------------------------------------------------

    async def _begin(self, migration: Migration, vm: VirtualMachine) -> Result | None:
        older = [
            other for other in self.migrations.list(migration.metadata.namespace)
            if other.spec.vm_name == migration.spec.vm_name and migrations.is_active(other)
            and _age_order(other) < _age_order(migration)
        ]
        if older:
            return await self._end(migration, migrations.FAILED, migrations.REASON_SUPERSEDED,
                                   f"migration {older[0].metadata.name} of this VM is active")
        if not vm.spec.node_name or vm.status.phase != "Running":
            return await self._end(migration, migrations.FAILED, migrations.REASON_VM_NOT_RUNNING,
                                   f"the VM is {vm.status.phase or 'Pending'}, not Running")
        migration.status.source_node = vm.spec.node_name
        async with self._admission:
            cached = list(self.migrations.list())
            self._starting.intersection_update(m.metadata.uid for m in cached if m.status.phase == migrations.PENDING)
            waiting = admitted(migration, cached, self.policy, frozenset(self._starting))
            if waiting:
                if migration.status.message != f"waiting: {waiting}":
                    migration.status.message = f"waiting: {waiting}"
                    await self.api.update_status(migration)
                return Result(requeue_after=WAIT_FOR_SLOT)
            migration.status.phase = migrations.SCHEDULING
            migration.status.parameters.CopyFrom(self.policy.parameters())
            migration.status.run_number = vm.status.current_run.number
            migration.status.message = ""
            set_timestamp(migration.status.start_time, self.clock.now())
            await self.api.update_status(migration)
            self._starting.add(migration.metadata.uid)
        return None  # its own watch event brings it back

    async def _check_deadlines(self, key: str, migration: Migration, vm: VirtualMachine) -> Result | None:
        now = self.clock.now()
        sent = int(migration.status.progress.bytes_transferred)
        last_sent, since = self._progress.get(key, (-1, now))
        if sent != last_sent:
            since = now
            self._progress[key] = (sent, now)
        started_at = migration.status.start_time.ToNanoseconds() / 1e9 or now
        completion = self.policy.completion_timeout(vm.spec.memory)
        if now - started_at >= completion:
            return await self._end(migration, migrations.FAILED, migrations.REASON_TIMED_OUT,
                                   f"not completed within {completion:g}s ({self.policy.completion_timeout_per_gib:g}s "
                                   f"per GiB of memory)")
        if now - since >= self.policy.progress_timeout:
            phase = migration.status.phase
            reason, what = {
                migrations.SCHEDULING: (migrations.REASON_TARGET_FAILED, "no target node got ready"),
                migrations.TARGET_READY: (migrations.REASON_SOURCE_FAILED, "the source did not start sending"),
            }.get(phase, (migrations.REASON_NOT_CONVERGING, "no progress"))
            return await self._end(migration, migrations.FAILED, reason,
                                   f"{what} for {self.policy.progress_timeout:g}s")
        deadline = min(started_at + completion, since + self.policy.progress_timeout)
        return Result(requeue_after=max(0.1, deadline - now))

    async def _switch_over(self, migration: Migration, vm: VirtualMachine) -> Result | None:
        """spec.nodeName = target in one conditional Update (the API server moves the run along),
        once the VM's status says the hypervisor completed; then Succeeded."""
        target = migration.status.target_node
        if vm.spec.node_name != target:
            fresh = await self._fresh_vm(migration)
            if fresh is None:
                return None
            state = fresh.status.migration_state
            if state.migration_uid != migration.metadata.uid or not state.completed:
                _fill_state(state, migration)
                state.completed = True
                await self.api.update_status(fresh)
                return None  # the VM's watch event brings us back
            fresh.spec.node_name = target
            await self.api.update(fresh)
        return await self._end(migration, migrations.SUCCEEDED, "", "")

    async def _end(self, migration: Migration, phase: str, reason: str, message: str) -> Result | None:
        status = migration.status
        status.phase, status.reason, status.message = phase, reason, message
        set_timestamp(status.end_time, self.clock.now())
        await self.api.update_status(migration)
        metrics.MIGRATIONS.labels(phase).inc()
        if status.start_time.seconds:
            metrics.MIGRATION_DURATION.labels(phase).observe(max(0.0, self.clock.now() - status.start_time.seconds))
        if phase == migrations.SUCCEEDED:
            metrics.MIGRATION_DOWNTIME.observe(status.progress.downtime_ms / 1000.0)
        return None

    # --- the VM's status.migrationState ---------------------------------------------------------

    async def _mirror(self, migration: Migration, vm: VirtualMachine) -> None:
        """Copy the migration's state into the VM's status when it differs (its latest migration)."""
        state = vm.status.migration_state
        other = state.migration_uid and state.migration_uid != migration.metadata.uid
        if other and state.phase not in migrations.ENDED_PHASES:
            return  # another migration of the VM is the VM's latest
        wanted = migration_pb2.VirtualMachineMigrationState()
        wanted.CopyFrom(state)
        _fill_state(wanted, migration)
        if wanted == state:
            return
        fresh = await self._fresh_vm(migration)
        if fresh is None:
            return
        _fill_state(fresh.status.migration_state, migration)
        await self.api.update_status(fresh)

    async def _fresh_vm(self, migration: Migration) -> VirtualMachine | None:
        """The VM as stored now (its revision makes the write conditional), or None when gone."""
        try:
            obj = await self.api.get(VM_KIND, migration.spec.vm_name, migration.metadata.namespace)
        except ApiError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return obj.virtual_machine

    # --- Events ---------------------------------------------------------------------------------

    async def _report(self, key: str, migration: Migration) -> None:
        """One Event on the migration and one on its VM per phase it reached."""
        phase = migration.status.phase
        if self._reported.get(key) == phase or phase not in _EVENTS:
            return
        self._reported[key] = phase
        event_type, reason, text = _EVENTS[phase]
        status = migration.status
        message = text.format(
            name=migration.metadata.name, source=status.source_node or "?", target=status.target_node or "?",
            downtime=status.progress.downtime_ms, reason=status.reason, message=status.message,
        )
        await self.events.record(KIND, migration, event_type, reason, message)
        vm = self.vms.get(f"{migration.metadata.namespace}/{migration.spec.vm_name}")
        if vm is not None:
            await self.events.record(VM_KIND, vm, event_type, reason, message)


def _fill_state(state: migration_pb2.VirtualMachineMigrationState, migration: Migration) -> None:
    status = migration.status
    state.migration_name, state.migration_uid = migration.metadata.name, migration.metadata.uid
    state.source_node, state.target_node, state.phase = status.source_node, status.target_node, status.phase
    state.completed = state.completed or status.completed
    state.downtime_ms = status.progress.downtime_ms
    if status.HasField("start_time"):
        state.start_time.CopyFrom(status.start_time)
    if status.HasField("end_time"):
        state.end_time.CopyFrom(status.end_time)


def _age_order(migration: Migration) -> tuple[int, int, str]:
    created = migration.metadata.creation_timestamp
    return created.seconds, created.nanos, migration.metadata.name

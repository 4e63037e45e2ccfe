"""MigrationRunner: one node's part in live migrations (atoll/migrations.py has the phases).

    target side  Scheduling, target = this node  -> prepare: read the VM, build its run's task
                 config (the same run number, so the same task id), resolve its claims here,
                 ``prepare_incoming`` (agent/drivers/migration.py); the task goes into
                 NodeContext.adopted for the runner the switch-over brings; then TargetReady
                 with the address
    source side  TargetReady, source = this node -> send (Running, when this agent started while
                 it ran: follow the hypervisor's stream, ``follow_migration``): the task joins NodeContext.migrating
                 (its VmRunner leaves it alone: a paused source guest must not be resumed),
                 Running, ``migrate_out`` with progress written about once a second, then
                 ``completed`` (the controller switches the VM over; its VmRunner here then sees
                 it leave and destroys the paused source guest)
    either side  a failure: Failed with the reason (the source guest runs on); the migration
                 ended without a switch-over (Failed, Cancelled): the source stops sending, the
                 target destroys what it received

Every status write is conditional on the revision read (the controller may end a migration at any
moment); a write to a migration that ended meanwhile is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

import grpc

from agent.drivers.migration import LiveMigratable, MigrationFailed, MigrationParams, MigrationProgress
from agent.drivers.protocol import Driver, DriverError
from agent.volumes.claims import ClaimNotReady, ClaimUnusable, resolve_claims
from agent.workloads.admission import Refusal, driver_for_vm
from agent.workloads.context import NodeContext
from agent.workloads.specs import vm_config, with_volume_disks
from atoll import migrations
from atoll.client import ApiError
from atoll.v1 import migration_pb2, virtualmachine_pb2
from atoll.watch_events import DELETED

log = logging.getLogger(__name__)
KIND = "VirtualMachineMigration"
Migration = migration_pb2.VirtualMachineMigration
VirtualMachine = virtualmachine_pb2.VirtualMachine
# The VM's runner on this node (driver, task id), by namespace and name; None when it runs nothing.
SourceTask = Callable[[str, str], tuple[Driver, str] | None]
PROGRESS_WRITE_PERIOD = 1.0
VM_READ_ATTEMPTS = 20  # the controller copies the target into the VM's status a moment after the scheduler
_WRITE_RETRIES = 5


class MigrationRunner:
    def __init__(self, ctx: NodeContext, source_task: SourceTask, params: MigrationParams | None = None) -> None:
        self.ctx = ctx
        self.source_task = source_task
        self.params = params or MigrationParams()
        self.incoming: dict[str, tuple[Driver, str]] = {}  # migration uid -> what this node received
        self.outgoing: dict[str, tuple[Driver, str]] = {}  # migration uid -> what this node sends
        self._begun: set[str] = set()  # migration uids whose part here was started
        self._tasks: set[asyncio.Task[None]] = set()

    def observe(self, event: Any) -> None:
        """One watch event of a migration naming this node (sync; work goes to tasks)."""
        migration: Migration = event.object.virtual_machine_migration
        uid, me, status = migration.metadata.uid, self.ctx.node_name, migration.status
        if event.type == DELETED or not migrations.is_active(migration):
            self._ended(migration)
            return
        if status.target_node == me and status.phase == migrations.SCHEDULING and uid not in self._begun:
            self._begun.add(uid)
            self._spawn(self._prepare(migration))
        elif status.source_node == me and status.phase == migrations.TARGET_READY and uid not in self._begun:
            self._begun.add(uid)
            self._spawn(self._send(migration))
        elif status.source_node == me and status.phase == migrations.RUNNING and uid not in self._begun:
            self._begun.add(uid)  # under way when this agent started: follow what the hypervisor does
            self._spawn(self._send(migration, resumed=True))
        elif status.source_node == me and migration.spec.cancel and uid in self.outgoing:
            self._spawn(self._cancel(uid))

    # --- target ---------------------------------------------------------------------------------

    async def _prepare(self, migration: Migration) -> None:
        try:
            vm = await self._read_vm(migration)
            choice = driver_for_vm(vm.spec, self.ctx.drivers)
            if isinstance(choice, Refusal):
                raise MigrationFailed(migrations.REASON_TARGET_FAILED, f"{choice.reason}: {choice.message}")
            if not isinstance(choice, LiveMigratable):
                why = f"driver {choice.name} on node {self.ctx.node_name} cannot receive live migrations"
                raise MigrationFailed(migrations.REASON_TARGET_FAILED, why)
            config = vm_config(vm, int(migration.status.run_number) or int(vm.status.current_run.number))
            try:
                volumes = await resolve_claims(self.ctx.client, vm, self.ctx.node_name, self.ctx.config.volume_dirs)
            except (ClaimNotReady, ClaimUnusable) as err:
                raise MigrationFailed(migrations.REASON_TARGET_FAILED, f"disks not reachable here: {err}") from None
            config = with_volume_disks(config, vm, volumes)
            handle, address = await choice.prepare_incoming(config)
        except MigrationFailed as err:
            await self._fail(migration, err.reason, str(err))
            return
        except (DriverError, ApiError) as err:
            await self._fail(migration, migrations.REASON_TARGET_FAILED, f"target {self.ctx.node_name}: {err}")
            return
        self.incoming[migration.metadata.uid] = (choice, config.task_id)
        self.ctx.adopted[config.task_id] = (choice, handle)

        def ready(fresh: Migration) -> bool:
            if fresh.status.phase != migrations.SCHEDULING:
                return False
            fresh.status.phase, fresh.status.target_address = migrations.TARGET_READY, address
            return True

        if not await self._write(migration, ready):
            self._drop_incoming(migration.metadata.uid)

    async def _read_vm(self, migration: Migration) -> VirtualMachine:
        for attempt in range(VM_READ_ATTEMPTS):
            try:
                obj = await self.ctx.client.get("VirtualMachine", migration.spec.vm_name, migration.metadata.namespace)
                return obj.virtual_machine
            except ApiError as err:
                if err.code != grpc.StatusCode.PERMISSION_DENIED or attempt + 1 == VM_READ_ATTEMPTS:
                    raise
            await self.ctx.clock.sleep(0.25)
        raise AssertionError("unreachable")

    def _drop_incoming(self, uid: str) -> None:
        found = self.incoming.pop(uid, None)
        if found is None:
            return
        driver, task_id = found
        self.ctx.adopted.pop(task_id, None)

        async def destroy() -> None:
            with contextlib.suppress(DriverError):
                await driver.destroy(task_id, force=True)

        self._spawn(destroy())

    # --- source ---------------------------------------------------------------------------------

    async def _send(self, migration: Migration, resumed: bool = False) -> None:
        """Stream the VM to the target; ``resumed``: the stream began before this agent process
        (its runner may not have adopted the guest yet: wait for it a moment)."""
        uid = migration.metadata.uid
        found = self.source_task(migration.metadata.namespace, migration.spec.vm_name)
        for _ in range(VM_READ_ATTEMPTS if resumed else 0):
            if found is not None:
                break
            await self.ctx.clock.sleep(0.25)
            found = self.source_task(migration.metadata.namespace, migration.spec.vm_name)
        driver = None if found is None else found[0]
        if found is None or not isinstance(driver, LiveMigratable):
            why = "the VM runs nothing here" if found is None else f"driver {found[0].name} cannot send live migrations"
            await self._fail(migration, migrations.REASON_SOURCE_FAILED, f"source {self.ctx.node_name}: {why}")
            return
        task_id = found[1]
        self.outgoing[uid] = (found[0], task_id)
        self.ctx.migrating.add(task_id)

        def running(fresh: Migration) -> bool:
            if fresh.status.phase != migrations.TARGET_READY:
                return False
            fresh.status.phase = migrations.RUNNING
            return True

        if not resumed and not await self._write(migration, running):
            self._stop_sending(uid)
            return
        latest: list[MigrationProgress] = [MigrationProgress()]
        params = params_of(migration.status.parameters, self.params)
        stream = (driver.follow_migration(task_id, params, latest.append) if resumed
                  else driver.migrate_out(task_id, migration.status.target_address, params, latest.append))
        sending = asyncio.ensure_future(stream)
        written = MigrationProgress()
        try:
            while not sending.done():
                await asyncio.wait({sending}, timeout=PROGRESS_WRITE_PERIOD)
                if latest[-1] != written and not sending.done():
                    written = latest[-1]
                    del latest[:-1]
                    await self._write(migration, functools.partial(_progress, progress=written))
            final = sending.result()
        except MigrationFailed as err:
            self._stop_sending(uid)
            await self._fail(migration, err.reason, str(err))
            return
        except DriverError as err:
            self._stop_sending(uid)
            await self._fail(migration, migrations.REASON_SOURCE_FAILED, f"source {self.ctx.node_name}: {err}")
            return
        finally:
            if not sending.done():
                sending.cancel()

        def completed(fresh: Migration) -> bool:
            _progress(fresh, final)
            fresh.status.completed = True
            return True

        await self._write(migration, completed)

    def _stop_sending(self, uid: str) -> None:
        found = self.outgoing.pop(uid, None)
        if found is not None:
            self.ctx.migrating.discard(found[1])

    async def _cancel(self, uid: str) -> None:
        found = self.outgoing.get(uid)
        if found is not None and isinstance(found[0], LiveMigratable):
            with contextlib.suppress(DriverError):
                await found[0].cancel_migration(found[1])

    # --- both -----------------------------------------------------------------------------------

    def _ended(self, migration: Migration) -> None:
        uid = migration.metadata.uid
        self._begun.discard(uid)
        if migration.status.phase == migrations.SUCCEEDED:
            self.incoming.pop(uid, None)  # the VM's runner here adopted it
            self._stop_sending(uid)  # the VM's runner here destroys the paused source guest
            return
        if uid in self.outgoing:
            self._spawn(self._cancel(uid))
            self._stop_sending(uid)
        self._drop_incoming(uid)

    async def _fail(self, migration: Migration, reason: str, message: str) -> None:
        log.info("node %s: migration %s failed: %s", self.ctx.node_name, migration.metadata.name, message)

        def failed(fresh: Migration) -> bool:
            fresh.status.phase, fresh.status.reason, fresh.status.message = migrations.FAILED, reason, message[:1024]
            return True

        await self._write(migration, failed)

    async def _write(self, migration: Migration, change: Callable[[Migration], bool]) -> bool:
        """Read the migration, apply ``change`` (False: nothing to write) and write its status on
        that revision; False when it ended, vanished, or ``change`` declined."""
        for _ in range(_WRITE_RETRIES):
            try:
                fresh = (await self.ctx.client.get(KIND, migration.metadata.name,
                                                   migration.metadata.namespace)).virtual_machine_migration
            except ApiError as err:
                if err.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                    return False
                raise
            if fresh.metadata.uid != migration.metadata.uid or not migrations.is_active(fresh) or not change(fresh):
                return False
            try:
                await self.ctx.client.update_status(fresh)
                return True
            except ApiError as err:
                if err.code != grpc.StatusCode.ABORTED:
                    raise
        return False

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(self._logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, work: Any) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("node %s: migration work failed", self.ctx.node_name)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def params_of(given: migration_pb2.MigrationParameters, default: MigrationParams) -> MigrationParams:
    """The parameters the controller set on the migration; ``default`` where it set none."""
    return MigrationParams(
        downtime_limit_ms=int(given.downtime_limit_ms) or default.downtime_limit_ms,
        bandwidth=int(given.bandwidth) or default.bandwidth,
        auto_converge=given.auto_converge if given.downtime_limit_ms else default.auto_converge,
        progress_timeout=float(given.progress_timeout_seconds) or default.progress_timeout,
    )


def _progress(migration: Migration, progress: MigrationProgress) -> bool:
    target = migration.status.progress
    target.bytes_total, target.bytes_transferred = progress.bytes_total, progress.bytes_transferred
    target.bytes_remaining, target.dirty_rate = progress.bytes_remaining, progress.dirty_rate
    target.iterations, target.throughput = progress.iterations, progress.throughput
    target.downtime_ms = progress.downtime_ms
    return True

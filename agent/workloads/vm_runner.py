"""VmRunner: converges one VirtualMachine bound to this node.

Desired power: Stopped when runStrategy is Halted or the VM is asked to leave this node (drain;
the VirtualMachine controller then unbinds it), else spec.powerState (Running, Paused, Stopped).
When the guest ends by itself, the run strategy decides (the node's part of KubeVirt's semantics):

==============  ======================  ===========================
run strategy    guest crashed           guest shut down cleanly
==============  ======================  ===========================
Always          restart (back-off)      restart (back-off)
RerunOnFailure  restart (back-off)      stay Stopped
Manual          stay Failed             stay Stopped
Halted          stay Stopped            stay Stopped
==============  ======================  ===========================

"Stay" is for good: a run that ended here (stopped, failed, or could not start) is never booted
again by the agent. Its next run is the VirtualMachine controller's to make, as a new placement
(``atoll vm start``, or the run strategy once powerState is Running again), so the two never both
begin a run.
Status phases: Starting (provisioning, booting), Running, Paused, Stopping, Stopped, Failed.
Before each start the VM's claims are attached (agent/volumes/attach.py: waits VolumeNotReady,
fails VolumeUnusable) and its cloud-init Secret read (waits CloudInitConfigError), each wait
with an Event when its reason or message is new.
Deletion stops the guest (ACPI, then quit after the grace period) and removes the finalizer.
A booted guest is probed against its address (run_probes.py): readiness decides Ready; a failed
liveness probe stops it and the run ends as Killed (a failure: Always and RerunOnFailure restart).

Runs (atoll/vm_runs.py): a runner serves one binding of the VM to this node, which starts at the
run number the API server gave it; every boot of the guest here after the first is the next run
(vm_run_log.py), and the driver task is named after its run. A runner never writes the status of
a later run than its own: that run belongs to a new binding.
"""

from __future__ import annotations

from dataclasses import replace

from agent import metrics
from agent.driver_timing import timed
from agent.drivers.abilities import KeepsPreviousLogs, Pausable
from agent.drivers.protocol import (
    NETWORK_NOT_READY_REASON,
    CannotRunError,
    Driver,
    ExitResult,
    NetworkNotReadyError,
    StartError,
    TaskConfig,
    TaskNotFoundError,
    TaskPhase,
    task_id_for,
)
from agent.volumes.attach import VolumeAttach, Waiting
from agent.volumes.claims import CLAIM_NOT_READY_REASON, CLAIM_UNUSABLE_REASON
from agent.volumes.cloud_init_secret import from_secret
from agent.volumes.payload import CONFIG_RETRY_SECONDS, ConfigError
from agent.workloads.admission import Refusal, driver_for_vm
from agent.workloads.context import NodeContext
from agent.workloads.run_probes import ProbeSpec, RunProbes
from agent.workloads.specs import vm_config, with_volume_disks
from agent.workloads.vm_run_log import RunLog
from agent.workloads.workload_runner import WorkloadRunner
from atoll.clock import to_timestamp
from atoll.probes import vm_probes
from atoll.storage import claims_of
from atoll.user_text import bounded
from atoll.v1 import meta_pb2, virtualmachine_pb2
from atoll.vm_runs import run_end_requested, run_number, run_task_name

VirtualMachine = virtualmachine_pb2.VirtualMachine
PROBED = "vm"  # the name of the VM's probes, the same for every run (whose task names differ)
# A claim not bound yet is looked at again after 0.1 s, doubling up to 2 s: a claim of the local
# class is bound a moment after its first consumer was placed.
_PHASES = {
    TaskPhase.PROVISIONING: "Starting",
    TaskPhase.BOOTING: "Starting",
    TaskPhase.RUNNING: "Running",
    TaskPhase.PAUSED: "Paused",
    TaskPhase.STOPPING: "Stopping",
}


def desired_power(vm: VirtualMachine) -> str:
    """Stopped when Halted or when the run must end (restart, drain: atoll/vm_runs.py), else the
    spec's."""
    if vm.spec.run_strategy == "Halted" or run_end_requested(vm):
        return "Stopped"
    return vm.spec.power_state or "Running"


def restarts_after(strategy: str, result: ExitResult) -> bool:
    if strategy == "Always":
        return True
    return strategy == "RerunOnFailure" and result.failed


class VmRunner(WorkloadRunner):
    kind = "VirtualMachine"

    def __init__(self, ctx: NodeContext, vm: VirtualMachine) -> None:
        self.ctx = ctx
        self.runs = RunLog.of(vm, ctx.node_name)
        self.config = vm_config(vm, self.runs.number)
        choice = driver_for_vm(vm.spec, ctx.drivers)
        self.refusal = choice if isinstance(choice, Refusal) else None
        self.driver: Driver | None = None if isinstance(choice, Refusal) else choice
        self.phase = vm.status.phase if vm.status.phase in ("Stopped", "Failed") else "Scheduled"
        self.task_alive = False
        self.started_at = vm.status.start_time.ToNanoseconds() / 1e9 if vm.status.HasField("start_time") else 0.0
        self.restart_count = vm.status.restart_count
        self.restarts_in_window = 0
        self.retry_at = 0.0
        self.guest_booted = False
        self.ip = ""  # the running task's address, from the driver's inspect
        self.last_ip = ""  # the run's last address, for its record
        self.volumes = VolumeAttach(ctx.client, ctx.node_name, ctx.config.volume_dirs, ctx.clock,
                                    ctx.config.sim_volume_attach_seconds)
        self.reason, self.message = vm.status.reason, vm.status.message
        self.probes = RunProbes(ctx, self.kind, vm.metadata, {PROBED: ProbeSpec(vm_probes(vm.spec))}, self.wake)
        self.probe_ready = True
        adopted = ctx.claim(self.config.task_id)
        if adopted is not None:
            self.driver, handle = adopted
            self.task_alive, self.started_at, self.phase = True, handle.started_at, "Starting"
        super().__init__(ctx, vm)

    def serves(self, message: VirtualMachine) -> bool:
        """Not after the VM left this node, nor a later run than this runner's (atoll/vm_runs.py):
        that is a new binding."""
        return not self.vanished and run_number(message) <= self.runs.number

    async def reconcile(self) -> bool:
        vm: VirtualMachine = self.latest
        if self.vanished or vm.metadata.HasField("deletion_timestamp"):
            return await self._terminate(vm)
        if self.config.task_id in self.ctx.migrating:
            return False  # live-migrating away (migration_runner.py): the stream decides its fate
        if self.refusal is not None:
            self.phase, self.reason, self.message = "Failed", self.refusal.reason, self.refusal.message
            if self.runs.ended is None:
                self._end_run(1)
            if vm.status.phase != "Failed":
                self.ctx.event(self.kind, vm.metadata, "Failed", f"{self.reason}: {self.message}", warning=True)
            await self._write_status()
            return False
        if self.ctx.config.finalizer not in vm.metadata.finalizers:
            stored = await self.set_finalizer(vm, present=True)
            if stored is None:
                return False
            self.adopt_written(stored)
        await self._converge()
        await self._write_status()
        return False

    async def _converge(self) -> None:
        assert self.driver is not None
        vm: VirtualMachine = self.latest
        want = desired_power(vm)
        if self.task_alive:
            try:
                status = await timed(self.driver.name, "inspect", self.driver.inspect(self.config.task_id))
            except TaskNotFoundError:
                status = None
            if status is None or status.exit is not None:
                result = status.exit if status and status.exit else ExitResult(
                    137, "Killed", self.ctx.clock.now(), message="the VM vanished from the hypervisor")
                await self._ended(result)
            elif want == "Stopped":
                await self._stop(vm, float(vm.spec.termination_grace_period_seconds))
                return
            else:
                self.phase = _PHASES[status.phase]
                self.guest_booted = status.guest_booted
                self.ip = status.ip
                self.last_ip = status.ip or self.last_ip
                if not await self._probe(vm):
                    await self._set_pause(status.phase, want)
                    return
        if want == "Stopped":
            if self.phase not in ("Stopped", "Failed"):
                self.phase, self.reason, self.message = "Stopped", "", ""
                self._end_run(0)
            return
        if self.runs.ended is not None:
            return  # ended for good here: the VirtualMachine controller places the next run
        now = self.ctx.clock.now()
        if now < self.retry_at:
            self.wake_at(self.retry_at)
            return
        await self._start(vm)

    async def _probe(self, vm: VirtualMachine) -> bool:
        """Probe the booted guest (against status.ip); stop the run when its liveness probe
        failed (True: it ended, and the run strategy decides about a restart)."""
        assert self.driver is not None
        if self.phase != "Running" or not self.guest_booted:
            self.probes.forget(PROBED)  # paused or rebooting: probing starts over once it runs again
            self.probe_ready = True
            return False
        self.probe_ready = self.probes.sync(PROBED, self.driver, self.config.task_id, lambda: self.ip,
                                            self.started_at)
        failed = self.probes.failed(PROBED)
        if failed is None:
            return False
        kind, output = failed
        grace = self.probes.grace(PROBED, kind, float(vm.spec.termination_grace_period_seconds))
        self.ctx.event(self.kind, vm.metadata, "Killing", f"The virtual machine failed its {kind} probe, stopping it")
        await timed(self.driver.name, "stop", self.driver.stop(self.config.task_id, grace))
        await self._ended(ExitResult(137, "Killed", self.ctx.clock.now(),
                                     message=bounded(f"{kind} probe failed: {output}", 1024)))
        return True

    async def _set_pause(self, phase: TaskPhase, want: str) -> None:
        if not isinstance(self.driver, Pausable):
            return
        if want == "Paused" and phase is TaskPhase.RUNNING:
            await timed(self.driver.name, "pause", self.driver.pause(self.config.task_id))
            self.phase = "Paused"
        elif want == "Running" and phase is TaskPhase.PAUSED:
            await timed(self.driver.name, "resume", self.driver.resume(self.config.task_id))
            self.phase = "Running"

    async def _with_volumes(self, vm: VirtualMachine) -> TaskConfig | None:
        """The task config with its disks from claims resolved; None (the reason set, an Event,
        a retry timer when it may clear) when a claim is not usable here (agent/volumes/attach.py)."""
        if not claims_of(vm):
            return self.config
        attached = await self.volumes.attach(vm)
        if not isinstance(attached, Waiting):
            return with_volume_disks(self.config, vm, attached)
        self.phase = "Starting"
        if attached.reason == CLAIM_UNUSABLE_REASON:
            self.phase, self.reason, self.message = "Failed", attached.reason, attached.message
            self.halted_generation = vm.metadata.generation
            self.ctx.event(self.kind, vm.metadata, "Failed", f"{attached.reason}: {attached.message}", warning=True)
        elif attached.reason and (self.reason, self.message) != (attached.reason, attached.message):
            self.ctx.event(self.kind, vm.metadata, attached.reason, attached.message, warning=True)
        if attached.reason == CLAIM_NOT_READY_REASON:
            self.reason, self.message = attached.reason, attached.message
        if attached.retry_at is not None:
            self.wake_at(attached.retry_at)
        return None

    async def _with_cloud_init_secret(self, config: TaskConfig, vm: VirtualMachine) -> TaskConfig | None:
        """The task config with its cloud-init data from the Secret the VM names, read for this
        run (agent/volumes/cloud_init_secret.py); None (reason, an Event, a retry) when it cannot
        be had."""
        name = vm.spec.cloud_init.secret_name
        if not name or config.vm is None or config.vm.cloud_init is None:
            return config
        try:
            data = await from_secret(self.ctx.client, vm.metadata.namespace, name, config.vm.cloud_init)
        except ConfigError as err:
            if (self.reason, self.message) != (err.reason, str(err)):
                self.ctx.event(self.kind, vm.metadata, err.reason, str(err), warning=True)
            self.phase, self.reason, self.message = "Starting", err.reason, str(err)
            self.wake_at(self.ctx.clock.now() + CONFIG_RETRY_SECONDS)
            return None
        return replace(config, vm=replace(config.vm, cloud_init=data))

    async def _start(self, vm: VirtualMachine) -> None:
        assert self.driver is not None
        if run_number(self.latest) < self.runs.number:
            # The status names the run before its task exists (kill -9 safe), as Starting: the
            # previous run's Stopped beside the new run's number would read as this run's end.
            self.phase, self.reason, self.message = "Starting", "", ""
            await self._write_status()
        config = await self._with_volumes(vm)
        if config is None:
            return
        config = await self._with_cloud_init_secret(config, vm)
        if config is None:
            return
        try:
            handle = await timed(self.driver.name, "start", self.driver.start(config))
        except CannotRunError as err:
            self.phase, self.reason, self.message = "Failed", "CannotRun", str(err)
            self._end_run(1)
            self.ctx.event(self.kind, vm.metadata, "Failed", str(err), warning=True)
            return
        except NetworkNotReadyError as err:
            if self.reason != NETWORK_NOT_READY_REASON:
                self.ctx.event(self.kind, vm.metadata, NETWORK_NOT_READY_REASON, str(err), warning=True)
            self.phase, self.reason, self.message = "Starting", NETWORK_NOT_READY_REASON, str(err)
            return  # woken when the node's network is ready
        except StartError as err:
            self.ctx.event(self.kind, vm.metadata, "Failed", f"start failed: {err}", warning=True)
            await self._ended(ExitResult(1, "StartError", self.ctx.clock.now(), message=str(err)))
            return
        if self.started_at:
            self.restart_count += 1
            metrics.RESTARTS.labels("vm").inc()
        self.task_alive, self.started_at = True, handle.started_at
        self.runs.started(handle.started_at)
        self.phase, self.reason, self.message, self.guest_booted = "Starting", "", "", False
        self.ctx.event(self.kind, vm.metadata, "Started", f"Started virtual machine on {self.driver.name}")
        self.wake()

    def previous_task_id(self) -> str:
        """The task of the run before the current one on this node ('' for the first): whose
        console ``atoll logs vm/NAME --previous`` reads, when the guest restarted here."""
        number = self.runs.number - 1
        return task_id_for(self.uid, run_task_name(number)) if number >= 1 else ""

    async def _ended(self, result: ExitResult) -> None:
        assert self.driver is not None
        vm: VirtualMachine = self.latest
        self.probes.forget(PROBED)
        if isinstance(self.driver, KeepsPreviousLogs) and restarts_after(vm.spec.run_strategy or "Always", result) \
                and desired_power(vm) != "Stopped":  # this run's console becomes the next one's previous
            await self.driver.keep_previous_log(self.config.task_id)
            if self.previous_task_id():
                await self.driver.forget_logs(self.previous_task_id())  # exactly one is kept
        await timed(self.driver.name, "destroy", self.driver.destroy(self.config.task_id))
        self.task_alive, self.guest_booted, self.ip = False, False, ""
        if self.ctx.config.backoff.window_resets(result.finished_at - self.started_at):
            self.restarts_in_window = 0
        if result.failed:
            self.ctx.event(self.kind, vm.metadata, "Failed", f"{result.reason}: {result.message}", warning=True)
        self.phase = "Failed" if result.failed else "Stopped"
        self.reason, self.message = result.reason, result.message
        self._end_run(result.exit_code, at=result.finished_at)
        if restarts_after(vm.spec.run_strategy or "Always", result) and desired_power(vm) != "Stopped":
            self._next_run_here()
            delay = self.ctx.config.backoff.delay(self.restarts_in_window)
            self.restarts_in_window += 1
            self.retry_at = self.ctx.clock.now() + delay
            self.phase, self.reason, self.message = "Starting", result.reason, result.message
            if delay > 0:
                self.reason, self.message = "CrashLoopBackOff", f"back-off {delay:g}s restarting the VM"
                self.ctx.event(self.kind, vm.metadata, "BackOff", self.message, warning=True)
            return

    async def _stop(self, vm: VirtualMachine, grace: float) -> None:
        assert self.driver is not None
        self.probes.forget(PROBED)
        self.phase = "Stopping"
        await self._write_status()
        result = await timed(self.driver.name, "stop", self.driver.stop(self.config.task_id, grace))
        await timed(self.driver.name, "destroy", self.driver.destroy(self.config.task_id))
        self.task_alive, self.guest_booted, self.ip = False, False, ""
        self.phase, self.reason, self.message = "Stopped", "", ""
        self._end_run(result.exit_code, at=result.finished_at)
        self.ctx.event(self.kind, vm.metadata, "Killed", f"Stopped virtual machine ({result.reason})")

    async def close(self) -> None:
        await self.probes.close()
        await super().close()

    async def _terminate(self, vm: VirtualMachine) -> bool:
        await self.probes.close()
        if isinstance(self.driver, KeepsPreviousLogs) and self.previous_task_id():
            await self.driver.forget_logs(self.previous_task_id())
        if self.task_alive and self.driver is not None:
            grace = 0.0 if self.vanished else float(vm.spec.termination_grace_period_seconds)
            if not self.vanished:
                await self._stop(vm, grace)
            else:
                await timed(self.driver.name, "stop", self.driver.stop(self.config.task_id, grace))
                await timed(self.driver.name, "destroy", self.driver.destroy(self.config.task_id))
                self.task_alive = False
        if self.vanished:
            return True
        stored = await self.set_finalizer(vm, present=False)
        if stored is not None:
            self.adopt_written(stored)
            return False
        return True

    def _end_run(self, exit_code: int, at: float | None = None) -> None:
        """The current run ended here with the runner's phase, reason and message."""
        self.runs.end(self.phase, self.reason, self.message, at=self.ctx.clock.now() if at is None else at,
                      exit_code=exit_code, ip=self.last_ip, hypervisor=self._hypervisor())
        self.last_ip = ""

    def _next_run_here(self) -> None:
        """The guest boots again on this node as the next run, under that run's task name."""
        self.runs.next()
        self.config = vm_config(self.latest, self.runs.number)

    def _hypervisor(self) -> str:
        return str(getattr(self.driver, "hypervisor_label", self.driver.name if self.driver else ""))

    async def _write_status(self) -> None:
        vm: VirtualMachine = self.latest
        if run_number(vm) > self.runs.number:
            return  # a later run: the API server began it (unbind); this binding is over
        status = virtualmachine_pb2.VirtualMachineStatus()
        status.CopyFrom(vm.status)
        status.phase, status.reason, status.message = self.phase, self.reason, self.message
        status.power_state = {"Running": "Running", "Paused": "Paused"}.get(self.phase, "Stopped")
        if self.phase == "Starting" and self.task_alive:
            status.power_state = "Running"
        status.guest_booted = self.guest_booted
        status.ip = self.ip
        del status.ips[:]
        if self.ip:
            status.ips.append(self.ip)
        status.restart_count = self.restart_count
        status.hypervisor = self._hypervisor()
        self.runs.apply(status)
        if self.started_at:
            status.start_time.CopyFrom(to_timestamp(self.started_at))
        ready = self.phase == "Running" and self.guest_booted and self.probe_ready
        previous = next((c for c in vm.status.conditions if c.type == "Ready"), None)
        kept = [c for c in vm.status.conditions if c.type != "Ready"]
        del status.conditions[:]
        status.conditions.extend(kept)
        condition = meta_pb2.Condition(type="Ready", status="True" if ready else "False")
        if previous is not None and previous.status == condition.status:
            condition.last_transition_time.CopyFrom(previous.last_transition_time)
        else:
            condition.last_transition_time.CopyFrom(to_timestamp(self.ctx.clock.now()))
        status.conditions.append(condition)
        await self.write_status(vm, status)
        self.runs.written()

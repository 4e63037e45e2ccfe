"""PodRunner: converges one Pod bound to this node.

Each reconcile, in order:

1. Deleting (deletion_timestamp set) or vanished: stop every container (grace period from the
   spec; the driver kills after it), destroy the tasks, remove the agent's finalizer (the API
   server then deletes the Pod). Finished.
2. Refused by admission (wrong OS, isolation, runtime handler): status Failed with the reason.
3. Hold the agent's finalizer before starting anything, so a deletion waits for the stop (Bind
   adds it; only a Pod created with spec.nodeName already set needs the agent's own Update).
4. Make the pod's volumes match its spec and the ConfigMaps/Secrets they show, its claims
   attached first (agent/volumes/). What a container needs and cannot get (a missing object or
   key, a bad host path) keeps it Waiting with reason CreateContainerConfigError, a claim not
   usable yet with VolumeNotReady or VolumeUnusable (an Event each), retried, no restart
   counted; running containers keep running.
5. Per container: before a start its image is made present when the driver pulls
   (agent/images/pod_pulls.py: pull policy, imagePullSecrets, Pulling/Pulled/Failed/BackOff
   Events, Waiting ErrImagePull/ImagePullBackOff, no restart counted; imageID reported). An
   exited task is recorded and destroyed, then restarted per restart policy
   after the crash-loop back-off (waiting reason CrashLoopBackOff meanwhile); a missing task is
   started (or, at agent start, adopted from the driver: never started twice). A running one is
   probed (run_probes.py): readiness decides its ``ready``; a failed liveness or startup probe
   stops it (the probe's grace period, else the pod's) and it ends like a crash. On a driver with
   pod sandboxes (abilities.PodSandboxes) the pod's sandbox is made before its first container
   starts and kept across container restarts; a failure is a Warning Event
   FailedCreatePodSandBox with the network plugin's words, retried with the crash-loop back-off.
6. Once every container has ended for good (Succeeded, Failed), and on deletion after the last
   task is destroyed, the sandbox is torn down (its address released); a failed teardown is
   retried and holds the finalizer. The pod's volumes go on deletion, after its sandbox, and so
   do the previous-run logs its containers' restarts kept (KeepsPreviousLogs).
7. Write status when it differs from the stored one.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from agent import metrics
from agent.driver_timing import timed
from agent.drivers.abilities import ImagePuller, KeepsPreviousLogs, PodSandboxes
from agent.drivers.protocol import (
    NETWORK_NOT_READY_REASON,
    SANDBOX_FAILED_REASON,
    CannotRunError,
    Driver,
    ExitResult,
    NetworkNotReadyError,
    SandboxError,
    StartError,
    TaskConfig,
    TaskNotFoundError,
    TaskPhase,
)
from agent.images.pod_pulls import PodPulls
from agent.volumes.attach import VolumeAttach
from agent.volumes.env import resolve_env
from agent.volumes.payload import CONFIG_ERROR_REASON, CONFIG_RETRY_SECONDS, ConfigError
from agent.volumes.pod_volumes import PodVolumes
from agent.volumes.sources import ConfigObjects
from agent.workloads.admission import Refusal, driver_for_pod, extended_resources_refusal
from agent.workloads.backoff import should_restart
from agent.workloads.context import NodeContext
from agent.workloads.pod_status import ContainerRecord, build_pod_status
from agent.workloads.run_probes import ProbeSpec, RunProbes
from agent.workloads.specs import container_configs, sandbox_config
from agent.workloads.workload_runner import WorkloadRunner
from atoll.probes import container_probes
from atoll.user_text import bounded
from atoll.v1 import pod_pb2

CANNOT_RUN_EXIT_CODE = 128


class PodRunner(WorkloadRunner):
    kind = "Pod"

    def __init__(self, ctx: NodeContext, pod: pod_pb2.Pod) -> None:
        self.ctx = ctx
        self.configs: dict[str, TaskConfig] = {c.name: c for c in container_configs(pod)}
        choice = extended_resources_refusal(pod.spec, ctx.extended_resources) or driver_for_pod(
            pod.spec, ctx.node_os, ctx.drivers
        )
        self.refusal = choice if isinstance(choice, Refusal) else None
        self.driver: Driver | None = None if isinstance(choice, Refusal) else choice
        self.records = [self._record(pod, c) for c in self.configs.values()]
        self.first_seen = ctx.clock.now()
        specs = {c.name: ProbeSpec(container_probes(c), tuple(c.ports)) for c in pod.spec.containers}
        self.probes = RunProbes(ctx, self.kind, pod.metadata, specs, self.wake)
        # The sandbox may exist (made by an earlier agent process): torn down when the pod ends.
        self.sandbox_ready = False
        self.sandbox_failures = 0
        self.sandbox_retry_at = 0.0
        self.containers = {container.name: container for container in pod.spec.containers}
        writes_files = ctx.volumes_dir is not None and self.driver is not None and self.driver.capabilities().mounts
        directory = ctx.volumes_dir / pod.metadata.uid if writes_files and ctx.volumes_dir else None
        attach = VolumeAttach(ctx.client, ctx.node_name, ctx.config.volume_dirs if directory else None, ctx.clock,
                              ctx.config.sim_volume_attach_seconds)
        objects = ConfigObjects(ctx.client, pod.metadata.namespace, self.wake)
        self.volumes = PodVolumes(pod, objects, directory, attach)
        self.config_error: ConfigError | None = None  # why containers cannot start now (volumes)
        self.pulls = PodPulls(ctx, objects, self.wake, self.wake_at)
        super().__init__(ctx, pod)

    def _record(self, pod: pod_pb2.Pod, config: TaskConfig) -> ContainerRecord:
        """A record continuing what the stored status and any adopted task say."""
        record = ContainerRecord(config.name, config.task_id, config.image)
        record.driver_name = self.driver.name if self.driver else ""
        before = next((s for s in pod.status.container_statuses if s.name == config.name), None)
        adopted = self.ctx.claim(config.task_id)
        if before is not None:
            record.restart_count = before.restart_count
            record.image_id = before.image_id
            record.ever_started = record.ever_ran = bool(before.container_id)
            state = before.state.WhichOneof("state")
            if state == "terminated" and pod.status.phase in ("Succeeded", "Failed") and adopted is None:
                term = before.state.terminated
                record.terminated = ExitResult(term.exit_code, term.reason, term.finished_at.ToNanoseconds() / 1e9,
                                               term.signal, term.message)
                record.final = True
                record.cannot_run = term.reason == "ContainerCannotRun"
        if adopted is not None:
            driver, handle = adopted
            self.driver = driver
            record.driver_name = driver.name
            record.task_alive = record.ever_started = record.ever_ran = True
            record.started_at = handle.started_at
        return record

    async def reconcile(self) -> bool:
        pod: pod_pb2.Pod = self.latest
        if self.vanished or pod.metadata.HasField("deletion_timestamp"):
            return await self._terminate(pod)
        if self.refusal is not None:
            await self._write_status(reason=self.refusal.reason, message=self.refusal.message, refused=True)
            return False
        if self.ctx.config.finalizer not in pod.metadata.finalizers:
            stored = await self.set_finalizer(pod, present=True)
            if stored is None:
                return False  # gone: the DELETED event follows
            self.adopt_written(stored)
            if stored.metadata.HasField("deletion_timestamp"):
                return await self._terminate(stored)
        try:
            await self.volumes.prepare()
            self.config_error = None
        except ConfigError as err:
            self.config_error = err
        for record in self.records:
            await self._sync(record)
        if all(r.final and not r.task_alive for r in self.records):
            await self._remove_sandbox()
        await self._write_status()
        return False

    def _config_blocked(self, record: ContainerRecord, problem: ConfigError) -> None:
        """``record`` cannot start for ``problem``: Waiting with its reason (an Event when the
        problem is new and is one), retried at its time or later; no restart is counted."""
        pod: pod_pb2.Pod = self.latest
        waiting = (problem.reason, str(problem))
        if record.waiting != waiting and waiting[1]:
            if problem.reason == CONFIG_ERROR_REASON:
                self.ctx.event("Pod", pod.metadata, "Failed", f"container {record.name}: Error: {problem}",
                               warning=True)
            elif not any(other.waiting == waiting for other in self.records):
                self.ctx.event("Pod", pod.metadata, problem.reason, str(problem), warning=True)
        record.waiting = waiting
        self.wake_at(problem.retry_at or self.ctx.clock.now() + CONFIG_RETRY_SECONDS)

    async def _sync(self, record: ContainerRecord) -> None:
        assert self.driver is not None
        now = self.ctx.clock.now()
        if record.task_alive:
            try:
                status = await timed(self.driver.name, "inspect", self.driver.inspect(record.task_id))
            except TaskNotFoundError:
                status = None
            if status is None or status.phase is TaskPhase.EXITED:
                result = status.exit if status and status.exit else ExitResult(
                    137, "Error", now, message="the task vanished from the runtime")
                await self._ended(record, result)
            else:
                record.running = status.phase is not TaskPhase.PROVISIONING
                record.ever_ran = record.ever_ran or record.running
                record.ip = status.ip
                if not (record.running and await self._probe(record)):
                    return
        if record.final or now < record.retry_at:
            if not record.final:
                self.wake_at(record.retry_at)
            return
        if await self._sandbox(record):
            await self._start(record)

    async def _probe(self, record: ContainerRecord) -> bool:
        """Keep the running ``record``'s probes going; kill it when a liveness or startup probe
        failed (True: it ended, restart it by the policy)."""
        assert self.driver is not None
        pod: pod_pb2.Pod = self.latest
        host_network = pod.spec.host_network

        def address() -> str:
            return record.ip or (self.ctx.host_ip if host_network else "")

        record.probe_ready = self.probes.sync(record.name, self.driver, record.task_id, address, record.started_at)
        failed = self.probes.failed(record.name)
        if failed is None:
            return False
        kind, output = failed
        grace = self.probes.grace(record.name, kind, float(pod.spec.termination_grace_period_seconds))
        self.probes.forget(record.name)
        self.ctx.event("Pod", pod.metadata, "Killing",
                       f"Container {record.name} failed {kind} probe, will be restarted")
        result = await timed(self.driver.name, "stop", self.driver.stop(record.task_id, grace))
        await self._ended(record, replace(result, message=bounded(f"{kind} probe failed: {output}", 1024)))
        return True

    async def _ended(self, record: ContainerRecord, result: ExitResult) -> None:
        """The task of ``record`` ended with ``result``: record it, then destroy the task (a final
        container's is kept until the pod goes, so its logs stay readable), its log kept as the
        previous run's (``atoll logs --previous``) where the driver keeps one."""
        assert self.driver is not None
        self._exited(record, result)
        if record.final:
            record.kept = True
        else:
            if isinstance(self.driver, KeepsPreviousLogs):
                await self.driver.keep_previous_log(record.task_id)
            await timed(self.driver.name, "destroy", self.driver.destroy(record.task_id))

    def _exited(self, record: ContainerRecord, result: ExitResult) -> None:
        pod: pod_pb2.Pod = self.latest
        self.probes.forget(record.name)
        record.task_alive = record.running = False
        record.last_exit = result
        if self.ctx.config.backoff.window_resets(result.finished_at - record.started_at):
            record.restarts_in_window = 0
        if not should_restart(pod.spec.restart_policy or "Always", result):
            record.terminated, record.final = result, True
            if result.failed:
                self.ctx.event("Pod", pod.metadata, "Failed",
                               f"container {record.name} failed: {result.reason} (exit code {result.exit_code})",
                               warning=True)
            return
        delay = self.ctx.config.backoff.delay(record.restarts_in_window)
        record.restarts_in_window += 1
        record.retry_at = self.ctx.clock.now() + delay
        if delay > 0:
            message = f"back-off {delay:g}s restarting failed container={record.name} pod={pod.metadata.name}"
            record.waiting = ("CrashLoopBackOff", message)
            self.ctx.event("Pod", pod.metadata, "BackOff", message, warning=True)
            self.wake_at(record.retry_at)

    async def _start(self, record: ContainerRecord) -> None:
        assert self.driver is not None
        pod: pod_pb2.Pod = self.latest
        if self.config_error is not None:
            self._config_blocked(record, self.config_error)
            return
        container = self.containers[record.name]
        try:
            config = replace(
                self.configs[record.name],
                env=await resolve_env(container, self.volumes.objects),
                mounts=self.volumes.mounts(container),
            )
        except ConfigError as err:
            self._config_blocked(record, err)
            return
        if isinstance(self.driver, ImagePuller):
            ready = await self.pulls.image_for(self.driver, pod, record, container)
            if ready is None:
                return  # waiting for its image; no restart counted
            config = replace(config, image=ready.reference)
            record.image_id = ready.image_id
        try:
            handle = await timed(self.driver.name, "start", self.driver.start(config))
        except CannotRunError as err:
            result = ExitResult(CANNOT_RUN_EXIT_CODE, "ContainerCannotRun", self.ctx.clock.now(), message=str(err))
            record.terminated, record.last_exit, record.final, record.cannot_run = result, result, True, True
            self.ctx.event("Pod", pod.metadata, "Failed", f"container {record.name}: {err}", warning=True)
            return
        except NetworkNotReadyError as err:
            self._network_not_ready(record, err)
            return  # no restart counted; woken when the node's network is ready
        except StartError as err:
            self.ctx.event("Pod", pod.metadata, "Failed", f"container {record.name} failed to start: {err}",
                           warning=True)
            record.started_at = self.ctx.clock.now()
            self._exited(record, ExitResult(CANNOT_RUN_EXIT_CODE, "StartError", record.started_at, message=str(err)))
            return
        if record.ever_started:
            record.restart_count += 1
            metrics.RESTARTS.labels("container").inc()
        record.ever_started = record.task_alive = True
        record.started_at = handle.started_at
        record.waiting = ("ContainerCreating", "")
        status = await timed(self.driver.name, "inspect", self.driver.inspect(record.task_id))
        record.running = status.phase not in (TaskPhase.PROVISIONING, TaskPhase.EXITED)
        record.ever_ran = record.ever_ran or record.running or status.phase is TaskPhase.EXITED
        record.ip = status.ip
        if record.running:
            await self._probe(record)  # starts its probes: not ready before its readiness probe passes
        if status.phase is TaskPhase.EXITED:
            self.wake()
        self.ctx.event("Pod", pod.metadata, "Started", f"Started container {record.name}")

    async def close(self) -> None:
        await self.pulls.close()
        await self.probes.close()
        await self.volumes.close()
        await super().close()

    def _network_not_ready(self, record: ContainerRecord, err: NetworkNotReadyError) -> None:
        if record.waiting[0] != NETWORK_NOT_READY_REASON:
            self.ctx.event("Pod", self.latest.metadata, NETWORK_NOT_READY_REASON, str(err), warning=True)
        record.waiting = (NETWORK_NOT_READY_REASON, str(err))

    async def _sandbox(self, record: ContainerRecord) -> bool:
        """Whether ``record`` may start now as far as the pod's sandbox goes: made (or found), or
        not needed (hostNetwork, a driver without sandboxes)."""
        driver = self.driver
        pod: pod_pb2.Pod = self.latest
        if self.sandbox_ready or not isinstance(driver, PodSandboxes) or pod.spec.host_network:
            return True
        now = self.ctx.clock.now()
        if now < self.sandbox_retry_at:
            self.wake_at(self.sandbox_retry_at)
            return False
        try:
            await timed(driver.name, "run_sandbox", driver.run_sandbox(sandbox_config(pod)))
        except NetworkNotReadyError as err:
            self._network_not_ready(record, err)
            return False
        except SandboxError as err:
            self.sandbox_failures += 1
            self.sandbox_retry_at = now + max(self.ctx.config.backoff.delay(self.sandbox_failures), 1.0)
            self.wake_at(self.sandbox_retry_at)
            message = bounded(f"Failed to create pod sandbox: {err}", 1024)
            self.ctx.event("Pod", pod.metadata, SANDBOX_FAILED_REASON, message, warning=True)
            for waiting in self.records:
                if not waiting.final:
                    waiting.waiting = ("ContainerCreating", message)
            return False
        self.sandbox_ready, self.sandbox_failures = True, 0
        return True

    async def _remove_sandbox(self) -> None:
        """Tear the pod's sandbox down (idempotent); SandboxError propagates: retried."""
        driver = self.driver
        if isinstance(driver, PodSandboxes) and not self.latest.spec.host_network:
            await timed(driver.name, "remove_sandbox", driver.remove_sandbox(self.uid))
            self.sandbox_ready = False

    async def _terminate(self, pod: pod_pb2.Pod) -> bool:
        await self.probes.close()
        alive = [r for r in self.records if r.task_alive]
        if alive and self.driver is not None:
            grace = 0.0 if self.vanished else float(pod.spec.termination_grace_period_seconds)
            driver = self.driver
            results = await asyncio.gather(
                *(timed(driver.name, "stop", driver.stop(r.task_id, grace)) for r in alive)
            )
            for record, result in zip(alive, results, strict=True):
                await timed(self.driver.name, "destroy", self.driver.destroy(record.task_id))
                record.task_alive = record.running = False
                if not self.vanished:
                    self.ctx.event("Pod", pod.metadata, "Killed",
                                   f"Stopped container {record.name} (exit code {result.exit_code})")
        for record in self.records:
            if record.kept and self.driver is not None:
                with contextlib.suppress(TaskNotFoundError):
                    await timed(self.driver.name, "destroy", self.driver.destroy(record.task_id))
                record.kept = False
            if isinstance(self.driver, KeepsPreviousLogs):
                await self.driver.forget_logs(record.task_id)
        await self._remove_sandbox()
        await self.volumes.clean_up()
        if self.vanished:
            return True
        stored = await self.set_finalizer(pod, present=False)
        if stored is not None:
            self.adopt_written(stored)
            return False  # other finalizers remain: wait for the DELETED event
        return True

    async def _write_status(self, *, reason: str = "", message: str = "", refused: bool = False) -> None:
        pod: pod_pb2.Pod = self.latest
        if refused:
            for record in self.records:
                record.final, record.cannot_run = True, True
                record.terminated = ExitResult(CANNOT_RUN_EXIT_CODE, reason, self.first_seen, message=message)
        status = build_pod_status(pod.status, self.records, now=self.ctx.clock.now(), host_ip=self.ctx.host_ip,
                                  start_time=self.first_seen, reason=reason, message=message)
        if refused and status != pod.status and pod.status.phase != "Failed":
            self.ctx.event("Pod", pod.metadata, "Failed", f"{reason}: {message}", warning=True)
        await self.write_status(pod, status)

"""What the agent knows about each container, and the PodStatus it implies (pure functions).

Phase, as Kubernetes defines it:
- Failed: a container can never run here (ContainerCannotRun), or every container ended for
  good and at least one failed;
- Succeeded: every container ended for good with exit code 0;
- Pending: some container has not run yet (being created, or its utility VM booting);
- Running: otherwise (running, or restarting under the restart policy).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.drivers.protocol import ExitResult
from atoll.clock import to_timestamp
from atoll.v1 import meta_pb2, pod_pb2

AGENT_CONDITIONS = ("Initialized", "ContainersReady", "Ready")


@dataclass
class ContainerRecord:
    """One container as the runner tracks it. ``task_alive``: the driver holds a task for it.
    ``final``: it ended and will not be restarted (``terminated`` says how). ``waiting``: why it
    is not running now (reason, message). ``retry_at``: when the next start may happen.
    ``kept``: the driver still holds the ended task of a final container, so ``atoll logs`` can
    read what it printed until the pod is deleted (as kubelet keeps a terminated container)."""

    name: str
    task_id: str
    image: str
    task_alive: bool = False
    ever_started: bool = False
    ever_ran: bool = False
    started_at: float = 0.0
    running: bool = False
    restart_count: int = 0
    restarts_in_window: int = 0
    last_exit: ExitResult | None = None
    terminated: ExitResult | None = None
    final: bool = False
    kept: bool = False
    cannot_run: bool = False
    waiting: tuple[str, str] = ("ContainerCreating", "")
    retry_at: float = 0.0
    ip: str = ""
    driver_name: str = ""
    # The run's probes say it is ready (True without probes; set by the runner, agent/workloads/run_probes.py).
    probe_ready: bool = True
    # REPOSITORY@DIGEST of the image it runs, once pulled (agent/images/); "" for imported images.
    image_id: str = ""

    @property
    def ready(self) -> bool:
        return self.running and self.probe_ready


def pod_phase(records: list[ContainerRecord]) -> str:
    if any(r.cannot_run for r in records):
        return "Failed"
    if records and all(r.final for r in records):
        failed = any(r.terminated is not None and r.terminated.failed for r in records)
        return "Failed" if failed else "Succeeded"
    if not all(r.ever_ran or r.final for r in records):
        return "Pending"
    return "Running"


def _terminated(result: ExitResult, started_at: float) -> pod_pb2.ContainerState:
    state = pod_pb2.ContainerState()
    term = state.terminated
    term.exit_code, term.signal, term.reason, term.message = (
        result.exit_code, result.signal, result.reason, result.message
    )
    if started_at:
        term.started_at.CopyFrom(to_timestamp(started_at))
    term.finished_at.CopyFrom(to_timestamp(result.finished_at))
    return state


def container_status(record: ContainerRecord) -> pod_pb2.ContainerStatus:
    status = pod_pb2.ContainerStatus(name=record.name, image=record.image, restart_count=record.restart_count,
                                     image_id=record.image_id)
    if record.ever_started and record.driver_name:
        status.container_id = f"{record.driver_name}://{record.task_id}"
    if record.running:
        status.state.running.started_at.CopyFrom(to_timestamp(record.started_at))
        status.ready = record.ready
    elif record.final and record.terminated is not None:
        status.state.CopyFrom(_terminated(record.terminated, record.started_at))
    else:
        status.state.waiting.reason, status.state.waiting.message = record.waiting
    previous = record.last_exit if not (record.final and record.terminated is record.last_exit) else None
    if previous is not None and record.restart_count:
        status.last_state.CopyFrom(_terminated(previous, 0.0))
    return status


def build_pod_status(
    observed: pod_pb2.PodStatus,
    records: list[ContainerRecord],
    *,
    now: float,
    host_ip: str,
    start_time: float,
    reason: str = "",
    message: str = "",
) -> pod_pb2.PodStatus:
    """The status to write: ``observed`` with the agent's fields replaced. Conditions the agent
    does not own (PodScheduled) are kept; a condition's transition time moves only when its
    status changes."""
    status = pod_pb2.PodStatus()
    status.phase = pod_phase(records)
    status.reason = reason or next((r.terminated.reason for r in records if r.cannot_run and r.terminated), "")
    status.message = message or next((r.terminated.message for r in records if r.cannot_run and r.terminated), "")
    status.host_ip = host_ip
    status.pod_ip = next((r.ip for r in records if r.ip), "")
    if status.pod_ip:
        status.pod_ips.append(status.pod_ip)
    status.nominated_node_name = observed.nominated_node_name
    if observed.HasField("start_time"):
        status.start_time.CopyFrom(observed.start_time)
    else:
        status.start_time.CopyFrom(to_timestamp(start_time))
    status.container_statuses.extend(container_status(record) for record in records)
    ready = bool(records) and all(r.ready for r in records)
    kept = [c for c in observed.conditions if c.type not in AGENT_CONDITIONS]
    status.conditions.extend(kept)
    wanted = {"Initialized": True, "ContainersReady": ready, "Ready": ready}
    previous = {c.type: c for c in observed.conditions}
    for kind, value in wanted.items():
        status.conditions.append(_condition(kind, value, previous.get(kind), now))
    return status


def _condition(kind: str, value: bool, previous: meta_pb2.Condition | None, now: float) -> meta_pb2.Condition:
    text = "True" if value else "False"
    condition = meta_pb2.Condition(type=kind, status=text)
    if not value and kind != "Initialized":
        condition.reason = "ContainersNotReady"
    if previous is not None and previous.status == text:
        condition.last_transition_time.CopyFrom(previous.last_transition_time)
    else:
        condition.last_transition_time.CopyFrom(to_timestamp(now))
    return condition

"""Optional driver abilities, one small protocol each; the agent checks with ``isinstance``.

``Rebootable`` (restart a VM in place, keeping its identity), ``Exec`` (exec probes: one-shot;
``atoll exec``: an interactive ``ProcessSession``, agent/drivers/session.py) and ``Console``
(``atoll console vm/NAME``: a session on the VM's serial console).
``SimulatedProbes``, ``SimulatedPorts``: a simulated runtime answers probes and port-forwards
itself (agent/probes/checks.py, agent/sessions/port_forward.py).
``PodSandboxes`` and ``PodCidrAware``: drivers on the node's real pod network (CNI).
``ImagePuller``: drivers that run images pulled from registries (agent/images/).

A driver implements only the abilities its runtime has (Nomad's shape): the QEMU driver pauses
VMs over QMP, the OCI driver serves log files, a simulated driver synthesises logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agent.drivers.log_lines import LogLine, LogQuery
from agent.drivers.protocol import DriverError
from agent.drivers.session import ExecOptions, ProcessSession
from agent.images.pull_types import ImageReady, PullRequest

ALL_LINES = LogQuery()


@runtime_checkable
class Pausable(Protocol):
    async def pause(self, task_id: str) -> None:
        """RUNNING -> PAUSED (freezer cgroup, QMP ``stop``); a no-op when already PAUSED.
        TaskNotFoundError if unknown; DriverError if the task is not RUNNING or PAUSED."""

    async def resume(self, task_id: str) -> None:
        """PAUSED -> RUNNING; a no-op when already RUNNING."""


@runtime_checkable
class Rebootable(Protocol):
    async def reboot(self, task_id: str) -> None:
        """Restart the guest in place (QMP ``system_reset``): the task stays, BOOTING then RUNNING."""


class PreviousLogNotFoundError(DriverError):
    """No previous run's log is kept for the task (it never restarted here)."""


@runtime_checkable
class LogReader(Protocol):
    def logs(self, task_id: str, query: LogQuery = ALL_LINES) -> AsyncIterator[LogLine]:
        """The task's output lines (stdout and stderr interleaved; a VM's serial console) that
        ``query`` asks for (log_lines.LogQuery: tail, since, follow until the task exits). With
        ``query.previous`` the log KeepsPreviousLogs kept instead, whether or not a task runs
        under the id now (PreviousLogNotFoundError when none, or when the driver keeps none).
        Raised on first iteration: TaskNotFoundError if the task is unknown, DriverError when the
        log cannot answer (times asked of a log that records none)."""


@runtime_checkable
class KeepsPreviousLogs(Protocol):
    """The output of a task's run before the current one (``kubectl logs --previous``): the agent
    calls ``keep_previous_log`` before it destroys an ended task that it will start again,
    ``forget_logs`` once the workload is gone, and ``remove_orphan_logs`` for workloads deleted
    while it was down. Exactly one previous log is kept per task id, on the node's disk when the
    driver has state (it outlives an agent restart)."""

    async def keep_previous_log(self, task_id: str) -> None:
        """The ended task's log becomes its previous log, replacing the one kept before; called
        before ``destroy`` when the task will be started again. When the task or its log is gone
        already (an earlier call moved it; a crash came between), the kept log stays as it is.
        TaskRunningError while the task runs."""

    async def forget_logs(self, task_id: str) -> None:
        """Remove the previous log kept for ``task_id``. Idempotent."""

    async def remove_orphan_logs(self, is_live: Callable[[str], bool]) -> list[str]:
        """Remove every previous log whose workload is not live (``is_live(uid)`` False); the uids
        cleaned."""


@runtime_checkable
class StdinWriter(Protocol):
    async def write_stdin(self, task_id: str, data: bytes) -> None:
        """Write ``data`` to the running container's stdin (kept open for it: TaskConfig.stdin),
        waiting while the container does not read (flow control). TaskNotFoundError if unknown;
        DriverError if it was started without stdin or is not running."""


@runtime_checkable
class TerminalAttach(Protocol):
    async def open_terminal(self, task_id: str, rows: int, cols: int, *, stdin: bool) -> ProcessSession:
        """Attach to the terminal of a running container started with one (TaskConfig.tty):
        what it draws from now on, as STDOUT (earlier output is in its logs); with ``stdin``,
        writes are typed into it (Ctrl-C is the byte it is: the terminal interrupts the foreground
        process), else they are dropped. The terminal becomes ``rows`` x ``cols`` now and at every
        ``resize`` (its processes get SIGWINCH). ``hangup``/``close`` detach, the container runs
        on; the output ends when the container does; ``wait`` returns 0. Unlike exec, a reader
        that stops never holds the container up (its output is logged whoever reads): a real
        node's shim drops an attach that takes nothing for 5 s, whose output then ends.
        TaskNotFoundError if unknown; DriverError if not RUNNING or started without a terminal."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str


@runtime_checkable
class Exec(Protocol):
    async def exec(self, task_id: str, argv: Sequence[str], timeout: float) -> ExecResult:
        """Run ``argv`` inside the running task and return its exit code and output. DriverError if
        the task is not RUNNING."""

    async def open_exec(self, task_id: str, options: ExecOptions) -> ProcessSession:
        """Start ``options.argv`` inside the running task (its namespaces and cgroup) and return
        the session; a command that cannot start still opens one, ending with 126/127 and the
        runtime's words on stderr. TaskNotFoundError if unknown; DriverError if not RUNNING."""


@runtime_checkable
class Console(Protocol):
    async def open_console(self, task_id: str) -> ProcessSession:
        """Connect to the running VM's serial console: output from now on (earlier output is in
        its logs), input typed into the guest. Several sessions may read at once; only the
        oldest open one writes (the others' input is dropped, and they are told so once on
        stderr). ``hangup``/``close`` detach, the VM runs on. TaskNotFoundError if unknown;
        DriverError if not RUNNING."""


@runtime_checkable
class SimulatedPorts(Protocol):
    async def open_port(self, task_id: str, port: int) -> ProcessSession:
        """``atoll port-forward`` to a task whose network is simulated: one connection to
        ``port``, answered by the simulation. TaskNotFoundError if unknown; DriverError if not
        RUNNING."""


@runtime_checkable
class SimulatedProbes(Protocol):
    async def answer_probe(self, task_id: str, kind: str, handler: str, command: Sequence[str]) -> ExecResult:
        """Answer a ``kind`` probe (startup, liveness, readiness) with ``handler`` (exec,
        tcp_socket, http_get; ``command`` for exec) of a task whose processes and network are
        simulated: exit code 0 is success. TaskNotFoundError if unknown."""


@dataclass(frozen=True)
class HostPort:
    """A container port published on the node (``hostPort``); protocol TCP, UDP or SCTP;
    ``host_ip``: the node address it is published on ('' for all)."""

    host_port: int
    container_port: int
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class SandboxConfig:
    """What a pod's sandbox is made from: the pod (its uid names the sandbox) and its hostPorts."""

    workload_uid: str
    namespace: str
    name: str
    host_ports: tuple[HostPort, ...] = ()


@runtime_checkable
class PodSandboxes(Protocol):
    """Drivers whose pods share one sandbox (Kubernetes' pod sandbox): a network namespace on
    the node's pod network, made before the pod's first container and shared by all of them,
    kept across container restarts, removed once the pod's containers are gone for good.
    ``hostNetwork`` pods have none."""

    async def run_sandbox(self, config: SandboxConfig) -> str:
        """Make the pod's sandbox, or find it (also one made by an earlier agent process: it is
        re-attached, never set up twice); returns the pod's IP ('' when this driver has no pod
        network: each container then gets a namespace of its own). NetworkNotReadyError before
        the node has a pod CIDR; SandboxError when the network cannot be set up this time (its
        message is the network plugin's own words); either way nothing is left behind."""

    async def remove_sandbox(self, workload_uid: str) -> None:
        """Tear the pod's sandbox down (network detached, address released, namespace gone), after
        its containers' tasks are destroyed. Idempotent; SandboxError keeps it for a retry."""

    async def remove_orphan_sandboxes(self, is_live: Callable[[str], bool]) -> list[str]:
        """Tear down every sandbox, namespace and address that belongs to no workload of this node
        (``is_live(uid)`` False): what a node that was down, or a crash mid-setup, left. The
        uids cleaned."""


@runtime_checkable
class PodCidrAware(Protocol):
    def set_pod_cidr(self, cidr: str) -> bool:
        """The node's pod CIDR (spec.podCIDR) is ``cidr`` from now on; True when it changed (the
        agent then wakes workloads that waited for the network)."""


@runtime_checkable
class NetworkNamespace(Protocol):
    async def network_namespace(self, task_id: str) -> str | None:
        """The path of the running task's own network namespace (``/proc/PID/ns/net``) when the
        node has no address to reach it by (no pod network); None when it has one or shares the
        host's network. Probes then connect to 127.0.0.1 inside it. TaskNotFoundError if unknown."""


@runtime_checkable
class ImagePuller(Protocol):
    """A driver that runs images from a store it can fill from registries (agent/images/): the
    pod runner asks it for each container's image before ``start`` and starts the task with
    ``ImageReady.reference``. Simulated drivers play the same states without a registry."""

    def pull_needed(self, request: PullRequest) -> bool:
        """Whether ``ensure_image`` would ask a registry (for the Pulling Event); no I/O."""

    async def ensure_image(self, request: PullRequest) -> ImageReady:
        """The image to run, pulled when the request's policy says so; PullError (its ``reason``
        is the container's Waiting reason) when there is none. Concurrent requests for one image
        share one pull. Idempotent."""

"""The task driver protocol: how the agent runs one container or one virtual machine.

Shaped like Nomad's task driver. A *task* is one container of a Pod or one VirtualMachine; the
agent names it with a ``task_id`` that is stable for the workload (``task_id_for(uid, name)``)
and reuses it for every restart: a task is started, may exit, is destroyed, and may be started
again under the same id.

Life of a task, as the driver must honour it::

    start ──> PROVISIONING ─> (BOOTING, VMs) ─> RUNNING <─> PAUSED
                                     │             │
                                     └── stop ──> STOPPING ──> EXITED ──> destroy (gone)
                           (any state may also go to EXITED on its own: exit, crash, OOM kill)

Every method is a coroutine on the agent's event loop and must not block it. Errors a workload
can cause are exceptions from this module with one-line messages; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

TaskKind = Literal["container", "vm"]
Listener = Callable[[str], None]


def task_id_for(workload_uid: str, name: str) -> str:
    """The id of the task running ``name`` (a container name, or ``vm``) of the workload ``uid``."""
    return f"{workload_uid}:{name}"


def workload_uid_of(task_id: str) -> str:
    """The workload uid a task id was made from (inverse of ``task_id_for``)."""
    return task_id.rsplit(":", 1)[0]


class TaskPhase(StrEnum):
    PROVISIONING = "Provisioning"
    BOOTING = "Booting"
    RUNNING = "Running"
    PAUSED = "Paused"
    STOPPING = "Stopping"
    EXITED = "Exited"


@dataclass(frozen=True)
class Resources:
    """What the workload asked for, in base units; 0 means not set."""

    cpu_millis: int = 0
    memory_request: int = 0
    memory_limit: int = 0


@dataclass(frozen=True)
class WindowsOptions:
    isolation: str = "process"
    image_build: str = ""
    host_process: bool = False


@dataclass(frozen=True)
class VolumeDisk:
    """The persistent volume behind a VM disk: ``path`` is the volume's data on this node (a
    directory, or the raw file of a Block volume; "" on a node that stores no volumes), ``size``
    its bytes. It outlives every run: drivers never delete it."""

    path: str
    block: bool
    size: int


@dataclass(frozen=True)
class VmDisk:
    """One disk of a VM's run, made for the run and gone with it: over ``image`` (a read-only
    base) a copy-on-write overlay, grown to ``size`` bytes when set; without ``image`` a blank disk
    of ``size`` bytes in ``format`` (qcow2 or raw). ``read_only``: the guest may not write it. With
    ``volume`` the disk is that persistent volume's file instead, kept across runs."""

    name: str
    image: str = ""
    size: int = 0
    format: str = "qcow2"
    read_only: bool = False
    # A disk from a persistent volume claim: the volume's own file instead of image/size.
    volume: VolumeDisk | None = None


@dataclass(frozen=True)
class CloudInitData:
    """The cloud-init NoCloud files of a VM's run; the driver gives them to the guest as a disk
    labelled cidata. ``network_data`` empty: no network-config file."""

    user_data: str
    meta_data: str
    network_data: str = ""


@dataclass(frozen=True)
class VmOptions:
    vcpus: int = 1
    memory: int = 0
    kernel: str = ""
    initrd: str = ""
    cmdline: str = ""
    boot_disk: str = ""
    disks: tuple[VmDisk, ...] = ()
    cloud_init: CloudInitData | None = None
    guest_os: str = "linux"
    guest_build: str = ""
    hypervisor_type: str = "any"
    # The -cpu model (spec.cpuModel); "" for the hypervisor's default.
    cpu_model: str = ""


@dataclass(frozen=True)
class Mount:
    """A host path (a pod volume's directory or file, or a hostPath) bind-mounted into a container
    at ``destination``. ``source`` is "" on simulated nodes (recorded, nothing on disk)."""

    source: str
    destination: str
    read_only: bool = False


@dataclass(frozen=True)
class TaskConfig:
    """Everything a driver needs to run one task; built by the agent from the Pod or VM spec."""

    task_id: str
    kind: TaskKind
    namespace: str
    workload: str
    workload_uid: str
    name: str
    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""
    os: str = "linux"
    resources: Resources = field(default_factory=Resources)
    host_network: bool = False
    hostname: str = ""
    read_only_root: bool = False
    windows: WindowsOptions | None = None
    vm: VmOptions | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    # Volume mounts, in spec order (drivers with ``Capabilities.mounts`` bind-mount them).
    mounts: tuple[Mount, ...] = ()
    # The container's stdin stays open for writers (``atoll attach -i``; abilities.StdinWriter).
    stdin: bool = False
    # The container's stdio is a pseudo-terminal (``tty: true``; abilities.TerminalAttach).
    tty: bool = False

    def annotation(self, key: str) -> str:
        return dict(self.annotations).get(key, "")


@dataclass(frozen=True)
class TaskHandle:
    """What identifies a started task to its driver; ``state`` is driver-private, JSON-safe data
    that lets ``recover`` re-attach to it after an agent restart."""

    task_id: str
    driver: str
    started_at: float
    state: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExitResult:
    """How a task ended. ``reason`` is one of Completed, Error, OOMKilled, ContainerCannotRun,
    StartError (containers) or GuestShutdown, GuestCrashed, Stopped, Killed (VMs)."""

    exit_code: int
    reason: str
    finished_at: float
    signal: int = 0
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.exit_code != 0 or self.reason in ("OOMKilled", "GuestCrashed", "ContainerCannotRun")


@dataclass(frozen=True)
class TaskStatus:
    """A task as the driver sees it now. ``exit`` is set exactly when ``phase`` is EXITED."""

    task_id: str
    phase: TaskPhase
    started_at: float
    exit: ExitResult | None = None
    guest_booted: bool = False
    memory_used: int = 0
    ip: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a driver can run. ``kinds``: container and/or vm. ``os``: the OS of the containers it
    runs (linux, windows). ``isolation``: Windows isolation modes. ``hypervisor_type``: type1,
    type2 or empty; ``guest_os``: the guests its VMs may run."""

    kinds: frozenset[str]
    os: str = "linux"
    isolation: frozenset[str] = frozenset()
    hypervisor_type: str = ""
    guest_os: frozenset[str] = frozenset()
    # The driver bind-mounts TaskConfig.mounts from the host, so the agent writes volumes to files.
    mounts: bool = False


@dataclass(frozen=True)
class HypervisorFacts:
    """A hypervisor that works here. ``type``: type1, type2 or none (then ``reason`` says why)."""

    type: str
    name: str = ""
    nested: bool = False
    guest_os: tuple[str, ...] = ()
    per_vm_overhead_memory: str = ""
    reason: str = ""
    # Live migration (agent/drivers/migration.py): the accelerator a guest's state belongs to
    # (kvm, tcg, sim), whether this driver sends and receives migrations, and the CPU models
    # its guests may be given.
    accelerator: str = ""
    live_migration: bool = False
    cpu_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriverFingerprint:
    """What a driver found on the host. An unhealthy driver runs nothing and says why in ``reason``.
    ``os_build`` / ``windows_isolation`` / ``hypervisor`` contribute to the Node's status."""

    healthy: bool
    reason: str = ""
    os_build: str = ""
    windows_isolation: tuple[str, ...] = ()
    hypervisor: HypervisorFacts | None = None


class DriverError(Exception):
    """Base of every error a driver reports; ``str()`` is one line for people."""


class TaskNotFoundError(DriverError):
    """No task with this id (never started, or destroyed)."""


class TaskExistsError(DriverError):
    """``start`` was called for a task id that has not been destroyed."""


class CannotRunError(DriverError):
    """The task can never run here as configured (wrong OS build, no such image, no hypervisor
    that fits); retrying cannot help. The agent fails the container with ContainerCannotRun."""


class StartError(DriverError):
    """Starting failed this time (runtime hiccup); the agent applies the restart policy."""


NETWORK_NOT_READY_REASON = "NetworkNotReady"


class NetworkNotReadyError(DriverError):
    """The task needs the node's pod network and it is not there yet (the node has no pod CIDR).
    Nothing was started; the agent keeps the workload waiting (reason NetworkNotReady, no restart
    counted) and starts it once the network is ready."""


SANDBOX_FAILED_REASON = "FailedCreatePodSandBox"  # Kubernetes' Event reason, spelling and all


class SandboxError(DriverError):
    """The pod's sandbox (its network) could not be set up or torn down this time; the message
    carries the network plugin's own words. Nothing was left half made; the agent retries with
    back-off and says so in a Warning Event."""


class TaskRunningError(DriverError):
    """``destroy`` without force on a task that has not exited."""


@runtime_checkable
class Driver(Protocol):
    """One runtime (sim-linux, sim-windows, sim-hypervisor, oci, qemu). ``name`` is the runtime
    handler written to the Node's status and matched against ``runtimeClassName``."""

    name: str

    def capabilities(self) -> Capabilities:
        """Static facts; never does I/O."""

    async def fingerprint(self) -> DriverFingerprint:
        """Probe the host: may run commands, must not start workloads. Called at registration
        and periodically; the result may change (a runtime can break or be repaired)."""

    def set_listener(self, listener: Listener) -> None:
        """Register the one callback the driver calls (on the event loop) with a task id whenever
        that task's phase changes by itself: booted, paused, exited, recovered. Replaces any
        previous listener. The agent then calls ``inspect``."""

    async def start(self, config: TaskConfig) -> TaskHandle:
        """Create and start the task; returns once it is PROVISIONING or later (not necessarily
        RUNNING: a VM boots after start returns). Raises TaskExistsError if ``config.task_id`` is
        not destroyed, CannotRunError when it can never run here, StartError when it failed now."""

    async def wait(self, task_id: str) -> ExitResult:
        """Return when the task has EXITED (at once if it already has). TaskNotFoundError if
        unknown. Cancelling the wait does not affect the task."""

    async def stop(self, task_id: str, timeout: float) -> ExitResult:
        """Ask the task to end (SIGTERM for containers, ACPI power-off for VMs), force it (SIGKILL,
        quit) after ``timeout`` seconds, and return its exit. Idempotent: on an EXITED task it
        returns the recorded exit. TaskNotFoundError if unknown."""

    async def destroy(self, task_id: str, force: bool = False) -> None:
        """Release everything the task holds; afterwards the id is unknown and may be started
        again. Must not be called on a task that has not EXITED unless ``force`` (which kills it
        first); raises TaskRunningError then. Destroying an unknown id is a no-op."""

    async def inspect(self, task_id: str) -> TaskStatus:
        """The task now. TaskNotFoundError if unknown."""

    async def list_tasks(self) -> list[TaskHandle]:
        """Every task the runtime still holds (running or exited, not destroyed), including those
        started by an earlier agent process: the input of adoption after an agent restart."""

    async def recover(self, handle: TaskHandle) -> bool:
        """Re-attach to a task started by an earlier agent process (from ``list_tasks`` or a saved
        handle): afterwards it is managed as if this process started it (listener, stop, destroy,
        wait). Never starts or kills anything. False when the task no longer exists."""

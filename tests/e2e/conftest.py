"""Fixtures for the real-runtime tests: a busybox image in a shared image store, a Debian kernel
and an initramfs (tests/e2e/artifacts.py), and drivers on a per-test state dir that destroy
every task they still hold when the test ends. Missing packages skip the tests (fail in CI)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.oci.driver import CGROUP_PARENT
from agent.drivers.protocol import Resources, TaskConfig, VmOptions
from agent.drivers.qemu import QemuDriver, QemuSettings
from agent.drivers.qemu.console import BOOT_MARKER_ANNOTATION
from agent.drivers.qemu.network import DEFAULT_PLUGIN_DIRS, VmNetworkSettings
from agent.network.cni import DEFAULT_BIN_DIR
from atoll.images import ImageStore
from tests.e2e import artifacts
from tests.support.host_network import host_network
from tests.support.netns import NETNS_DIR, scratch_netns
from tests.support.system import require_binary

BUSYBOX_IMAGE = "busybox:e2e"
BASE_CMDLINE = "console=ttyS0 quiet"


def _unavailable(reason: str) -> NoReturn:
    """Skip the test for a missing prerequisite; under CI=true fail it (CI must have them all)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _require_root() -> None:
    if os.geteuid() != 0:
        _unavailable("real runtimes need root (cgroups, mounts, namespaces)")


@pytest.fixture(autouse=True)
def host_network_untouched() -> Iterator[None]:
    """Every real-runtime test leaves the host's network as it found it: no atoll table, bridge or
    routes there, no namespace of this session left, no thread of this process in another
    namespace (tests/support/host_network.py). Torn down after the test's own fixtures."""
    before = host_network()
    yield
    leaks = host_network().leaks_since(before)
    assert not leaks, "the test changed the host's network: " + "; ".join(leaks)


@pytest.fixture(scope="session")
def busybox() -> Path:
    return Path(require_binary("busybox", "busybox-static"))


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory, busybox: Path) -> Path:
    """An image store holding busybox:e2e, shared by every container test."""
    root = tmp_path_factory.mktemp("images")
    rootfs = artifacts.busybox_rootfs(tmp_path_factory.mktemp("busybox-rootfs"), busybox)
    ImageStore(root).import_path(rootfs, BUSYBOX_IMAGE)
    return root


def container(task_id: str, *command: str, **changes: object) -> TaskConfig:
    """A valid busybox container config running ``command``; tests change only what they test."""
    uid, _, name = task_id.partition(":")
    fields: dict[str, object] = {
        "task_id": task_id, "kind": "container", "namespace": "default", "workload": f"pod-{uid}",
        "workload_uid": uid, "name": name or "main", "image": BUSYBOX_IMAGE, "command": tuple(command),
        "resources": Resources(),
    }
    fields.update(changes)
    return TaskConfig(**fields)  # type: ignore[arg-type]


OciFactory = Callable[..., OciDriver]


@pytest.fixture
async def oci(tmp_path: Path, image_dir: Path) -> AsyncIterator[OciFactory]:
    """``oci(runtime="runc")`` -> a driver on this test's state dir (call again for a second agent
    process on the same dir); ``oci(node="n2")`` -> one on a state dir and cgroup parent of node
    n2's own, for a second real node on this host. Every task left is destroyed at the end.

    The cgroup parent is this test process's own (``cgroup_parent_of_this_process``): tests name
    their tasks alike (``u1:main``), and two test runs at once on one host (CI beside a developer's
    run) must not share, freeze or remove each other's cgroups."""
    _require_root()
    made: dict[Path, OciDriver] = {}  # the last driver of each state dir
    parent = cgroup_parent_of_this_process()

    def build(runtime: str = "runc", node: str = "") -> OciDriver:
        require_binary(runtime, runtime)
        state_dir = tmp_path / (f"oci-{node}" if node else "oci")
        cgroup_parent = f"{parent}/{node}" if node else parent
        driver = OciDriver(OciSettings(state_dir=state_dir, runtime=runtime, image_dir=image_dir,
                                       cgroup_parent=cgroup_parent))
        made[state_dir] = driver
        return driver

    yield build
    for last in made.values():
        for handle in await last.list_tasks():
            await last.recover(handle)
            await last.destroy(handle.task_id, force=True)


CGROUP_PARENT_ENV = "ATOLL_E2E_CGROUP_PARENT"  # an agent child's: its test process's parent


def cgroup_parent_of_this_process() -> str:
    """A cgroup parent (relative to each hierarchy's root) that no other test process uses; every
    real-runtime test gives its drivers this one (or a node's below it), and its agent children
    (tests/e2e/children.py) get it through CGROUP_PARENT_ENV. Removed at the end."""
    return os.environ.get(CGROUP_PARENT_ENV) or f"{CGROUP_PARENT}-e2e-{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def _cgroups_of_this_process() -> Iterator[None]:
    yield
    remove_empty_cgroups(cgroup_parent_of_this_process())


def remove_empty_cgroups(parent: str, root: Path = Path("/sys/fs/cgroup")) -> None:
    """Remove ``parent`` and the empty cgroups below it in every hierarchy (v1 and v2); one still
    holding a process stays (rmdir refuses)."""
    for top in (root / parent, *(hierarchy / parent for hierarchy in root.iterdir() if hierarchy.is_dir())):
        if not top.is_dir():
            continue
        for directory in sorted((top, *(p for p in top.rglob("*") if p.is_dir())), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                directory.rmdir()


CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")


@pytest.fixture(scope="session")
def cni_bin_dir() -> Path:
    """Debian's CNI plugins (containernetworking-plugins); iptables for portmap, iproute2."""
    for plugin in CNI_PLUGINS:
        if not (DEFAULT_BIN_DIR / plugin).is_file():
            _unavailable(f"CNI plugin {plugin} not in {DEFAULT_BIN_DIR}: install containernetworking-plugins")
    require_binary("iptables", "iptables")
    require_binary("ip", "iproute2")
    require_binary("nsenter", "util-linux")
    return DEFAULT_BIN_DIR


@pytest.fixture
def node_netns(cni_bin_dir: Path) -> Iterator[Path]:
    """A network namespace of this test's own for the node's network (``CniInvoker(node_netns=)``):
    its bridge, veths and portmap rules are made in it and vanish with it."""
    _require_root()
    with scratch_netns() as name:
        yield NETNS_DIR / name


@pytest.fixture(scope="session")
def kernel() -> artifacts.Kernel:
    require_binary("apt-get", "apt")
    try:
        return artifacts.debian_kernel()
    except Exception as err:  # any failure to fetch means: no kernel here
        _unavailable(f"no Debian kernel in {artifacts.kernel_cache_dir()}: {err} (run scripts/install_runtime_deps.sh)")


@pytest.fixture(scope="session")
def initramfs(tmp_path_factory: pytest.TempPathFactory, busybox: Path, kernel: artifacts.Kernel) -> Path:
    return artifacts.build_initramfs(tmp_path_factory.mktemp("initramfs") / "initrd.cpio", busybox, kernel)


def vm(task_id: str, kernel: artifacts.Kernel, initramfs: Path, *flags: str, **changes: object) -> TaskConfig:
    """A valid direct-boot VM config; ``flags`` go on the kernel command line (atoll.poweroff ...)."""
    uid, _, name = task_id.partition(":")
    options = VmOptions(vcpus=1, memory=256 * 2**20, kernel=str(kernel.image), initrd=str(initramfs),
                        cmdline=" ".join((BASE_CMDLINE, *flags)))
    fields: dict[str, object] = {
        "task_id": task_id, "kind": "vm", "namespace": "default", "workload": f"vm-{uid}", "workload_uid": uid,
        "name": name or "vm", "vm": options, "annotations": ((BOOT_MARKER_ANNOTATION, artifacts.MARKER),),
    }
    fields.update(changes)
    return TaskConfig(**fields)  # type: ignore[arg-type]


QemuFactory = Callable[..., QemuDriver]
POD_CIDR = "10.250.7.0/24"  # the test node's pod CIDR, in the node network's namespace of the test's own


async def _qemu_drivers(state_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                        network: VmNetworkSettings | None = None) -> AsyncIterator[QemuFactory]:
    """Yields ``build(pod_cidr=POD_CIDR)`` -> a QEMU driver on ``state_dir`` whose VMs may use the
    kernel cache and the session's temporary files (on the pod network ``network`` when given);
    afterwards destroys what the last driver built holds."""
    require_binary("qemu-system-x86_64", "qemu-system-x86")
    require_binary("qemu-img", "qemu-utils")
    made: list[QemuDriver] = []

    def build(pod_cidr: str = POD_CIDR) -> QemuDriver:
        driver = QemuDriver(QemuSettings(state_dir=state_dir, boot_timeout=60, network=network,
                                         vm_image_dirs=(artifacts.cache_root(), tmp_path_factory.getbasetemp())))
        driver.set_pod_cidr(pod_cidr)
        made.append(driver)
        return driver

    yield build
    if made:
        last = made[-1]
        for handle in await last.list_tasks():
            await last.recover(handle)
            await last.destroy(handle.task_id, force=True)
    for driver in made:
        await driver.close()


@pytest.fixture
async def qemu(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QemuFactory]:
    """``qemu()`` -> a QEMU driver on this test's state dir, VMs without a network device;
    leftovers are destroyed at the end."""
    async for build in _qemu_drivers(tmp_path / "qemu", tmp_path_factory):
        yield build


@pytest.fixture
def vm_network(tmp_path: Path) -> Iterator[VmNetworkSettings]:
    """The node's network in a namespace of the test's own (``node_netns``; removed at the end,
    with the bridge and every tap in it): VMs on bridge atoll0 there, QEMU and the DHCP socket
    there too, addresses from a host-local pool in this test's directory. The test process itself
    never changes namespace (gRPC's threads would connect from the wrong one); it looks inside with
    tests.support.netns.run_in and sockets made there (agent.network.netns.socket_in)."""
    _require_root()
    require_binary("ip", "iproute2")
    require_binary("nsenter", "util-linux")
    if not any((directory / "host-local").is_file() for directory in DEFAULT_PLUGIN_DIRS):
        _unavailable("CNI plugin host-local not found: install containernetworking-plugins")
    with scratch_netns() as name:
        yield VmNetworkSettings(ipam_data_dir=tmp_path / "ipam", node_netns=NETNS_DIR / name)


@pytest.fixture
async def networked_qemu(vm_network: VmNetworkSettings, tmp_path: Path,
                         tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QemuFactory]:
    """``qemu()`` whose VMs get a tap on the test namespace's bridge and an address from POD_CIDR;
    leftovers are destroyed (taps and addresses released) before the namespace goes."""
    async for build in _qemu_drivers(tmp_path / "qemu", tmp_path_factory, vm_network):
        yield build

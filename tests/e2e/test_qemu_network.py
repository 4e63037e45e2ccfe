"""VMs on the pod network, with real QEMU guests; the node's network (bridge, taps, QEMU, the DHCP
socket) lives in a network namespace the test makes (``node_netns``, as ``atoll up --node-netns``)
while the test process, its API server and agent stay where they are: an address from the node's
pod CIDR (host-local, the pods' pool), a tap on the node bridge, the guest reachable by TCP from
the node; the tap and the address released on destroy, kept across an agent crash (adopted, not
allocated again), and leftovers of crashed agents swept; a pod on the same node (its CNI
sandbox) reaches the VM."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.drivers.abilities import SandboxConfig
from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.protocol import NetworkNotReadyError, TaskPhase
from agent.drivers.qemu import QemuDriver, QemuSettings
from agent.drivers.qemu.network import VmNetwork, VmNetworkSettings
from agent.drivers.qemu.nic import GUEST_INTERFACE, mac_for, tap_name
from agent.drivers.real import node_sandboxes
from agent.network.netns import socket_in
from agent.run import close_drivers, start_node
from atoll import kinds
from atoll.client import Client
from atoll.clock import SystemClock
from tests.e2e import artifacts
from tests.e2e.children import start_then_crash
from tests.e2e.conftest import POD_CIDR, QemuFactory, cgroup_parent_of_this_process, container, vm
from tests.e2e.test_qemu_agent import NODE, QUICK_RESTARTS, guest
from tests.integration.agent_harness import cluster, eventually, node_ipam
from tests.support.netns import run_in

BOOT_TIMEOUT = 90.0


@contextlib.asynccontextmanager
async def agent(client: Client, driver: QemuDriver) -> AsyncIterator[None]:
    """A node agent running ``driver`` until the block ends; then it exits as an agent process
    does (VMs keep running, QMP connections dropped), for the next one to adopt them."""
    running = await start_node(client, NODE, [driver], clock=SystemClock(), config=QUICK_RESTARTS)
    try:
        yield
    finally:
        await running.close()
        await close_drivers([driver])


async def _running(driver: QemuDriver, task_id: str) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while (status := await driver.inspect(task_id)).phase is not TaskPhase.RUNNING:
        assert status.exit is None, f"{task_id} ended: {status.exit}"
        assert time.monotonic() < deadline, f"{task_id} stayed {status.phase.value}"
        await asyncio.sleep(0.05)


async def http_get(node: VmNetworkSettings, ip: str, timeout: float = 30.0) -> str:
    """The guest's HTTP answer on port 80, asked from the node's network namespace, trying until
    ``timeout`` (httpd starts after boot)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = await socket_in(node.node_netns, socket.socket)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (ip, artifacts.GUEST_HTTP_PORT)),
                                       2.0)
            except BaseException:
                sock.close()
                raise
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5.0)
            writer.close()
            return answer.decode(errors="replace")
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def _in_node(node: VmNetworkSettings, *argv: str) -> str:
    """``argv``'s output, run in the node's network namespace; AssertionError when it fails."""
    assert node.node_netns is not None
    done = run_in(node.node_netns, *argv)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr.strip()}"
    return done.stdout


def _taps(node: VmNetworkSettings | None = None) -> list[str]:
    """The taps in the node's network namespace (None: the test process's own)."""
    argv = ("ip", "-j", "link", "show", "type", "tun")
    output = _in_node(node, *argv) if node is not None else subprocess.run(
        argv, check=True, capture_output=True, text=True).stdout
    return [link["ifname"] for link in json.loads(output or "[]")]


def _held(settings: VmNetworkSettings) -> dict[str, str]:
    """Address -> holder (workload uid) of every reservation in the node's pool (pods' too)."""
    return {held.address: held.container_id for held in VmNetwork(settings).addresses.reservations()}


async def test_a_vm_gets_an_address_from_the_pod_cidr_answers_the_node_by_tcp_and_destroy_frees_it(
    networked_qemu: QemuFactory, vm_network: VmNetworkSettings, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    driver = networked_qemu()
    await driver.start(vm("n1:vm", kernel, initramfs))
    await _running(driver, "n1:vm")
    ip = (await driver.inspect("n1:vm")).ip
    network = ipaddress.IPv4Network(POD_CIDR)
    assert ipaddress.IPv4Address(ip) in network and ip != str(network.network_address + 1)
    assert _held(vm_network) == {ip: "n1"}
    assert _taps(vm_network) == [tap_name("n1:vm")]
    assert tap_name("n1:vm") not in _taps()  # nothing in the test's (the agent's) own namespace
    answer = await http_get(vm_network, ip)
    assert artifacts.MARKER in answer, answer
    neighbours = _in_node(vm_network, "ip", "neigh", "show", ip)
    assert mac_for("n1") in neighbours  # the guest's NIC has the MAC derived from the VM's UID

    await driver.stop("n1:vm", timeout=10)
    assert (await driver.inspect("n1:vm")).ip == ""  # an ended VM has no address
    await driver.destroy("n1:vm")
    assert _taps(vm_network) == []
    assert _held(vm_network) == {}


async def test_an_agent_crash_keeps_the_vm_address_and_tap_and_the_next_agent_releases_them(
    networked_qemu: QemuFactory, vm_network: VmNetworkSettings, kernel: artifacts.Kernel, initramfs: Path,
    tmp_path: Path
) -> None:
    await start_then_crash("qemu-net", str(vm_network.node_netns), str(vm_network.ipam_data_dir), POD_CIDR,
                           str(tmp_path / "qemu"), "a1:vm", str(kernel.image), str(initramfs))
    held = _held(vm_network)
    assert list(held.values()) == ["a1"]
    driver = networked_qemu()
    (handle,) = await driver.list_tasks()
    assert await driver.recover(handle)
    await _running(driver, "a1:vm")
    ip = (await driver.inspect("a1:vm")).ip
    assert held == {ip: "a1"}  # adopted with its address: nothing allocated again
    assert _taps(vm_network) == [tap_name("a1:vm")]
    assert artifacts.MARKER in await http_get(vm_network, ip)

    await driver.stop("a1:vm", timeout=10)
    await driver.destroy("a1:vm")
    assert _taps(vm_network) == []
    assert _held(vm_network) == {}


async def test_without_a_pod_cidr_a_vm_waits_and_nothing_is_made(
    networked_qemu: QemuFactory, vm_network: VmNetworkSettings, kernel: artifacts.Kernel, initramfs: Path,
    tmp_path: Path
) -> None:
    driver = networked_qemu(pod_cidr="")  # a node the IPAM controller has not served yet
    with pytest.raises(NetworkNotReadyError, match="no pod CIDR"):
        await driver.start(vm("w1:vm", kernel, initramfs))
    assert list((tmp_path / "qemu" / "tasks").iterdir()) == []
    assert _taps(vm_network) == [] and _held(vm_network) == {}
    assert driver.set_pod_cidr(POD_CIDR) and not driver.set_pod_cidr(POD_CIDR)


async def test_a_new_driver_sweeps_vm_taps_and_half_started_vms_that_crashed_agents_left(
    networked_qemu: QemuFactory, vm_network: VmNetworkSettings, tmp_path: Path
) -> None:
    network = VmNetwork(vm_network)
    network.set_pod_cidr(POD_CIDR)
    pod = await network.addresses.allocate_address("pod-kept", GUEST_INTERFACE)  # a pod's: never the VM sweep's
    _in_node(vm_network, "ip", "tuntap", "add", "dev", tap_name("gone:vm"), "mode", "tap")
    _in_node(vm_network, "ip", "tuntap", "add", "dev", "othertap0", "mode", "tap")
    # A start killed after its address and tap were made but before QEMU ran: no task.json; the
    # sweep releases both (its network.json names them).
    half = tmp_path / "qemu" / "tasks" / "half.vm"
    half.mkdir(parents=True)
    await network.attach(half, vm("half:vm", artifacts.Kernel(tmp_path, tmp_path, tmp_path, ""), tmp_path))
    assert sorted(_taps(vm_network)) == sorted([tap_name("gone:vm"), tap_name("half:vm"), "othertap0"])

    driver = networked_qemu()
    assert await driver.list_tasks() == []
    assert _taps(vm_network) == ["othertap0"]  # not a VM tap: left alone
    assert _held(vm_network) == {pod.address.partition("/")[0]: "pod-kept"}
    assert not half.exists()


async def test_a_vm_applied_to_a_real_node_reports_its_address_keeps_it_across_an_agent_restart_and_frees_it_on_delete(
    networked_qemu: QemuFactory, vm_network: VmNetworkSettings, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    # The API server, the node IPAM controller and the agent run in the test's own namespace, the VM in the node's.
    async with cluster() as c, node_ipam(c.api.address, "10.250.0.0/16", 24):
        async with agent(c.client, networked_qemu(pod_cidr="")):
            await c.client.create(guest("web", kernel, initramfs, run_strategy="Always"))
            vm = await eventually(c.client, "vm", "web", lambda v: v is not None and v.status.phase == "Running"
                                  and bool(v.status.ip), timeout=BOOT_TIMEOUT)
            cidr = kinds.unwrap(await c.client.get("node", NODE.name, "")).spec.pod_cidr
            assert ipaddress.IPv4Address(vm.status.ip) in ipaddress.IPv4Network(cidr)
            assert list(vm.status.ips) == [vm.status.ip]
            assert artifacts.MARKER in await http_get(vm_network, vm.status.ip)
        # A new agent process (same state dir) adopts the VM: same address, nothing allocated again.
        held = _held(vm_network)
        async with agent(c.client, networked_qemu(pod_cidr="")):
            again = await eventually(c.client, "vm", "web", lambda v: v is not None and v.status.phase == "Running"
                                     and v.status.ip == vm.status.ip, timeout=30)
            assert again.status.restart_count == vm.status.restart_count
            assert _held(vm_network) == held == {vm.status.ip: vm.metadata.uid}
            await c.client.delete("vm", "web")
            await eventually(c.client, "vm", "web", lambda v: v is None, timeout=60)
            assert _taps(vm_network) == [] and _held(vm_network) == {}


async def test_a_guest_that_asks_by_dhcp_gets_its_ipam_address_from_the_node(
    networked_qemu: QemuFactory, vm_network: VmNetworkSettings, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    driver = networked_qemu()
    await driver.start(vm("d1:vm", kernel, initramfs, "atoll.dhcp"))  # init ignores ip= and runs udhcpc
    await _running(driver, "d1:vm")
    ip = (await driver.inspect("d1:vm")).ip
    console = [line.text async for line in driver.logs("d1:vm")]
    assert f"atoll-guest: dhcp eth0 {ip}" in console, console[-20:]
    assert artifacts.MARKER in await http_get(vm_network, ip)


async def test_a_pod_on_the_same_node_reaches_a_vm_by_its_address(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, kernel: artifacts.Kernel, initramfs: Path,
    image_dir: Path, cni_bin_dir: Path, node_netns: Path
) -> None:
    """Pods (CNI sandboxes) and VMs of one node, as ``real_drivers`` makes them: one bridge, one
    address pool, one namespace for the node's network."""
    state = tmp_path / "node"
    sandboxes = node_sandboxes(state, "n1", cni_bin_dir, node_netns=node_netns)
    sandboxes.network.set_pod_cidr(POD_CIDR)
    pods = OciDriver(OciSettings(state_dir=state / "oci", image_dir=image_dir, sandboxes=sandboxes,
                                 cgroup_parent=f"{cgroup_parent_of_this_process()}/n1"))
    network = VmNetworkSettings(ipam_data_dir=state / "network" / "ipam", plugin_dirs=(cni_bin_dir,),
                                node_netns=node_netns)
    vms = QemuDriver(QemuSettings(state_dir=state / "qemu", boot_timeout=60, network=network,
                                  vm_image_dirs=(artifacts.cache_root(), tmp_path_factory.getbasetemp())))
    vms.set_pod_cidr(POD_CIDR)
    try:
        await vms.start(vm("v1:vm", kernel, initramfs))
        await _running(vms, "v1:vm")
        vm_ip = (await vms.inspect("v1:vm")).ip
        pod_ip = await pods.run_sandbox(SandboxConfig("p1", "default", "client"))
        assert pod_ip != vm_ip and {pod_ip, vm_ip} <= set(map(str, ipaddress.IPv4Network(POD_CIDR).hosts()))
        # busybox 1.35's wget -T crashes: the guest is up (its marker was seen), so no retry is needed
        await pods.start(container("p1:main", "wget", "-q", "-O", "-", f"http://{vm_ip}/"))
        result = await asyncio.wait_for(pods.wait("p1:main"), 60)
        output = [line.text async for line in pods.logs("p1:main")]
        assert result.exit_code == 0 and any(artifacts.MARKER in line for line in output), output
    finally:
        await pods.destroy("p1:main", force=True)
        await pods.remove_sandbox("p1")
        await vms.destroy("v1:vm", force=True)
        await vms.close()
    assert _held(network) == {}

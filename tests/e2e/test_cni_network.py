"""The node's CNI network with Debian's real plugins, inside a network namespace of the test's
own: a pod namespace gets an address of the node's pod CIDR on the bridge and answers from the
node; DEL releases the address and the veth; VM addresses come from the same pool; a plugin's
failure surfaces with its own words and leaves nothing behind."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.network.cni import (
    CniInvoker,
    CniPluginError,
    NodeCniNetwork,
    NodeNetworkSettings,
)
from agent.network.netns import create_netns, netns_exists, remove_netns
from tests.support.netns import run_in

POD_CIDR = "10.77.3.0/24"


def node_network(tmp_path: Path, cni_bin_dir: Path, node_netns: Path, **changes: object) -> NodeCniNetwork:
    settings = NodeNetworkSettings(ipam_dir=tmp_path / "ipam", **changes)  # type: ignore[arg-type]
    invoker = CniInvoker((cni_bin_dir,), node_netns=node_netns)
    network = NodeCniNetwork(invoker, settings, tmp_path / "conf", node_name="n1")
    network.set_pod_cidr(POD_CIDR)
    return network


@pytest.fixture
def netns_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "netns"
    yield directory
    for pinned in directory.iterdir():
        remove_netns(pinned)


def links(node_netns: Path) -> str:
    return run_in(node_netns, "ip", "-o", "link").stdout


async def test_a_pod_namespace_gets_an_address_of_the_pod_cidr_and_del_releases_it(
    tmp_path: Path, cni_bin_dir: Path, node_netns: Path, netns_dir: Path
) -> None:
    network = node_network(tmp_path, cni_bin_dir, node_netns)
    pod = netns_dir / "uid-a"
    create_netns(pod)
    result = await network.attach_pod("uid-a", pod)
    ip = result.ip_in_sandbox()
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(POD_CIDR) and ip != "10.77.3.1"
    inside = run_in(pod, "ip", "-4", "-o", "addr", "show", "eth0")
    assert f"{ip}/24" in inside.stdout
    assert "default via 10.77.3.1" in run_in(pod, "ip", "route").stdout
    assert run_in(pod, "ip", "-o", "link", "show", "lo").stdout.count("UP") >= 1
    ping = run_in(node_netns, "busybox", "ping", "-c", "1", "-W", "2", ip)
    assert ping.returncode == 0, ping.stdout + ping.stderr  # from the node (the test's netns) over atoll0
    assert [(r.address, r.container_id, r.ifname) for r in network.reservations()] == [(ip, "uid-a", "eth0")]
    assert "atoll0" in links(node_netns) and links(node_netns).count("veth") == 1

    await network.detach_pod("uid-a", pod, result)
    assert network.reservations() == []
    assert "veth" not in links(node_netns)
    await network.detach_pod("uid-a", pod, result)  # a second DEL of what is gone succeeds
    remove_netns(pod)
    assert not netns_exists(pod) and not pod.exists()


async def test_pods_and_vm_addresses_share_one_pool(
    tmp_path: Path, cni_bin_dir: Path, node_netns: Path, netns_dir: Path
) -> None:
    network = node_network(tmp_path, cni_bin_dir, node_netns)
    pod = netns_dir / "uid-p"
    create_netns(pod)
    pod_ip = (await network.attach_pod("uid-p", pod)).ip_in_sandbox()
    vm = await network.allocate_address("uid-vm")
    assert vm.ip != pod_ip and ipaddress.ip_address(vm.ip) in ipaddress.ip_network(POD_CIDR)
    assert vm.gateway == "10.77.3.1"
    assert await network.allocate_address("uid-vm") == vm  # asked again (agent restart): the same address
    assert {r.container_id for r in network.reservations()} == {"uid-p", "uid-vm"}
    await network.release_address("uid-vm")
    await network.release_address("uid-vm")
    assert [r.container_id for r in network.reservations()] == ["uid-p"]
    await network.detach_pod("uid-p", pod, None)  # DEL without the cached result still releases
    assert network.reservations() == []


async def test_a_plugin_failure_carries_its_own_message_and_leaves_nothing(
    tmp_path: Path, cni_bin_dir: Path, node_netns: Path, netns_dir: Path
) -> None:
    network = node_network(tmp_path, cni_bin_dir, node_netns, bridge="x" * 20)  # longer than IFNAMSIZ
    pod = netns_dir / "uid-f"
    create_netns(pod)
    with pytest.raises(CniPluginError) as caught:
        await network.attach_pod("uid-f", pod)
    assert caught.value.plugin == "bridge" and caught.value.command == "ADD" and caught.value.msg
    assert network.reservations() == []
    assert "veth" not in links(node_netns)

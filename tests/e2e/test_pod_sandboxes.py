"""Pod sandboxes survive what an agent goes through, with Debian's real plugins in a network
namespace of the test's own: an agent killed with SIGKILL leaves a sandbox the next agent
re-attaches without a second ADD; a sandbox half made by a crash, or whose namespace vanished
with a reboot, is DELeted and made again; in every case exactly one address and one veth remain,
and none once the pod is gone."""

from __future__ import annotations

import json
from pathlib import Path

from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.real import node_sandboxes
from agent.network.cni.conflist import PortMapping
from agent.network.netns import create_netns, netns_exists, remove_netns
from agent.network.sandboxes import NodeSandboxes, SandboxSpec
from tests.e2e.children import start_then_crash
from tests.e2e.conftest import cgroup_parent_of_this_process
from tests.support.eventually import eventually as until
from tests.support.netns import run_in

POD_CIDR = "10.66.0.0/24"


def sandboxes(state: Path, node_netns: Path) -> NodeSandboxes:
    """A new agent process's view of the node's sandboxes (nothing in memory)."""
    made = node_sandboxes(state, "n1", node_netns=node_netns)
    made.network.set_pod_cidr(POD_CIDR)
    return made


def veths(node_netns: Path) -> int:
    return run_in(node_netns, "ip", "-o", "link").stdout.count("veth")


def held(node: NodeSandboxes) -> list[str]:
    return [r.container_id for r in node.network.reservations()]


async def test_a_sandbox_outlives_an_agent_killed_with_sigkill_and_is_reattached_without_a_second_add(
    tmp_path: Path, image_dir: Path, node_netns: Path
) -> None:
    state = tmp_path / "node"
    await start_then_crash("pod", str(state), str(image_dir), str(node_netns), POD_CIDR, "p1:main", "sleep", "600")
    node = sandboxes(state, node_netns)
    before = node.get("p1")
    assert before is not None and before.ip and netns_exists(Path(before.netns))
    again = await node.ensure(SandboxSpec("p1"))
    assert again.ip == before.ip and held(node) == ["p1"] and veths(node_netns) == 1
    driver = OciDriver(OciSettings(state_dir=state / "oci", image_dir=image_dir, sandboxes=node,
                                   cgroup_parent=cgroup_parent_of_this_process()))
    (handle,) = await driver.list_tasks()
    assert await driver.recover(handle)
    assert (await driver.inspect("p1:main")).ip == before.ip
    await driver.destroy("p1:main", force=True)
    await driver.remove_sandbox("p1")
    assert held(node) == [] and veths(node_netns) == 0 and not Path(before.netns).exists()


async def test_a_sandbox_half_made_by_a_crash_is_deleted_and_made_again(tmp_path: Path, node_netns: Path) -> None:
    state = tmp_path / "node"
    first = sandboxes(state, node_netns)
    netns = first.netns_dir / "p2"
    # Killed after the ADD but before the record said so: a pending record, a namespace, an address.
    first.records_dir.mkdir(parents=True)
    pending = {"uid": "p2", "namespace": "", "name": "", "netns": str(netns)}
    (first.records_dir / "p2.json").write_text(json.dumps(pending))
    create_netns(netns)
    await first.network.attach_pod("p2", netns)
    node = sandboxes(state, node_netns)
    made = await node.ensure(SandboxSpec("p2"))
    assert made.ip and held(node) == ["p2"] and veths(node_netns) == 1
    await node.remove("p2")
    assert held(node) == [] and veths(node_netns) == 0 and node.uids() == []


async def test_a_sandbox_whose_namespace_vanished_is_made_again_and_its_old_address_released(
    tmp_path: Path, node_netns: Path
) -> None:
    state = tmp_path / "node"
    first = sandboxes(state, node_netns)
    old = await first.ensure(SandboxSpec("p3"))
    remove_netns(Path(old.netns))  # what a reboot does to a pin (the record is on disk, the mount is not)
    node = sandboxes(state, node_netns)
    made = await node.ensure(SandboxSpec("p3"))
    assert netns_exists(Path(made.netns)) and held(node) == ["p3"]

    async def one_veth() -> bool:  # the kernel ends an unpinned namespace, and its veth, a moment later
        return veths(node_netns) == 1

    await until(one_veth, timeout=10)
    await node.remove("p3")
    await node.remove("p3")  # twice: nothing there is fine
    assert held(node) == [] and veths(node_netns) == 0


async def test_a_sandbox_has_lo_up_and_runs_portmap_only_for_a_pod_with_host_ports(
    tmp_path: Path, node_netns: Path
) -> None:
    node = sandboxes(tmp_path / "node", node_netns)
    plain = await node.ensure(SandboxSpec("p4"))
    lo_flags = run_in(Path(plain.netns), "ip", "-o", "link", "show", "lo").stdout.split("<")[1].split(">")[0]
    assert "UP" in lo_flags.split(",")
    assert "CNI-DN-" not in run_in(node_netns, "iptables-save").stdout  # portmap never ran
    await node.ensure(SandboxSpec("p5", ports=(PortMapping(18080, 80),)))
    rules = run_in(node_netns, "iptables-save").stdout
    assert "CNI-DN-" in rules and "18080" in rules
    await node.remove("p4")
    await node.remove("p5")
    assert "18080" not in run_in(node_netns, "iptables-save").stdout
    assert held(node) == [] and veths(node_netns) == 0

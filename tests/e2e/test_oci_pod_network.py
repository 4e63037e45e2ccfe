"""Real pods on the node's CNI network, through the node agent, inside a network namespace of the
test's own (the node's netns: bridge, veths and portmap rules vanish with it): the containers of
a pod share its network (localhost), UTS (hostname) and IPC namespaces; the pod's IP comes from
the node's pod CIDR and answers from the node; a hostPort answers on the node's address; an
agent restart re-attaches without a second ADD; everything is released on deletion and by the
sweep of a node that was down; a CNI failure is a Warning Event with the plugin's words,
retried, leaving nothing."""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig
from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.real import node_sandboxes
from agent.network.netns import create_netns
from agent.network.sandboxes import NodeSandboxes, SandboxSpec
from agent.registration import NodeProfile
from agent.run import RunningNode, start_node
from agent.workloads.backoff import RestartBackoff
from atoll import kinds
from atoll.clock import SystemClock
from tests.e2e.conftest import BUSYBOX_IMAGE, cgroup_parent_of_this_process
from tests.integration.agent_harness import bound_pod, cluster, eventually, node_ipam
from tests.support.eventually import eventually as until
from tests.support.netns import NETNS_DIR, run_in, scratch_netns

NODE = NodeProfile(name="real-net", cpu="2", memory="8Gi")
CLUSTER_CIDR = "10.88.0.0/16"
NODE_ADDRESS = "192.0.2.10"  # TEST-NET-1: the node's address, on the loopback of the test's namespace
CONFIG = AgentConfig(backoff=RestartBackoff(initial=0.3, maximum=0.6))
SHARED_NAMESPACES = "echo $(hostname) $(for ns in uts ipc net; do readlink /proc/self/ns/$ns; done)"
SERVE = "mkdir -p /tmp/w && echo pod-hello > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w"


class Node:
    """The test's node: its state dir, and a way to (re)start its agent as a new process would."""

    def __init__(self, state: Path, image_dir: Path, cni_bin_dir: Path, netns: Path, profile: NodeProfile = NODE,
                 **network: Any) -> None:
        self.state, self.image_dir, self.cni_bin_dir, self.netns, self.network = (
            state, image_dir, cni_bin_dir, netns, network)
        self.profile = profile
        self.sandboxes = self.new_sandboxes()
        self.driver = self.new_driver()

    def new_sandboxes(self) -> NodeSandboxes:
        return node_sandboxes(self.state, self.profile.name, self.cni_bin_dir, node_netns=self.netns, **self.network)

    def new_driver(self) -> OciDriver:
        return OciDriver(OciSettings(state_dir=self.state / "oci", image_dir=self.image_dir, sandboxes=self.sandboxes,
                                     cgroup_parent=f"{cgroup_parent_of_this_process()}/{self.profile.name}"))

    def restarted(self) -> None:
        """Forget everything in memory, as a new agent process on the same state would."""
        self.sandboxes = self.new_sandboxes()
        self.driver = self.new_driver()

    @property
    def netns_dir(self) -> Path:
        return self.state / "network" / "netns"

    def pinned(self) -> list[str]:
        return sorted(p.name for p in self.netns_dir.iterdir()) if self.netns_dir.is_dir() else []

    def records(self) -> list[str]:
        records = self.state / "network" / "sandboxes"
        return sorted(p.stem for p in records.glob("*.json")) if records.is_dir() else []

    def veths(self) -> int:
        return run_in(self.netns, "ip", "-o", "link").stdout.count("veth")

    def fetch(self, url: str) -> str:
        """``url`` fetched from the node's namespace (busybox 1.35's wget -T crashes: the
        subprocess timeout bounds it instead)."""
        done = run_in(self.netns, "busybox", "wget", "-q", "-O", "-", url)
        return done.stdout.strip() or done.stderr.strip()

    async def answers(self, url: str) -> bool:
        return self.fetch(url) == "pod-hello"


@pytest.fixture
async def node(tmp_path: Path, image_dir: Path, cni_bin_dir: Path, node_netns: Path) -> AsyncIterator[Node]:
    assert run_in(node_netns, "ip", "addr", "add", f"{NODE_ADDRESS}/32", "dev", "lo").returncode == 0
    made = Node(tmp_path / "node", image_dir, cni_bin_dir, node_netns)
    yield made
    made.restarted()
    for handle in await made.driver.list_tasks():
        await made.driver.recover(handle)
        await made.driver.destroy(handle.task_id, force=True)
    await made.sandboxes.sweep(lambda uid: False)


def serving_pod(name: str, node_name: str = NODE.name, **spec: Any) -> Any:
    obj = bound_pod(name, node_name, restart_policy="Always", termination_grace_period_seconds=1, **spec)
    web = obj.pod.spec.containers[0]
    web.name, web.image = "web", BUSYBOX_IMAGE
    web.command.extend(["sh", "-c", SERVE])
    return obj


def running_with_ip(pod: Any) -> bool:
    return pod is not None and pod.status.phase == "Running" and bool(pod.status.pod_ip)


async def start(c: Any, node: Node) -> RunningNode:
    return await start_node(c.client, node.profile, [node.driver], clock=SystemClock(), config=CONFIG)


async def test_a_pods_containers_share_localhost_and_the_pod_answers_on_its_ip(node: Node) -> None:
    async with cluster() as c, node_ipam(c.api.address, CLUSTER_CIDR, 24):
        running = await start(c, node)
        try:
            obj = serving_pod("pair")
            client = obj.pod.spec.containers.add(name="client", image=BUSYBOX_IMAGE)
            client.command.extend(["sleep", "600"])
            await c.client.create(obj)
            pod = await eventually(c.client, "pod", "pair", running_with_ip, timeout=30)
            cidr = kinds.unwrap(await c.client.get("node", NODE.name, "")).spec.pod_cidr
            assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(cidr)
            assert list(pod.status.pod_ips) == [pod.status.pod_ip]

            async def from_the_other_container() -> bool:
                fetched = await node.driver.exec(f"{pod.metadata.uid}:client",
                                                 ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], 10)
                return fetched.output.strip() == "pod-hello"

            await until(from_the_other_container, timeout=15)  # one namespace for both containers
            seen = [(await node.driver.exec(f"{pod.metadata.uid}:{name}", ["sh", "-c", SHARED_NAMESPACES], 10)).output
                    for name in ("web", "client")]
            assert seen[0] == seen[1] and seen[0].startswith("pair "), seen  # one hostname, UTS, IPC, network
            assert node.fetch(f"http://{pod.status.pod_ip}:8080/") == "pod-hello"  # from the node, over atoll0
            assert node.pinned() == [pod.metadata.uid] and node.veths() == 1

            await c.client.delete("pod", "pair")
            await eventually(c.client, "pod", "pair", lambda p: p is None, timeout=30)
            assert node.pinned() == [] and node.records() == [] and node.veths() == 0
            assert node.sandboxes.network.reservations() == []
        finally:
            await running.close()


async def test_a_host_port_answers_on_the_nodes_address(node: Node) -> None:
    async with cluster() as c, node_ipam(c.api.address, CLUSTER_CIDR, 24):
        running = await start(c, node)
        try:
            obj = serving_pod("published")
            obj.pod.spec.containers[0].ports.add(container_port=8080, host_port=18080)
            await c.client.create(obj)
            pod = await eventually(c.client, "pod", "published", running_with_ip, timeout=30)
            await until(lambda: node.answers(f"http://{pod.status.pod_ip}:8080/"), timeout=15)
            assert node.fetch(f"http://{NODE_ADDRESS}:18080/") == "pod-hello"
            await c.client.delete("pod", "published")
            await eventually(c.client, "pod", "published", lambda p: p is None, timeout=30)
            rules = run_in(node.netns, "iptables-save", "-t", "nat").stdout
            assert "18080" not in rules, "portmap's rules are gone with the pod"
        finally:
            await running.close()


async def test_a_restarted_agent_reattaches_the_sandbox_and_sweeps_what_belongs_to_no_pod(node: Node) -> None:
    async with cluster() as c, node_ipam(c.api.address, CLUSTER_CIDR, 24):
        first = await start(c, node)
        await c.client.create(serving_pod("kept"))
        before = await eventually(c.client, "pod", "kept", running_with_ip, timeout=30)
        await first.close()
        await node.driver.close()  # the agent process ends; its containers and sandboxes do not
        # Left by a node that was down or a crash: a sandbox of a deleted pod, a namespace pinned
        # with no record, an address of a VM that is gone.
        await node.sandboxes.ensure(SandboxSpec("gone-pod"))
        create_netns(node.netns_dir / "half-made")
        await node.sandboxes.network.allocate_address("gone-vm")
        node.restarted()
        second = await start(c, node)
        try:
            async def swept() -> bool:
                held = [(r.address, r.container_id) for r in node.sandboxes.network.reservations()]
                return (node.pinned() == node.records() == [before.metadata.uid]
                        and held == [(before.status.pod_ip, before.metadata.uid)])

            await until(swept, timeout=30)
            after = await eventually(c.client, "pod", "kept", running_with_ip, timeout=30)
            assert after.status.pod_ip == before.status.pod_ip
            assert after.status.container_statuses[0].restart_count == 0
            assert node.veths() == 1, "re-attached, not ADDed again"
            assert node.fetch(f"http://{before.status.pod_ip}:8080/") == "pod-hello"
        finally:
            await second.close()


async def test_a_cni_failure_is_a_warning_event_with_the_plugins_words_retried_leaving_nothing(
    tmp_path: Path, image_dir: Path, cni_bin_dir: Path, node_netns: Path
) -> None:
    node = Node(tmp_path / "node", image_dir, cni_bin_dir, node_netns, bridge="b" * 20)  # longer than an interface name
    async with cluster() as c, node_ipam(c.api.address, CLUSTER_CIDR, 24):
        running = await start(c, node)
        try:
            await c.client.create(serving_pod("broken"))

            async def failures() -> list[Any]:
                items, _ = await c.client.list_all("event", "default")
                return [e.event for e in items if e.event.reason == "FailedCreatePodSandBox"]

            async def retried() -> bool:
                return sum(int(event.count) for event in await failures()) >= 2

            pod = await eventually(c.client, "pod", "broken", lambda p: p is not None and any(
                "Failed to create pod sandbox" in s.state.waiting.message for s in p.status.container_statuses),
                timeout=30)
            assert pod.status.phase == "Pending" and pod.status.pod_ip == ""
            await until(retried, timeout=30)
            event = (await failures())[0]
            assert event.type == "Warning" and "CNI ADD bridge" in event.message, event.message
            assert node.pinned() == [] and node.records() == [] and node.sandboxes.network.reservations() == []
            assert node.veths() == 0
        finally:
            await running.close()


async def test_two_agents_share_one_host_each_with_its_own_network_state_and_cgroups(
    node: Node, tmp_path: Path, image_dir: Path, cni_bin_dir: Path
) -> None:
    other_profile = NodeProfile(name="real-net-b", cpu="2", memory="8Gi")
    with scratch_netns() as other_netns:
        other = Node(tmp_path / "node-b", image_dir, cni_bin_dir, NETNS_DIR / other_netns, other_profile)
        async with cluster() as c, node_ipam(c.api.address, CLUSTER_CIDR, 24):
            agents = [await start(c, node), await start(c, other)]
            try:
                await c.client.create(serving_pod("on-a"))
                await c.client.create(serving_pod("on-b", other_profile.name))
                pods = [await eventually(c.client, "pod", name, running_with_ip, timeout=30)
                        for name in ("on-a", "on-b")]
                for pod, its_node in zip(pods, (node, other), strict=True):
                    cidr = kinds.unwrap(await c.client.get("node", its_node.profile.name, "")).spec.pod_cidr
                    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(cidr)
                    assert its_node.pinned() == [pod.metadata.uid] and its_node.veths() == 1
                    record = json.loads((its_node.state / "oci" / "tasks" / f"{pod.metadata.uid}.web" / "task.json")
                                        .read_text())
                    parent = f"/{cgroup_parent_of_this_process()}/{its_node.profile.name}"
                    assert record["cgroups_path"] == f"{parent}/{pod.metadata.uid}.web"
                    await until(functools.partial(its_node.answers, f"http://{pod.status.pod_ip}:8080/"), timeout=15)
                for name in ("on-a", "on-b"):
                    await c.client.delete("pod", name)
                    await eventually(c.client, "pod", name, lambda p: p is None, timeout=30)
                assert node.pinned() == other.pinned() == [] and node.veths() == other.veths() == 0
            finally:
                for agent in agents:
                    await agent.close()
                for handle in await other.driver.list_tasks():
                    await other.driver.destroy(handle.task_id, force=True)
                await other.sandboxes.sweep(lambda uid: False)

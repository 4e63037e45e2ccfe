"""Node failure end to end: a node stops heartbeating; its Deployment pods and its Always VM (the
same object, its next run) run elsewhere within grace + eviction + 5 s (short settings), and
nothing runs twice."""

from __future__ import annotations

import time

from controller.manager import ControllerOptions
from tests.support.controller_cluster import ControlledCluster, controlled_cluster
from tests.support.eventually import eventually
from tests.unit.controllers.builders import make_deployment, make_standalone_vm

GRACE = 1.0
EVICTION = 1.0
OPTIONS = ControllerOptions(node_grace_period=GRACE, default_toleration_seconds=EVICTION)


async def settled(env: ControlledCluster, replicas: int) -> bool:
    pods = [pod for pod in env.nodes.running("Pod") if pod.spec.node_name not in env.nodes.failed]
    assert len(pods) == replicas, f"{len(pods)} pods running on live nodes"
    live = {name: node for name, node in env.nodes.bound_to("Pod").items() if node not in env.nodes.failed}
    assert len(live) == replicas, "a replacement is missing on the live nodes"
    vms = [vm for vm in env.nodes.running("VirtualMachine") if vm.spec.node_name not in env.nodes.failed]
    assert len(vms) == 1 and len(env.nodes.bound_to("VirtualMachine")) == 1
    return True


async def test_workloads_of_a_silent_node_run_elsewhere_within_grace_eviction_and_five_seconds() -> None:
    async with controlled_cluster(node_count=3, options=OPTIONS) as env:
        await env.client.create(make_deployment(replicas=6))
        await env.client.create(make_standalone_vm("db", "Always"))
        await eventually(lambda: settled(env, 6))
        victim = env.nodes.bound_to("VirtualMachine")["db"]
        lost_pods = {name for name, node in env.nodes.bound_to("Pod").items() if node == victim}
        assert lost_pods
        before = (await env.client.get("VirtualMachine", "db")).virtual_machine
        env.nodes.fail(victim)
        started = time.monotonic()
        await eventually(lambda: settled(env, 6), timeout=GRACE + EVICTION + 5)
        assert time.monotonic() - started <= GRACE + EVICTION + 5
        assert not lost_pods & set(env.nodes.bound_to("Pod"))
        after = (await env.client.get("VirtualMachine", "db")).virtual_machine
        assert after.metadata.uid == before.metadata.uid and after.spec.node_name != victim  # the same object
        assert (after.status.current_run.number, after.status.previous_runs[0].reason) == (2, "NodeLost")
        assert after.status.restart_count == 1
        node = (await env.client.get("Node", victim, "")).node
        assert any(t.key == "node.atoll.dev/unreachable" and t.effect == "NoExecute" for t in node.spec.taints)
        events, _ = await env.client.list_all("Event", field_selector="reason=NodeNotReady")
        assert [event.event.involved_object.name for event in events] == [victim]

        env.nodes.recover(victim)

        async def taint_gone() -> bool:
            healed = (await env.client.get("Node", victim, "")).node
            assert not healed.spec.taints
            return True

        await eventually(taint_gone, timeout=5)
        await settled(env, 6)

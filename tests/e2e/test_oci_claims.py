"""Real runc containers on persistent volumes, placed by the scheduler on two real nodes of this
host: what a pod writes to a local claim is there when a Deployment re-creates the pod (on the
volume's node, whichever the first one chose) and when a bare pod takes the claim over after the
Deployment is gone; a claim in use is not removed until its last pod is; a shared ReadWriteMany
claim is used by two pods on two nodes at once, and a readOnly mount of it refuses writes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.registration import NodeProfile
from agent.run import RunningNode, start_node
from agent.volumes.claims import VolumeDirs
from atoll import storage
from atoll.client import Client
from atoll.clock import SystemClock
from atoll.v1 import config_pb2, deployment_pb2, object_pb2, pod_pb2
from tests.e2e.conftest import BUSYBOX_IMAGE, OciFactory
from tests.integration.agent_harness import eventually
from tests.support.eventually import eventually as poll
from tests.support.objects import make_claim, make_pod
from tests.support.volume_cluster import volume_cluster

NODES = ("real-1", "real-2")
TIMEOUT = 60.0
# Appends one line per container start, then waits to be stopped (sh as PID 1 ignores SIGTERM:
# the pods' grace period is 1 s).
APPEND = 'echo "$HOSTNAME" >> /data/starts; exec sleep 3600'


@contextlib.asynccontextmanager
async def real_node(client: Client, oci: OciFactory, name: str, root: Path, shared: Path) -> AsyncIterator[Path]:
    """A real node ``name`` with its own OCI state, pod volume dir and local volume dir (yielded),
    room for local volumes, and the shared dir."""
    room = {storage.LOCAL_CAPACITY_RESOURCE: "1Gi"}
    profile = NodeProfile(name=name, cpu="2", memory="8Gi", extended_resources=room)
    local = root / name / "local"
    config = AgentConfig(volume_dirs=VolumeDirs(local, shared))
    running: RunningNode = await start_node(client, profile, [oci(node=name)], clock=SystemClock(), config=config,
                                            volumes_dir=root / name / "pods")
    try:
        yield local
    finally:
        await running.close()


def claim_pod(name: str, claim_name: str, script: str, *, read_only: bool = False, node: str = "") -> pod_pb2.Pod:
    """A busybox pod running ``script`` with ``claim_name`` at /data and an emptyDir at /out."""
    pod = make_pod(name, app=name).pod
    pod.spec.node_name = node
    pod.spec.termination_grace_period_seconds = 1
    pod.spec.volumes.add(name="data").persistent_volume_claim.CopyFrom(
        pod_pb2.PersistentVolumeClaimVolumeSource(claim_name=claim_name, read_only=read_only)
    )
    pod.spec.volumes.add(name="out", empty_dir=config_pb2.EmptyDirVolumeSource())
    container = pod.spec.containers[0]
    container.image = BUSYBOX_IMAGE
    container.command.extend(["sh", "-c", script])
    container.volume_mounts.add(name="data", mount_path="/data")
    container.volume_mounts.add(name="out", mount_path="/out")
    return pod


def deployment(name: str, template: pod_pb2.Pod) -> object_pb2.Object:
    deploy = deployment_pb2.Deployment()
    deploy.metadata.name, deploy.metadata.namespace = name, "default"
    deploy.spec.replicas = 1
    deploy.spec.selector.match_labels["app"] = name
    deploy.spec.strategy.type = "Recreate"  # one writer at a time, as a ReadWriteOnce claim wants
    pod_template = deploy.spec.template.pod
    pod_template.metadata.labels["app"] = name
    pod_template.spec.CopyFrom(template.spec)
    return object_pb2.Object(deployment=deploy)


async def lines(path: Path, count: int, timeout: float = TIMEOUT) -> list[str]:
    """The lines of ``path`` once it has ``count`` of them."""

    async def check() -> list[str]:
        found = path.read_text().splitlines() if path.exists() else []
        assert len(found) >= count, f"{path}: expected {count} lines, saw {found}"
        return found

    result: list[str] = await poll(check, timeout=timeout, interval=0.1)
    return result


async def running_pod(client: Client, app: str) -> pod_pb2.Pod:
    """The one running pod labelled app=``app`` (waits until there is exactly one)."""

    async def check() -> pod_pb2.Pod:
        pods = [p.pod for p in (await client.list_all("pod", "default", label_selector=f"app={app}"))[0]]
        running = [p for p in pods if p.status.phase == "Running" and not p.metadata.HasField("deletion_timestamp")]
        seen = [(p.metadata.name, p.status.phase) for p in pods]
        assert len(running) == 1, f"app {app}: expected one running pod, saw {seen}"
        return running[0]

    found: pod_pb2.Pod = await poll(check, timeout=TIMEOUT, interval=0.1)
    return found


async def test_a_local_claim_keeps_a_pods_data_across_re_creation_by_a_deployment_and_by_hand(
    oci: OciFactory, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    async with (
        volume_cluster("deployment", "garbage-collector") as c,
        real_node(c.client, oci, NODES[0], tmp_path, shared) as local_1,
        real_node(c.client, oci, NODES[1], tmp_path, shared) as local_2,
    ):
        local = dict(zip(NODES, (local_1, local_2), strict=True))
        await c.client.create(make_claim("data", "64Mi", storage.LOCAL_CLASS))
        await c.client.create(deployment("writer", claim_pod("writer", "data", APPEND)))
        first = await running_pod(c.client, "writer")
        bound = (await c.client.get("pvc", "data")).persistent_volume_claim
        assert bound.status.phase == storage.CLAIM_BOUND
        node = first.spec.node_name
        assert bound.metadata.annotations[storage.SELECTED_NODE_ANNOTATION] == node
        starts = local[node] / bound.spec.volume_name / "starts"
        assert len(await lines(starts, 1)) == 1

        await c.client.delete("pod", first.metadata.name)  # the Deployment makes another
        await eventually(c.client, "pod", first.metadata.name, lambda p: p is None, timeout=TIMEOUT)
        second = await running_pod(c.client, "writer")
        assert second.metadata.name != first.metadata.name
        assert second.spec.node_name == node, "the scheduler keeps the pod on its local volume's node"
        assert len(await lines(starts, 2)) == 2

        await c.client.delete("deployment", "writer")
        await eventually(c.client, "pod", second.metadata.name, lambda p: p is None, timeout=TIMEOUT)
        await c.client.create(object_pb2.Object(pod=claim_pod("solo", "data", APPEND)))
        solo = await running_pod(c.client, "solo")
        assert solo.spec.node_name == node
        assert len(await lines(starts, 3)) == 3

        await c.client.delete("pvc", "data")  # in use: waits for the pod (atoll.dev/pvc-protection)
        held = (await c.client.get("pvc", "data")).persistent_volume_claim
        assert held.metadata.HasField("deletion_timestamp")
        assert storage.CLAIM_PROTECTION_FINALIZER in held.metadata.finalizers
        await c.client.delete("pod", "solo")
        await eventually(c.client, "pvc", "data", lambda p: p is None, timeout=TIMEOUT)


RWX_SCRIPT = """
echo {name} > /data/{name}
until [ -f /data/{other} ]; do sleep 0.1; done
cat /data/{other} > /out/saw
exec sleep 3600
"""
READ_ONLY_SCRIPT = """
until [ -f /data/a ]; do sleep 0.1; done
touch /data/reader 2>/dev/null; echo $? > /out/write
cat /data/a > /out/saw
exec sleep 3600
"""


async def test_a_shared_claim_is_used_by_two_pods_on_two_nodes_at_once(oci: OciFactory, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    async with (
        volume_cluster() as c,
        real_node(c.client, oci, NODES[0], tmp_path, shared),
        real_node(c.client, oci, NODES[1], tmp_path, shared),
    ):
        await c.client.create(make_claim("both", "64Mi", storage.SHARED_CLASS, (storage.READ_WRITE_MANY,)))
        pods: dict[str, Any] = {}
        for name, other, node in (("a", "b", NODES[0]), ("b", "a", NODES[1])):
            script = RWX_SCRIPT.format(name=name, other=other)
            pods[name] = await c.client.create(object_pb2.Object(pod=claim_pod(name, "both", script, node=node)))
        reader = claim_pod("reader", "both", READ_ONLY_SCRIPT, read_only=True)
        pods["reader"] = await c.client.create(object_pb2.Object(pod=reader))
        for name in pods:
            await eventually(c.client, "pod", name, lambda p: p is not None and p.status.phase == "Running",
                             timeout=TIMEOUT)
        volume = (await c.client.get("pvc", "both")).persistent_volume_claim.spec.volume_name
        assert {p.name for p in (shared / volume).iterdir()} == {"a", "b"}

        def out(name: str, node: str) -> Path:
            placed = pods[name].pod.spec.node_name or node
            return tmp_path / placed / "pods" / pods[name].pod.metadata.uid / "out"

        reader_node = (await c.client.get("pod", "reader")).pod.spec.node_name
        assert await lines(out("a", NODES[0]) / "saw", 1) == ["b"]
        assert await lines(out("b", NODES[1]) / "saw", 1) == ["a"]
        assert await lines(out("reader", reader_node) / "saw", 1) == ["a"]
        assert (await lines(out("reader", reader_node) / "write", 1)) != ["0"], "a readOnly claim refuses writes"

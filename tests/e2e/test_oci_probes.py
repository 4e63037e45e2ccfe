"""Probes of real containers (runc) through the node agent: an exec readiness probe runs inside
the container (``runc exec``), an HTTP liveness probe GETs busybox httpd on the pod's address
(host network: the node's address) and a failing one restarts the container."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from agent.config import AgentConfig
from agent.registration import NodeProfile
from agent.run import start_node
from atoll import kinds
from atoll.clock import SystemClock
from atoll.v1 import probe_pb2
from tests.e2e.conftest import BUSYBOX_IMAGE, OciFactory
from tests.integration.agent_harness import bound_pod, cluster, eventually

NODE = NodeProfile(name="real-1", cpu="2", memory="8Gi", address="127.0.0.1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def web_pod(port: int) -> Any:
    """busybox httpd serving /healthz on the host network; /tmp/ready appears after 2 s and
    /healthz disappears after 6 s (then the liveness probe fails, and the container is killed after
    the probe's 1 s grace period, not the pod's 30 s)."""
    obj = bound_pod("web", NODE.name, host_network=True)
    main = obj.pod.spec.containers[0]
    main.image = BUSYBOX_IMAGE
    main.command.extend(["sh", "-c", "mkdir -p /www; echo ok > /www/healthz; "
                         "(sleep 2; touch /tmp/ready; sleep 4; rm /www/healthz) & "
                         f"exec httpd -f -p 127.0.0.1:{port} -h /www"])
    main.ports.add(name="http", container_port=port)
    main.readiness_probe.CopyFrom(probe_pb2.Probe(
        exec=probe_pb2.ExecAction(command=["cat", "/tmp/ready"]), period_seconds=1, failure_threshold=1,
        timeout_seconds=5))
    main.liveness_probe.CopyFrom(probe_pb2.Probe(
        http_get=probe_pb2.HTTPGetAction(path="/healthz", port="http"), period_seconds=1, failure_threshold=2,
        timeout_seconds=5, termination_grace_period_seconds=1))  # httpd as pid 1 ignores SIGTERM
    return obj


def condition(pod: Any, kind: str) -> str:
    return {c.type: c.status for c in pod.status.conditions}.get(kind, "")


async def test_exec_readiness_and_http_liveness_on_a_real_container(oci: OciFactory) -> None:
    async with cluster() as c:
        running = await start_node(c.client, NODE, [oci()], clock=SystemClock(), config=AgentConfig())
        try:
            await c.client.create(web_pod(free_port()))
            early = await eventually(c.client, "pod", "web", lambda p: p is not None and p.status.phase == "Running",
                                     timeout=20)
            assert condition(early, "Ready") == "False", "not ready before /tmp/ready exists"
            await eventually(c.client, "pod", "web", lambda p: condition(p, "Ready") == "True", timeout=20)
            restarted = await eventually(c.client, "pod", "web",
                                         lambda p: p.status.container_statuses[0].restart_count >= 1, timeout=30)
            last = restarted.status.container_statuses[0].last_state.terminated
            assert last.message == "liveness probe failed: HTTP probe failed with statuscode: 404"
            await running.events.flush()
            items, _ = await c.client.list_all("events", "default", field_selector="involvedObject.name=web")
            reasons = {kinds.unwrap(item).reason for item in items}
            assert {"Unhealthy", "Killing", "Started"} <= reasons
        finally:
            await running.close()


async def test_a_container_in_its_own_network_namespace_is_probed_inside_it(oci: OciFactory) -> None:
    """No pod network: the node cannot reach the container by address, so TCP and HTTP probes
    connect to 127.0.0.1 inside the container's network namespace."""
    obj = bound_pod("isolated", NODE.name)
    main = obj.pod.spec.containers[0]
    main.image = BUSYBOX_IMAGE
    main.command.extend(["sh", "-c", "mkdir -p /www; echo ok > /www/healthz; exec httpd -f -p 127.0.0.1:8080 -h /www"])
    main.readiness_probe.CopyFrom(probe_pb2.Probe(
        tcp_socket=probe_pb2.TCPSocketAction(port="8080"), period_seconds=1, failure_threshold=1, timeout_seconds=5))
    main.liveness_probe.CopyFrom(probe_pb2.Probe(  # tolerant: a loaded machine must not fail it
        http_get=probe_pb2.HTTPGetAction(path="/healthz", port="8080"), period_seconds=1, failure_threshold=3,
        timeout_seconds=5))
    async with cluster() as c:
        running = await start_node(c.client, NODE, [oci()], clock=SystemClock(), config=AgentConfig())
        try:
            await c.client.create(obj)
            await eventually(c.client, "pod", "isolated", lambda p: p is not None and condition(p, "Ready") == "True",
                             timeout=40)
            await asyncio.sleep(3)  # three liveness periods
            after = (await c.client.get("pod", "isolated")).pod
            assert after.status.container_statuses[0].restart_count == 0
            assert condition(after, "Ready") == "True"
        finally:
            await running.close()

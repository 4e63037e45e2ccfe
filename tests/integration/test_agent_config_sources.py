"""ConfigMap and Secret references on a simulated node: resolved as on a real one (same waiting
reason, same messages) with nothing written to disk."""

from __future__ import annotations

from typing import Any

from agent.drivers.sim.linux import SimLinuxDriver
from agent.registration import NodeProfile
from atoll.clock import ManualClock
from atoll.v1 import config_pb2
from tests.integration.agent_harness import cluster, eventually, node
from tests.support.config_objects import make_config_map, make_pod_using, make_secret

PROFILE = NodeProfile(name="n1", cpu="4", memory="8Gi", address="10.0.0.7")


def _waiting(reason: str) -> Any:
    return lambda pod: (pod is not None and pod.status.container_statuses
                        and pod.status.container_statuses[0].state.waiting.reason == reason)


def _bound(obj: Any) -> Any:
    obj.pod.spec.node_name = PROFILE.name
    return obj


async def test_a_missing_config_map_keeps_the_container_waiting_until_it_exists() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        await c.client.create(make_secret("db"))
        await c.client.create(_bound(make_pod_using("web")))
        pod = await eventually(c.client, "pod", "web", _waiting("CreateContainerConfigError"))
        status = pod.status.container_statuses[0]
        assert status.state.waiting.message == "volume config: configmap 'web-config' not found"
        assert status.restart_count == 0
        await c.client.create(make_config_map("web-config"))
        clock.advance(5)
        await eventually(c.client, "pod", "web", lambda p: p.status.phase == "Running")


async def test_a_missing_secret_key_names_it_and_optional_references_are_skipped() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        await c.client.create(make_config_map("web-config"))
        await c.client.create(make_secret("db", user=b"admin"))
        await c.client.create(_bound(make_pod_using("web")))
        pod = await eventually(c.client, "pod", "web", _waiting("CreateContainerConfigError"))
        assert pod.status.container_statuses[0].state.waiting.message == (
            "env PASSWORD: secret 'db' has no key 'password'"
        )
        relaxed = _bound(make_pod_using("relaxed", secret="absent"))
        relaxed.pod.spec.containers[0].env[0].value_from.secret_key_ref.optional = True
        relaxed.pod.spec.containers[0].env_from.add(secret_ref=config_pb2.ObjectRefSelector(name="gone", optional=True))
        await c.client.create(relaxed)
        await eventually(c.client, "pod", "relaxed", lambda p: p.status.phase == "Running")

"""Placement by what a real registry says an image offers (docker-registry on loopback, images
pushed by the test): multi-arch indexes, arm64-only images, Windows indexes with os.version per
isolation mode, unknown references, and a registry outage after resolution."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import pytest

from atoll import kinds
from atoll.image_registry import RegistryConfig
from controller.store.memory import MemoryStore
from scheduler.image_resolution import ResolutionConfig
from scheduler.main import run_scheduler
from tests.integration.test_scheduler_placement import eventually, node_of
from tests.support.cluster import Cluster, running_cluster
from tests.support.registry import LocalRegistry, local_registry
from tests.support.system import require_binary
from tests.unit.scheduler.builders import make_node, make_pod

pytestmark = pytest.mark.timeout(90)
WINDOWS_HOSTS = {"win-2016": "10.0.14393.6897", "win-2019": "10.0.17763.5458", "win-2022": "10.0.20348.2113"}


@pytest.fixture
def registry() -> Iterator[LocalRegistry]:
    require_binary("docker-registry", "docker-registry")
    with local_registry() as running:
        running.push_index("multi/app", "1", [{"os": "linux", "architecture": "amd64"},
                                              {"os": "linux", "architecture": "arm64", "variant": "v8"}])
        running.push_index("armonly/app", "1", [{"os": "linux", "architecture": "arm64", "variant": "v8"}])
        running.push_index("win/iis", "ltsc", [
            {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.5458"},
            {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2113"},
        ])
        running.push_image("win/legacy", "2019", {"os": "windows", "architecture": "amd64",
                                                   "os.version": "10.0.17763.5458"})
        yield running


@pytest.fixture
async def cluster(registry: LocalRegistry) -> AsyncIterator[Cluster]:
    async with running_cluster(MemoryStore()) as running:
        stop = asyncio.Event()
        images = ResolutionConfig(frozenset({registry.host}), RegistryConfig(insecure=frozenset({registry.host})),
                                  retry_seconds=0.5)
        task = asyncio.create_task(run_scheduler(running.api.address, stop=stop, images=images))
        client = running.client
        for node in (
            make_node("amd-1"), make_node("amd-2"), make_node("arm-1").arch("arm64"),
            *(make_node(name).windows(build).isolation("process", "hyperv") for name, build in WINDOWS_HOSTS.items()),
        ):
            await client.create(node.build())
        try:
            yield running
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def condition_message(cluster: Cluster, name: str) -> Any:
    pod = kinds.unwrap(await cluster.client.get("Pod", name))
    return pod.status.conditions[0].message if pod.status.conditions else None


async def test_architecture_and_windows_builds_from_the_registry(cluster: Cluster, registry: LocalRegistry) -> None:
    client, host = cluster.client, registry.host
    expected = {
        "multi": (make_pod("multi").image(f"{host}/multi/app:1"), {"amd-1", "amd-2", "arm-1"}),
        "arm": (make_pod("arm").image(f"{host}/armonly/app:1"), {"arm-1"}),
        "iis-process": (make_pod("iis-process").windows("process", image=f"{host}/win/iis:ltsc"),
                        {"win-2019", "win-2022"}),
        "legacy-hyperv": (make_pod("legacy-hyperv").windows("hyperv", image=f"{host}/win/legacy:2019"),
                          {"win-2019", "win-2022"}),
    }
    for pod, _ in expected.values():
        await client.create(pod.build())
    for name, (_, allowed) in expected.items():
        assert await eventually(partial(node_of, client, "Pod", name)) in allowed, name


async def test_refusals_explain_what_the_image_offers(cluster: Cluster, registry: LocalRegistry) -> None:
    client, host = cluster.client, registry.host
    await client.create(make_pod("legacy").windows("process", image=f"{host}/win/legacy:2019")
                        .node_selector(pool="none-such").build())
    await client.create(make_pod("arm").image(f"{host}/armonly/app:1").node_selector(pool="none-such").build())
    await client.create(make_pod("gone").image(f"{host}/nothing/here:1").build())
    message = await eventually(partial(condition_message, cluster, "legacy"))
    assert "1 node(s) run Windows build 14393, image" in message
    assert f"{host}/win/legacy:2019 offers only 10.0.17763.5458 (process isolation)" in message
    message = await eventually(partial(condition_message, cluster, "arm"))
    assert f"2 node(s) had architecture amd64 (image {host}/armonly/app:1 offers arm64/v8)" in message
    message = await eventually(partial(condition_message, cluster, "gone"))
    unknown = f"image {host}/nothing/here:1: {host}/nothing/here: manifest 1: manifest unknown"
    assert message == f"0/6 nodes are available: 6 {unknown}."
    assert not await node_of(client, "Pod", "gone")


async def test_a_registry_outage_leaves_resolved_references_working(cluster: Cluster, registry: LocalRegistry) -> None:
    client, host = cluster.client, registry.host
    await client.create(make_pod("first").image(f"{host}/armonly/app:1").build())
    assert await eventually(partial(node_of, client, "Pod", "first")) == "arm-1"
    registry.process.kill()
    registry.process.wait()
    await client.create(make_pod("second").image(f"{host}/armonly/app:1").build())
    assert await eventually(partial(node_of, client, "Pod", "second")) == "arm-1"
    await client.create(make_pod("new").image(f"{host}/multi/app:2").build())
    message = await eventually(partial(condition_message, cluster, "new"))
    assert f"image {host}/multi/app:2: cannot reach http://{host}/v2/multi/app/manifests/2" in message

"""The garbage collector: background, foreground and orphan cascades, dangling owner references."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from atoll import kinds
from atoll.clock import ManualClock
from atoll.v1 import deployment_pb2, object_pb2, pod_pb2, virtualmachine_pb2
from controller.controllers.deployment.reconciler import DeploymentController
from controller.controllers.garbage_collector.reconciler import GarbageCollector
from controller.runtime.reconciler_runner import drain
from tests.support.fake_api import FakeApi
from tests.support.objects import make_pod
from tests.unit.controllers.builders import make_deployment, node


@dataclass
class Harness:
    api: FakeApi
    gc: GarbageCollector
    deployments: DeploymentController

    async def settle(self) -> None:
        for _ in range(10):
            if not await drain(self.deployments) + await drain(self.gc):
                return

    async def names(self, kind: str) -> set[str]:
        items, _ = await self.api.list_all(kind)
        return {kinds.unwrap(item).metadata.name for item in items}

    async def pods(self) -> list[Any]:
        items, _ = await self.api.list_all("Pod")
        return [item.pod for item in items]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = ManualClock()
    api = await FakeApi(clock).setup()
    await api.create(node("n1"))
    gc = GarbageCollector(
        api,
        {
            "Deployment": api.informer(deployment_pb2.Deployment),
            "Pod": api.informer(pod_pb2.Pod),
            "VirtualMachine": api.informer(virtualmachine_pb2.VirtualMachine),
        },
        clock,
    )
    replicas = {"Pod": api.informer(pod_pb2.Pod), "VirtualMachine": api.informer(virtualmachine_pb2.VirtualMachine)}
    deployments = DeploymentController(api, api.informer(deployment_pb2.Deployment), replicas, clock)
    await api.sync_informers()
    harness = Harness(api, gc, deployments)
    await api.create(make_deployment(replicas=3))
    await harness.settle()
    assert len(await harness.pods()) == 3
    yield harness
    await gc.queue.shutdown()
    await deployments.queue.shutdown()


async def test_background_deletion_collects_the_dependents_after_the_owner_is_gone(harness: Harness) -> None:
    response = await harness.api.delete("Deployment", "web")
    assert response.deleted
    await harness.settle()
    assert await harness.pods() == []


async def test_foreground_deletion_deletes_dependents_first_then_the_owner(harness: Harness) -> None:
    response = await harness.api.delete("Deployment", "web", propagation_policy="foreground")
    assert not response.deleted
    harness.api.hold_events("Pod")  # the collector has not yet seen the dependents go
    await drain(harness.gc)
    assert await harness.pods() == []
    assert "web" in await harness.names("Deployment")
    await harness.api.release_events()
    await harness.settle()
    assert await harness.names("Deployment") == set()


async def test_orphan_deletion_keeps_the_dependents_without_their_owner_reference(harness: Harness) -> None:
    await harness.api.delete("Deployment", "web", propagation_policy="orphan")
    await harness.settle()
    assert await harness.names("Deployment") == set()
    pods = await harness.pods()
    assert len(pods) == 3
    assert all(not pod.metadata.owner_references for pod in pods)


async def test_a_dangling_owner_reference_gets_its_object_collected(harness: Harness) -> None:
    pod: object_pb2.Object = make_pod("stray")
    pod.pod.metadata.owner_references.add(kind="Deployment", name="gone", uid="no-such-uid", controller=True)
    await harness.api.create(pod)
    await harness.settle()
    assert "stray" not in await harness.names("Pod")


async def test_an_owner_recreated_under_the_same_name_does_not_adopt_old_dependents(harness: Harness) -> None:
    pod = make_pod("stale")
    pod.pod.metadata.owner_references.add(kind="Deployment", name="web", uid="an-older-web", controller=True)
    await harness.api.create(pod)
    await harness.settle()
    assert "stale" not in await harness.names("Pod")
    assert len(await harness.pods()) == 3


async def test_only_missing_owners_are_removed_when_another_owner_remains(harness: Harness) -> None:
    web = (await harness.api.get("Deployment", "web")).deployment
    pod = make_pod("shared")
    pod.pod.metadata.owner_references.add(kind="Deployment", name="web", uid=web.metadata.uid)
    pod.pod.metadata.owner_references.add(kind="Deployment", name="gone", uid="no-such-uid")
    await harness.api.create(pod)
    await harness.settle()
    kept = (await harness.api.get("Pod", "shared")).pod
    assert [ref.name for ref in kept.metadata.owner_references] == ["web"]

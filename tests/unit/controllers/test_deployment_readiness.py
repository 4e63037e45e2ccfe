"""Deployment availability from readiness (the Ready condition the agent sets from readiness
probes) and minReadySeconds; rolling updates stall instead of killing old Ready replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from atoll.annotations import TEMPLATE_HASH_LABEL
from atoll.clock import ManualClock, to_timestamp
from atoll.revisions import template_hash
from atoll.v1 import deployment_pb2, meta_pb2, pod_pb2, virtualmachine_pb2
from controller.controllers.deployment.reconciler import DeploymentController
from tests.support.fake_api import FakeApi
from tests.unit.controllers.builders import make_deployment, node
from tests.unit.controllers.test_deployment import Harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = ManualClock()
    api = await FakeApi(clock).setup()
    await api.create(node("n1"))
    replicas = {"Pod": api.informer(pod_pb2.Pod), "VirtualMachine": api.informer(virtualmachine_pb2.VirtualMachine)}
    controller = DeploymentController(api, api.informer(deployment_pb2.Deployment), replicas, clock)
    await api.sync_informers()
    yield Harness(api, clock, controller)
    await controller.queue.shutdown()


async def run(harness: Harness, *, ready: bool, only: str = "") -> None:
    """Every replica (of template hash ``only``) Running, with Ready True or False as of now."""
    for obj in harness.replicas():
        if only and obj.metadata.labels[TEMPLATE_HASH_LABEL] != only:
            continue
        wanted = "True" if ready else "False"
        if obj.status.phase == "Running" and [(c.type, c.status) for c in obj.status.conditions] == [("Ready", wanted)]:
            continue
        obj.status.phase = "Running"
        condition = meta_pb2.Condition(type="Ready", status=wanted)
        condition.last_transition_time.CopyFrom(to_timestamp(harness.clock.now()))
        del obj.status.conditions[:]
        obj.status.conditions.append(condition)
        await harness.api.update_status(obj)


async def test_replicas_that_never_become_ready_are_never_available(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=3))
    await harness.reconcile()
    await run(harness, ready=False)
    await harness.reconcile()
    status = harness.deployment().status
    assert (status.replicas, status.ready_replicas, status.available_replicas, status.unavailable_replicas) == (
        3, 0, 0, 3)
    assert {c.type: c.status for c in status.conditions}["Available"] == "False"


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"),
    [(4, "0", "1"), (4, "1", "0"), (10, "25%", "25%")],
    ids=["no surge, one unavailable", "one surge, none unavailable", "default percentages"],
)
async def test_a_rollout_whose_new_replicas_fail_readiness_stalls_and_keeps_old_ready_ones(
    harness: Harness, replicas: int, surge: str, unavailable: str
) -> None:
    await harness.api.create(make_deployment(replicas=replicas, max_surge=surge, max_unavailable=unavailable))
    await harness.reconcile()
    await run(harness, ready=True)
    await harness.reconcile()
    await harness.edit(lambda d: setattr(d.spec.template.pod.spec.containers[0], "image", "nginx:broken"))
    new_hash = template_hash(harness.deployment().spec.template)
    min_available = replicas - (int(unavailable) if unavailable.isdigit() else replicas * 25 // 100)
    for _ in range(3 * replicas):
        await harness.reconcile()
        await run(harness, ready=False, only=new_hash)
    old_ready = [p for p in harness.replicas() if p.metadata.labels[TEMPLATE_HASH_LABEL] != new_hash]
    assert len(old_ready) == min_available, "the rollout stops at maxUnavailable and kills no more old replicas"
    status = harness.deployment().status
    assert status.available_replicas == min_available
    # Once the new replicas pass readiness, the rollout completes.
    for _ in range(3 * replicas):
        await run(harness, ready=True, only=new_hash)
        await harness.reconcile()
    pods = harness.replicas()
    assert len(pods) == replicas and all(p.metadata.labels[TEMPLATE_HASH_LABEL] == new_hash for p in pods)


async def test_min_ready_seconds_delays_availability_and_the_controller_comes_back_for_it(harness: Harness) -> None:
    deployment = make_deployment(replicas=2)
    deployment.spec.min_ready_seconds = 30
    await harness.api.create(deployment)
    await harness.reconcile()
    await run(harness, ready=True)
    await harness.reconcile()
    status = harness.deployment().status
    assert (status.ready_replicas, status.available_replicas) == (2, 0)
    await harness.clock.advance_and_settle(29)
    await harness.reconcile()
    assert harness.deployment().status.available_replicas == 0
    await harness.clock.advance_and_settle(1)
    assert await harness.reconcile() >= 1, "requeued for the moment the replicas become available"
    status = harness.deployment().status
    assert status.available_replicas == 2
    assert {c.type: c.reason for c in status.conditions}["Progressing"] == "NewRevisionAvailable"

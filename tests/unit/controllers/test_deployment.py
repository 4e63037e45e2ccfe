"""The Deployment controller against the in-process fake API, with a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from atoll.annotations import TEMPLATE_HASH_LABEL
from atoll.client import ApiError
from atoll.clock import ManualClock, to_timestamp
from atoll.revisions import find_revision, history, template_hash
from atoll.v1 import deployment_pb2, meta_pb2, pod_pb2, virtualmachine_pb2
from controller.controllers.deployment.reconciler import DeploymentController
from controller.runtime.reconciler_runner import drain
from tests.support.fake_api import FakeApi
from tests.unit.controllers.builders import make_deployment, node


@dataclass
class Harness:
    api: FakeApi
    clock: ManualClock
    controller: DeploymentController

    async def reconcile(self) -> int:
        return await drain(self.controller)

    def deployment(self, name: str = "web") -> deployment_pb2.Deployment:
        found = self.controller.deployments.get(f"default/{name}")
        assert found is not None
        return found  # type: ignore[no-any-return]

    def replicas(self, kind: str = "Pod") -> list[Any]:
        return sorted(self.controller.replicas[kind].list(), key=lambda obj: obj.metadata.name)

    async def make_ready(self, kind: str = "Pod", *, only: str = "") -> None:
        """Bind every unbound replica to node n1 and mark it Running (the scheduler + agent)."""
        for obj in self.replicas(kind):
            if obj.status.phase == "Running" or (only and obj.metadata.labels[TEMPLATE_HASH_LABEL] != only):
                continue
            obj.status.phase = "Running"
            await self.api.update_status(obj)

    async def edit(self, change: Any, name: str = "web") -> None:
        deployment = self.deployment(name)
        change(deployment)
        await self.api.update(deployment)


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


async def test_a_new_deployment_creates_its_replicas_owned_and_labelled(harness: Harness) -> None:
    created = (await harness.api.create(make_deployment(replicas=3))).deployment
    await harness.reconcile()
    pods = harness.replicas()
    assert len(pods) == 3
    digest = template_hash(created.spec.template)
    for pod in pods:
        assert pod.metadata.labels[TEMPLATE_HASH_LABEL] == digest
        assert pod.metadata.labels["app"] == "web"
        (owner,) = pod.metadata.owner_references
        assert (owner.kind, owner.name, owner.uid) == ("Deployment", "web", created.metadata.uid)
        assert owner.controller and owner.block_owner_deletion
        assert pod.metadata.name.startswith(f"web-{digest}-")
    status = harness.deployment().status
    assert (status.replicas, status.updated_replicas, status.ready_replicas) == (3, 3, 0)
    assert harness.deployment().metadata.annotations["deployment.atoll.dev/revision"] == "1"


async def test_status_counts_ready_replicas_and_reports_the_rollout_complete(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=2))
    await harness.reconcile()
    await harness.make_ready()
    await harness.reconcile()
    status = harness.deployment().status
    assert (status.ready_replicas, status.available_replicas, status.unavailable_replicas) == (2, 2, 0)
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {
        "Progressing": ("True", "NewRevisionAvailable"),
        "Available": ("True", "MinimumReplicasAvailable"),
    }
    assert status.observed_generation == harness.deployment().metadata.generation


@pytest.mark.parametrize(
    ("start", "target"),
    [(3, 5), (5, 2), (4, 0), (0, 3)],
    ids=[
        "scaling up adds replicas",
        "scaling down removes replicas",
        "scaling to zero removes all",
        "scaling from zero creates them",
    ],
)
async def test_scaling_converges_to_the_replica_count(harness: Harness, start: int, target: int) -> None:
    await harness.api.create(make_deployment(replicas=start))
    await harness.reconcile()
    await harness.make_ready()
    await harness.edit(lambda d: setattr(d.spec, "replicas", target))
    await harness.reconcile()
    await harness.make_ready()
    await harness.reconcile()
    assert len(harness.replicas()) == target
    assert harness.deployment().status.replicas == target


async def test_scaling_down_deletes_unready_replicas_before_ready_ones(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=2))
    await harness.reconcile()
    await harness.make_ready()
    ready = {pod.metadata.name for pod in harness.replicas()}
    await harness.edit(lambda d: setattr(d.spec, "replicas", 4))
    await harness.reconcile()
    await harness.edit(lambda d: setattr(d.spec, "replicas", 2))
    await harness.reconcile()
    assert {pod.metadata.name for pod in harness.replicas()} == ready


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"),
    [(5, "1", "0"), (4, "0", "1"), (10, "25%", "25%"), (3, "100%", "0"), (6, "2", "2")],
    ids=[
        "surge one never drops below the replica count",
        "no surge replaces one at a time",
        "default percentages",
        "full surge",
        "two and two",
    ],
)
async def test_a_rolling_update_respects_max_surge_and_max_unavailable(
    harness: Harness, replicas: int, surge: str, unavailable: str
) -> None:
    await harness.api.create(make_deployment(replicas=replicas, max_surge=surge, max_unavailable=unavailable))
    await harness.reconcile()
    await harness.make_ready()
    await harness.reconcile()
    await harness.edit(lambda d: setattr(d.spec.template.pod.spec.containers[0], "image", "nginx:2"))
    new_hash = template_hash(harness.deployment().spec.template)
    max_surge = -(-int(surge.rstrip("%")) * replicas // 100) if surge.endswith("%") else int(surge)
    max_unavailable = int(unavailable.rstrip("%")) * replicas // 100 if unavailable.endswith("%") else int(unavailable)
    for _ in range(4 * replicas + 4):
        await harness.reconcile()
        pods = harness.replicas()
        running = sum(1 for pod in pods if pod.status.phase == "Running")
        assert len(pods) <= replicas + max_surge
        assert running >= replicas - max_unavailable
        if all(pod.metadata.labels[TEMPLATE_HASH_LABEL] == new_hash for pod in pods) and len(pods) == replicas:
            break
        await harness.make_ready(only=new_hash)
    else:
        pytest.fail("the rollout did not finish")
    await harness.make_ready()
    await harness.reconcile()
    assert harness.deployment().status.updated_replicas == replicas


async def test_recreate_deletes_every_old_replica_before_creating_new_ones(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=3, strategy="Recreate"))
    await harness.reconcile()
    await harness.make_ready()
    await harness.edit(lambda d: setattr(d.spec.template.pod.spec.containers[0], "image", "nginx:2"))
    await drain(harness.controller, limit=1)
    assert harness.replicas() == []
    await harness.reconcile()
    assert len(harness.replicas()) == 3


async def test_revisions_are_recorded_pruned_and_reused_on_rollback(harness: Harness) -> None:
    deployment = make_deployment(replicas=1)
    deployment.spec.revision_history_limit = 1
    await harness.api.create(deployment)
    await harness.reconcile()
    for image in ("nginx:2", "nginx:3"):
        await harness.edit(lambda d, image=image: setattr(d.spec.template.pod.spec.containers[0], "image", image))
        await harness.reconcile()
    assert [r.number for r in history(harness.deployment())] == [2, 3]
    previous = find_revision(harness.deployment(), 0)
    assert previous is not None and previous.number == 2
    await harness.edit(lambda d: d.spec.template.CopyFrom(previous.template))
    await harness.reconcile()
    revisions = history(harness.deployment())
    assert [r.number for r in revisions] == [3, 4]
    assert revisions[-1].template.pod.spec.containers[0].image == "nginx:2"
    assert harness.deployment().metadata.annotations["deployment.atoll.dev/revision"] == "4"


async def test_a_lagging_cache_does_not_create_replicas_twice(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=3))
    await harness.reconcile()  # records the first revision
    for pod in harness.replicas():
        await harness.api.delete("Pod", pod.metadata.name)
    harness.api.hold_events("Pod")
    await harness.controller.reconcile("default/web")
    await harness.controller.reconcile("default/web")
    assert harness.api.count("create", "Pod") == 6
    await harness.api.release_events()
    await harness.reconcile()
    assert len(harness.replicas()) == 3


async def test_a_failed_create_is_retried_without_leaking_expectations(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=2))
    harness.api.fail_next["create Pod"] = ApiError(grpc.StatusCode.UNAVAILABLE, "server restarting")
    with pytest.raises(ApiError):
        await harness.controller.reconcile("default/web")
    await harness.controller.reconcile("default/web")
    assert len(harness.replicas()) == 2


async def test_a_failed_pod_is_replaced(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=2))
    await harness.reconcile()
    victim = harness.replicas()[0]
    victim.status.phase = "Failed"
    await harness.api.update_status(victim)
    await harness.reconcile()
    names = {pod.metadata.name for pod in harness.replicas()}
    assert victim.metadata.name not in names and len(names) == 2


async def test_a_stuck_rollout_reports_progress_deadline_exceeded(harness: Harness) -> None:
    deployment = make_deployment(replicas=1)
    deployment.spec.progress_deadline_seconds = 30
    await harness.api.create(deployment)
    await harness.reconcile()
    await harness.clock.advance_and_settle(31)
    await harness.reconcile()
    progressing = {c.type: c for c in harness.deployment().status.conditions}["Progressing"]
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")


async def test_a_virtual_machine_template_makes_virtual_machines_ready_when_running(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=2, vm=True))
    await harness.reconcile()
    assert len(harness.replicas("VirtualMachine")) == 2 and harness.replicas("Pod") == []
    await harness.make_ready("VirtualMachine")
    await harness.reconcile()
    assert harness.deployment().status.ready_replicas == 2


async def test_switching_the_template_from_pod_to_vm_rolls_over_to_vms(harness: Harness) -> None:
    await harness.api.create(make_deployment(replicas=2))
    await harness.reconcile()
    await harness.make_ready()
    vm_template = make_deployment(vm=True).spec.template
    await harness.edit(lambda d: d.spec.template.CopyFrom(vm_template))
    for _ in range(10):
        await harness.reconcile()
        await harness.make_ready("VirtualMachine")
    assert harness.replicas("Pod") == [] and len(harness.replicas("VirtualMachine")) == 2


# Availability from readiness (the Ready condition the agent sets from readiness probes) and
# minReadySeconds; rolling updates stall instead of killing old Ready replicas.
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

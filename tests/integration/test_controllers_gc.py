"""Cascading deletion end to end: background, foreground and orphan, as `atoll delete --cascade`."""

from __future__ import annotations

import pytest

from tests.support.controller_cluster import ControlledCluster, controlled_cluster
from tests.support.eventually import eventually
from tests.unit.controllers.builders import make_deployment


async def pod_names(env: ControlledCluster) -> set[str]:
    items, _ = await env.client.list_all("Pod")
    return {item.pod.metadata.name for item in items}


async def deployments(env: ControlledCluster) -> list[str]:
    items, _ = await env.client.list_all("Deployment")
    return [item.deployment.metadata.name for item in items]


@pytest.mark.parametrize(
    ("policy", "pods_survive"),
    [("background", False), ("foreground", False), ("orphan", True)],
    ids=[
        "background deletes the pods after the deployment",
        "foreground deletes the pods first",
        "orphan keeps the pods",
    ],
)
async def test_deleting_a_deployment_cascades_by_policy(policy: str, pods_survive: bool) -> None:
    async with controlled_cluster() as env:
        await env.client.create(make_deployment(replicas=3))

        async def three_pods() -> bool:
            assert len(await pod_names(env)) == 3
            return True

        await eventually(three_pods)
        before = await pod_names(env)
        response = await env.client.delete("Deployment", "web", propagation_policy=policy)
        assert response.deleted == (policy == "background")

        async def converged() -> bool:
            assert await deployments(env) == []
            remaining = await pod_names(env)
            assert remaining == (before if pods_survive else set())
            return True

        await eventually(converged)
        if pods_survive:
            items, _ = await env.client.list_all("Pod")
            assert all(not item.pod.metadata.owner_references for item in items)

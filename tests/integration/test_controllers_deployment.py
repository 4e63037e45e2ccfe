"""Deployments end to end: in-process API server, the controllers, fake nodes; the CLI verbs."""

from __future__ import annotations

import argparse
import asyncio
import io
from functools import partial
from typing import Any

import pytest

from atoll.annotations import RESTARTED_AT_ANNOTATION, TEMPLATE_HASH_LABEL
from atoll.cli import rollout, scale
from atoll.cli.common import CliError, Streams
from atoll.cli.main import build_parser
from atoll.revisions import template_hash
from tests.support.controller_cluster import ControlledCluster, controlled_cluster
from tests.support.eventually import eventually
from tests.unit.controllers.builders import make_deployment


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def streams() -> Streams:
    return Streams(out=io.StringIO(), err=io.StringIO())


async def deployment(env: ControlledCluster, name: str = "web") -> Any:
    return (await env.client.get("Deployment", name)).deployment


def running_pods(env: ControlledCluster, name: str = "web") -> list[Any]:
    return [pod for pod in env.nodes.running("Pod") if pod.metadata.labels.get("app") == name]


async def rolled_out(env: ControlledCluster, replicas: int) -> bool:
    current = await deployment(env)
    status = current.status
    assert status.observed_generation == current.metadata.generation
    assert (status.replicas, status.updated_replicas, status.available_replicas) == (replicas,) * 3
    assert len(running_pods(env)) == replicas
    return True


async def test_scaling_a_deployment_up_and_down_with_atoll_scale() -> None:
    async with controlled_cluster() as env:
        await env.client.create(make_deployment(replicas=3))
        await eventually(lambda: rolled_out(env, 3))
        for target in (6, 1):
            out = streams()
            assert await scale.scale(env.client, parse("scale", "deploy/web", "--replicas", str(target)), out) == 0
            assert out.out.getvalue() == "deployment/web scaled\n"  # type: ignore[attr-defined]
            await eventually(partial(rolled_out, env, target))
        get_line = (await deployment(env)).status
        assert get_line.ready_replicas == 1


async def test_a_rolling_update_with_max_unavailable_zero_never_drops_below_the_replica_count() -> None:
    async with controlled_cluster() as env:
        await env.client.create(make_deployment(replicas=4, max_surge="1", max_unavailable="0"))
        await eventually(lambda: rolled_out(env, 4))
        current = await deployment(env)
        current.spec.template.pod.spec.containers[0].image = "nginx:2"
        await env.client.update(current)
        new_hash = template_hash((await deployment(env)).spec.template)
        lowest, highest = 4, 4
        out = streams()
        waiter = asyncio.create_task(rollout.status(env.client, parse("rollout", "status", "deploy/web"), out))
        while not waiter.done():
            running = len(running_pods(env))
            lowest, highest = min(lowest, running), max(highest, len(env.nodes.bound_to("Pod")))
            await asyncio.sleep(0.005)
        assert await waiter == 0
        assert lowest >= 4
        assert highest <= 5
        assert out.out.getvalue().splitlines()[-1] == 'deployment "web" successfully rolled out'  # type: ignore[attr-defined]
        await eventually(lambda: rolled_out(env, 4))
        assert {pod.metadata.labels[TEMPLATE_HASH_LABEL] for pod in running_pods(env)} == {new_hash}


async def test_rollout_undo_returns_to_the_previous_template_and_history_lists_it() -> None:
    async with controlled_cluster() as env:
        await env.client.create(make_deployment(replicas=2))
        await eventually(lambda: rolled_out(env, 2))
        current = await deployment(env)
        current.spec.template.pod.spec.containers[0].image = "nginx:2"
        await env.client.update(current)
        await eventually(lambda: rolled_out(env, 2))
        out = streams()
        assert await rollout.undo(env.client, parse("rollout", "undo", "deploy/web"), out) == 0
        assert out.out.getvalue() == "deployment/web rolled back to revision 1\n"  # type: ignore[attr-defined]

        async def back_on_nginx_1() -> bool:
            await rolled_out(env, 2)
            return {pod.spec.containers[0].image for pod in running_pods(env)} == {"nginx:1"}

        await eventually(back_on_nginx_1)
        listing = streams()
        assert await rollout.show_history(env.client, parse("rollout", "history", "deploy/web"), listing) == 0
        lines = listing.out.getvalue().splitlines()  # type: ignore[attr-defined]
        assert [line.split()[0] for line in lines[2:]] == ["2", "3"]
        assert "Pod nginx:1" in lines[-1]


async def test_rollout_restart_replaces_every_replica_and_is_refused_while_paused() -> None:
    async with controlled_cluster() as env:
        await env.client.create(make_deployment(replicas=2))
        await eventually(lambda: rolled_out(env, 2))
        before = {pod.metadata.uid for pod in running_pods(env)}
        out = Streams(out=io.StringIO(), err=io.StringIO(), now=lambda: 1_800_000_000.0)
        assert await rollout.restart(env.client, parse("rollout", "restart", "deploy/web"), out) == 0
        assert out.out.getvalue() == "deployment/web restarted\n"  # type: ignore[attr-defined]
        template = (await deployment(env)).spec.template.pod
        assert template.metadata.annotations[RESTARTED_AT_ANNOTATION] == "2027-01-15T08:00:00Z"

        async def replaced() -> bool:
            await rolled_out(env, 2)
            return not before & {pod.metadata.uid for pod in running_pods(env)}

        await eventually(replaced)
        paused = await deployment(env)
        paused.spec.paused = True
        await env.client.update(paused)
        with pytest.raises(CliError, match="deployment/web is paused"):
            await rollout.restart(env.client, parse("rollout", "restart", "deploy/web"), streams())

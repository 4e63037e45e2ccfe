"""``atoll-controller --metrics-listen``: every declared family is served; a lone manager (electing
by default) reports itself leader, nodes' readiness is exported, and reconciles are counted."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from controller.runtime import metrics
from controller.store.memory import MemoryStore
from tests.support.cluster import Cluster, running_cluster
from tests.support.eventually import eventually
from tests.support.metrics_scrape import Families, declared, free_port, scrape, value
from tests.support.objects import make_node


@pytest.fixture
async def controllers() -> AsyncIterator[tuple[Cluster, str]]:
    async with running_cluster(MemoryStore()) as cluster:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controller.main", "--server", cluster.api.address,
            "--metrics-listen", f"127.0.0.1:{port}", "--log-level", "WARNING", stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            yield cluster, f"http://127.0.0.1:{port}/metrics"
        finally:
            process.terminate()
            await process.wait()


async def test_leader_node_readiness_and_reconciles_are_exported(controllers: tuple[Cluster, str]) -> None:
    cluster, url = controllers
    await cluster.client.create(make_node("ready-node"))
    not_ready = make_node("sick-node")
    not_ready.node.status.conditions[0].status = "False"
    await cluster.client.create(not_ready)

    async def seen() -> Families:
        families = await asyncio.to_thread(scrape, url)
        assert value(families, "atoll_controller_node_ready", node="ready-node") == 1
        assert value(families, "atoll_controller_node_ready", node="sick-node") == 0
        return families

    families = await eventually(seen, timeout=20, interval=0.2)
    assert declared(metrics.REGISTRY) - set(families) == set()
    assert value(families, "atoll_controller_leader", lease="atoll-controller") == 1
    reconciled = value(families, "atoll_controller_reconciles_total", controller="node-lifecycle", result="requeue")
    assert reconciled is not None and reconciled >= 2, "each node is reconciled and asks to be seen again"
    assert value(families, "atoll_controller_reconcile_errors_total", controller="node-lifecycle") == 0
    assert value(families, "atoll_controller_workqueue_depth", queue="deployment") == 0

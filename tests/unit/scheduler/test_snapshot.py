"""ClusterSnapshot: incremental updates keep columns and allocation consistent."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler.node_facts import from_node
from scheduler.snapshot import ClusterSnapshot
from tests.unit.scheduler.builders import make_node, make_pod, make_vm


def used(snapshot: ClusterSnapshot, node: str) -> tuple[int, int, int]:
    """Usage of ``node``; checks on the way that every slot's free_* is alloc_* - used_*."""
    nodes = snapshot.nodes
    for resource in ("cpu", "mem", "eph", "pods"):
        free = getattr(nodes, f"alloc_{resource}") - getattr(nodes, f"used_{resource}")
        assert np.array_equal(getattr(nodes, f"free_{resource}"), free), f"free_{resource} is stale"
    slot = snapshot.nodes.index[node]
    return int(snapshot.nodes.used_cpu[slot]), int(snapshot.nodes.used_mem[slot]), int(snapshot.nodes.used_pods[slot])


def test_binding_and_deleting_workloads_moves_allocation() -> None:
    snapshot = ClusterSnapshot()
    snapshot.upsert_node(make_node("a").facts())
    snapshot.upsert_workload(make_pod("p").requests(cpu="250m", memory="1Gi").bound_to("a").info())
    assert used(snapshot, "a") == (250, 2**30, 1)
    snapshot.upsert_workload(make_pod("p").requests(cpu="500m", memory="1Gi").bound_to("a").info())
    assert used(snapshot, "a") == (500, 2**30, 1)
    snapshot.remove_workload("Pod/default/p")
    assert used(snapshot, "a") == (0, 0, 0)


def test_a_workload_seen_before_its_node_is_charged_when_the_node_arrives() -> None:
    snapshot = ClusterSnapshot()
    snapshot.upsert_workload(make_pod("p").requests(cpu="1").bound_to("late").info())
    snapshot.upsert_node(make_node("late").facts())
    assert used(snapshot, "late")[0] == 1000


def test_removing_and_re_adding_a_node_keeps_its_workloads() -> None:
    snapshot = ClusterSnapshot()
    snapshot.upsert_node(make_node("a").facts())
    snapshot.upsert_workload(make_pod("p").requests(cpu="1").bound_to("a").info())
    snapshot.remove_node("a")
    assert snapshot.nodes.count == 0
    snapshot.upsert_node(make_node("a").facts())
    assert used(snapshot, "a")[0] == 1000


def test_changing_the_per_vm_overhead_recharges_vms() -> None:
    snapshot = ClusterSnapshot()
    snapshot.upsert_node(make_node("h").hypervisor("type1", overhead="100Mi").facts())
    snapshot.upsert_workload(make_vm("v").memory("1Gi").bound_to("h").info())
    assert used(snapshot, "h")[1] == 2**30 + 100 * 2**20
    snapshot.upsert_node(make_node("h").hypervisor("type1", overhead="200Mi").facts())
    assert used(snapshot, "h")[1] == 2**30 + 200 * 2**20


def test_label_and_taint_columns_follow_node_updates() -> None:
    snapshot = ClusterSnapshot()
    snapshot.upsert_node(make_node("a").labels(zone="x").taint("gpu", "true").facts())
    slot = snapshot.nodes.index["a"]
    assert snapshot.nodes.labels.codes("zone") is not None
    snapshot.upsert_node(make_node("a").labels(rack="r1").facts())
    zone = snapshot.nodes.labels.codes("zone")
    assert zone is not None and zone[slot] == -1
    assert snapshot.nodes.taint_masks == {}


def test_slots_are_reused_and_tables_grow() -> None:
    snapshot = ClusterSnapshot(node_capacity=2, workload_capacity=2)
    for i in range(10):
        snapshot.upsert_node(make_node(f"n{i}").labels(zone=str(i)).facts())
        snapshot.upsert_workload(make_pod(f"p{i}").bound_to(f"n{i}").info())
    assert snapshot.nodes.capacity >= 10 and snapshot.workloads.capacity >= 10
    snapshot.remove_node("n3")
    snapshot.upsert_node(make_node("fresh").facts())
    assert snapshot.nodes.index["fresh"] == 3
    assert int(np.count_nonzero(snapshot.nodes.present)) == 10


def test_assume_then_forget_restores_allocation() -> None:
    snapshot = ClusterSnapshot()
    snapshot.upsert_node(make_node("a").facts())
    info = make_pod("p").requests(cpu="1").info()
    snapshot.assume(info, "a")
    assert used(snapshot, "a")[0] == 1000
    snapshot.forget(info.key)
    assert used(snapshot, "a") == (0, 0, 0)


def test_only_bound_workloads_enter() -> None:
    with pytest.raises(ValueError, match="not bound"):
        ClusterSnapshot().upsert_workload(make_pod().info())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(lambda n: n, True, id="a Ready node is ready"),
        pytest.param(lambda n: n.not_ready(), False, id="a Ready=False node is not ready"),
    ],
)
def test_node_readiness_decoding(change: object, expected: bool) -> None:
    assert callable(change)
    assert from_node(change(make_node()).build()).ready is expected


def test_malformed_node_quantities_offer_nothing() -> None:
    facts = make_node().cpu("lots").facts()
    assert facts.cpu_millis == 0

"""Fleets from YAML-style groups (the benchmark cases, large tests): NodeFacts and WorkloadInfos."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import zip_longest
from typing import Any

from atoll.quantity import to_bytes
from atoll.storage import CLAIM_PENDING, LOCAL_CAPACITY_RESOURCE, LOCAL_CLASS, READ_WRITE_ONCE
from scheduler.node_facts import NodeFacts
from scheduler.volumes import ClaimFacts
from scheduler.workload import WorkloadInfo
from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, VmBuilder, make_node, make_pod, make_vm

Group = Mapping[str, Any]


def node_builders(groups: Sequence[Group]) -> list[NodeBuilder]:
    nodes: list[NodeBuilder] = []
    for g_index, group in enumerate(groups):
        for i in range(int(group["count"])):
            node = make_node(f"n{g_index}-{i}").cpu(str(group.get("cpu", "32"))).memory(group.get("memory", "128Gi"))
            node.pods(int(group.get("pods", 110)))
            if group.get("zones"):
                node.label("zone", f"zone-{i % int(group['zones'])}")
            node.labels(**group.get("labels", {}))
            for taint in group.get("taints", []):
                node.taint(taint["key"], taint.get("value", ""), taint.get("effect", "NoSchedule"))
            if group.get("windows"):
                node.windows(group["windows"]).isolation(*group.get("isolation", ["process"]))
            if group.get("hypervisor"):
                hv = group["hypervisor"]
                node.hypervisor(hv["type"], tuple(hv.get("guests", ["linux"])), hv.get("overhead", ""))
            for resource, units in group.get("extended", {}).items():
                node.offers(resource, str(units))
            if group.get("local_storage"):
                node.offers(LOCAL_CAPACITY_RESOURCE, str(to_bytes(str(group["local_storage"]))))
            nodes.append(node)
    return nodes


def node_facts(groups: Sequence[Group]) -> list[NodeFacts]:
    return [n.facts() for n in node_builders(groups)]


def workload_builders(groups: Sequence[Group], prefix: str = "w") -> list[PodBuilder | VmBuilder]:
    """Workloads of all groups, interleaved (one of each group in turn), as a real mix arrives."""
    per_group = [list(_group(g_index, group, prefix)) for g_index, group in enumerate(groups)]
    return [w for batch in zip_longest(*per_group) for w in batch if w is not None]


def _group(g_index: int, group: Group, prefix: str) -> Iterator[PodBuilder | VmBuilder]:
    for i in range(int(group["count"])):
        name = f"{prefix}{g_index}-{i}"
        builder: PodBuilder | VmBuilder
        if group.get("kind", "Pod") == "VirtualMachine":
            vm = make_vm(name, "bench").vcpus(int(group.get("vcpus", 1))).memory(group.get("memory", "1Gi"))
            vm.guest(group.get("guest", "linux"))
            if group.get("hypervisor"):
                vm.hypervisor(group["hypervisor"])
            if group.get("claim_size"):
                vm.claim(name)  # its own claim, of the same name (claims_of_groups makes them)
            builder = vm
        else:
            pod = make_pod(name, "bench").requests(cpu=str(group.get("cpu", "")), memory=group.get("memory", ""))
            if group.get("os") == "windows":
                pod.windows(group.get("isolation", "process"), image_build=group.get("image_build", ""))
            for resource, units in group.get("extended", {}).items():
                pod.extended(resource, str(units))
            builder = pod
        builder.labels(**group.get("labels", {})).priority(int(group.get("priority", 0)))
        builder.node_selector(**group.get("node_selector", {}))
        for tol in group.get("tolerations", []):
            builder.tolerate(tol["key"], tol.get("value", ""), tol.get("effect", ""), tol.get("operator", "Equal"))
        for req in group.get("affinity", []):
            builder.require(req["key"], req["operator"], *req.get("values", []))
        if group.get("spread"):
            sp = group["spread"]
            builder.spread(
                sp["topology_key"],
                int(sp.get("max_skew", 1)),
                sp.get("when", "DoNotSchedule") == "DoNotSchedule",
                **sp.get("match_labels", {}),
            )
        yield builder


def workload_infos(groups: Sequence[Group], prefix: str = "w") -> list[WorkloadInfo]:
    return [b.info() for b in workload_builders(groups, prefix)]


def claims_of_groups(groups: Sequence[Group], prefix: str = "w") -> list[ClaimFacts]:
    """The claims the workload groups with ``claim_size`` use: one new (Pending) claim of the local
    class per workload, named after it."""
    claims = []
    for g_index, group in enumerate(groups):
        if group.get("claim_size"):
            size = to_bytes(str(group["claim_size"]))
            for i in range(int(group["count"])):
                claims.append(
                    ClaimFacts(f"bench/{prefix}{g_index}-{i}", CLAIM_PENDING, LOCAL_CLASS,
                               frozenset({READ_WRITE_ONCE}), size, "", "", False)
                )
    return claims

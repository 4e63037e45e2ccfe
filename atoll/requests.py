"""What a workload asks of its node (CPU millicores, memory bytes) and whether it still holds it,
as ``atoll top`` adds them up. A container's requests default to its limits, as the scheduler
reads them (scheduler/workload.py decodes the same fields, with every other placement fact)."""

from __future__ import annotations

from typing import Any

from atoll.quantity import QuantityError, cpu_millis, to_bytes

# Phases after which a workload no longer holds node resources.
ENDED_PHASES = frozenset({"Succeeded", "Failed", "Stopped"})


def pod_requests(pod: Any) -> tuple[int, int]:
    """(CPU millicores, memory bytes) of a Pod's containers; an unreadable quantity counts 0."""
    cpu = memory = 0
    for container in pod.spec.containers:
        res = container.resources
        cpu += _or_zero(cpu_millis, res.requests.get("cpu") or res.limits.get("cpu", ""))
        memory += _or_zero(to_bytes, res.requests.get("memory") or res.limits.get("memory", ""))
    return cpu, memory


def vm_requests(vm: Any) -> tuple[int, int]:
    """(CPU millicores, memory bytes) of a VirtualMachine: its vCPUs and memory."""
    return int(vm.spec.vcpus) * 1000, _or_zero(to_bytes, vm.spec.memory)


def holds_node(workload: Any) -> bool:
    """Bound to a node and not ended: it counts towards the node's allocation."""
    return bool(workload.spec.node_name) and workload.status.phase not in ENDED_PHASES


def _or_zero(parse: Any, text: str) -> int:
    if not text:
        return 0
    try:
        return int(parse(text))
    except QuantityError:
        return 0

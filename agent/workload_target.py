"""Which driver task a request names (kind, namespace, name, uid, container) on a node this agent
serves: one rule for ``atoll logs`` (agent/logs_service.py) and the sessions of ``atoll exec``,
``attach`` and ``console`` (agent/sessions/)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from agent.drivers.protocol import Driver, task_id_for
from agent.node_agent import NodeAgent
from agent.workloads.pod_runner import PodRunner
from agent.workloads.vm_runner import VmRunner
from atoll.user_text import bounded, bounded_repr


class TargetError(Exception):
    """The request names nothing this agent can reach; ``code`` is the gRPC status to answer."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """``label`` (kind/namespace/name, bounded) names the workload in messages; ``container`` is
    the pod's container ('' for a VM); ``address``: where the node reaches it ('' when it has
    none: a container in a network namespace of its own without a pod address)."""

    driver: Driver
    task_id: str
    label: str
    container: str = ""
    is_vm: bool = False
    address: str = ""
    stdin: bool = False  # the container was started with stdin open (stdin: true)
    tty: bool = False  # the container's stdio is a terminal (tty: true)
    previous_task_id: str = ""  # whose log --previous reads ('' : the task's own previous log)


def find_target(
    nodes: dict[str, NodeAgent], node_name: str, kind: str, namespace: str, name: str, uid: str, container: str,
    *, port_forward: bool = False,
) -> Target:
    """The workload's task on node ``node_name``; TargetError when the node is not served here
    (NOT_FOUND), the workload does not run there (NOT_FOUND), the container is missing or
    ambiguous (INVALID_ARGUMENT) or the workload has no driver (FAILED_PRECONDITION). With
    ``port_forward`` a pod's container does not matter (the pod's first is taken)."""
    label = f"{bounded(kind.lower())}/{bounded(namespace)}/{bounded(name)}"
    node = nodes.get(node_name)
    if node is None:
        raise TargetError(grpc.StatusCode.NOT_FOUND, f"node {bounded(node_name)} is not served by this agent")
    runner = next((r for r in node.runners.values()
                   if r.latest.metadata.namespace == namespace and r.latest.metadata.name == name
                   and (not uid or r.uid == uid)), None)
    if runner is None:
        raise TargetError(grpc.StatusCode.NOT_FOUND, f"{label} is not running on node {bounded(node_name)}")
    if not isinstance(runner, VmRunner | PodRunner):
        raise TargetError(grpc.StatusCode.INVALID_ARGUMENT, f"{label}: this kind runs nothing to reach")
    if runner.driver is None:
        raise TargetError(grpc.StatusCode.FAILED_PRECONDITION, f"{label}: no driver runs it on this node")
    if isinstance(runner, VmRunner):
        return Target(runner.driver, runner.config.task_id, label, is_vm=True, address=runner.ip,
                      previous_task_id=runner.previous_task_id())
    else:
        names = [record.name for record in runner.records]
        pod_ip = next((record.ip for record in runner.records if record.ip), "")
        address = pod_ip or (runner.ctx.host_ip if runner.latest.spec.host_network else "")
        if port_forward:  # a pod's port is the pod's, whichever container listens
            return Target(runner.driver, task_id_for(runner.uid, names[0]), label, names[0], address=address)
        chosen = container or (names[0] if len(names) == 1 else "")
        if chosen not in names:
            choice = f"choose one of: {', '.join(names)} (-c NAME)"
            wrong = f"no container {bounded_repr(chosen)}; " if chosen else ""
            raise TargetError(grpc.StatusCode.INVALID_ARGUMENT, f"{label}: {wrong}{choice}")
        return Target(runner.driver, task_id_for(runner.uid, chosen), label, chosen, address=address,
                      stdin=runner.containers[chosen].stdin, tty=runner.containers[chosen].tty)

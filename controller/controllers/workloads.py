"""The kinds that run on a node, as one type: what the deployment, node lifecycle and endpoints
controllers read from Pods and VirtualMachines alike (metadata, ``spec.node_name``,
``spec.scheduling``, ``status.phase``, ``status.conditions``) type-checks against both messages;
and the one rule for when such a workload is ready."""

from __future__ import annotations

from atoll.v1 import pod_pb2, virtualmachine_pb2
from controller.controllers.conditions import find_condition

Workload = pod_pb2.Pod | virtualmachine_pb2.VirtualMachine


def is_ready(obj: Workload) -> bool:
    """Running (phase) with no Ready condition other than True: a Pod's Ready condition, a VM's
    where its agent reports one. Deployments count such replicas available; Services send to them."""
    ready_condition = find_condition(obj.status.conditions, "Ready")
    return obj.status.phase == "Running" and (ready_condition is None or ready_condition.status in ("", "True"))

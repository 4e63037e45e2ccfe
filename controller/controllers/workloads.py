"""The kinds that run on a node, as one type: what the deployment and node lifecycle controllers
read from Pods and VirtualMachines alike (metadata, ``spec.node_name``, ``spec.scheduling``,
``status.phase``, ``status.conditions``) type-checks against both messages."""

from __future__ import annotations

from atoll.v1 import pod_pb2, virtualmachine_pb2

Workload = pod_pb2.Pod | virtualmachine_pb2.VirtualMachine

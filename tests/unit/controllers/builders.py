"""Fully valid objects for controller tests; tests change only the field they test."""

from __future__ import annotations

from typing import Any

from atoll.v1 import deployment_pb2, lease_pb2, object_pb2, virtualmachine_pb2
from tests.support.objects import make_node, make_pod, make_vm


def make_deployment(
    name: str = "web",
    replicas: int = 3,
    *,
    image: str = "nginx:1",
    max_surge: str = "",
    max_unavailable: str = "",
    strategy: str = "",
    vm: bool = False,
) -> deployment_pb2.Deployment:
    deployment = deployment_pb2.Deployment()
    deployment.metadata.name = name
    deployment.metadata.namespace = "default"
    deployment.spec.replicas = replicas
    deployment.spec.selector.match_labels["app"] = name
    if vm:
        template = make_vm().virtual_machine
        deployment.spec.template.virtual_machine.spec.CopyFrom(template.spec)
        deployment.spec.template.virtual_machine.metadata.labels["app"] = name
    else:
        pod = make_pod().pod
        pod.spec.containers[0].image = image
        deployment.spec.template.pod.spec.CopyFrom(pod.spec)
        deployment.spec.template.pod.metadata.labels["app"] = name
    if strategy:
        deployment.spec.strategy.type = strategy
    if max_surge:
        deployment.spec.strategy.rolling_update.max_surge = max_surge
    if max_unavailable:
        deployment.spec.strategy.rolling_update.max_unavailable = max_unavailable
    return deployment


def make_standalone_vm(name: str = "db", run_strategy: str = "Always") -> virtualmachine_pb2.VirtualMachine:
    vm: virtualmachine_pb2.VirtualMachine = make_vm(name).virtual_machine
    vm.spec.run_strategy = run_strategy
    return vm


def make_lease(node: str, renew_seconds: float) -> lease_pb2.Lease:
    lease = lease_pb2.Lease()
    lease.metadata.name = node
    lease.metadata.namespace = "atoll-node-lease"
    lease.spec.holder_identity = node
    lease.spec.lease_duration_seconds = 40
    lease.spec.renew_time.FromNanoseconds(int(renew_seconds * 1e9))
    return lease


def node(name: str) -> object_pb2.Object:
    return make_node(name)


def unwrap(obj: object_pb2.Object) -> Any:
    field = obj.WhichOneof("kind")
    assert field is not None
    return getattr(obj, field)

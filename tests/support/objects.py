"""Fixture factories returning fully valid objects; tests change only the field they test."""

from __future__ import annotations

from atoll import storage
from atoll.v1 import (
    event_pb2,
    migration_pb2,
    node_pb2,
    object_pb2,
    pod_pb2,
    service_pb2,
    storage_pb2,
    virtualmachine_pb2,
)


def make_pod(name: str = "web", namespace: str = "default", **labels: str) -> object_pb2.Object:
    pod = pod_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.metadata.labels.update(labels or {"app": "web"})
    container = pod.spec.containers.add()
    container.name = "main"
    container.image = "busybox"
    container.resources.requests.update({"cpu": "100m", "memory": "64Mi"})
    return object_pb2.Object(pod=pod)


def make_node(name: str = "n1", **labels: str) -> object_pb2.Object:
    node = node_pb2.Node()
    node.metadata.name = name
    node.metadata.labels.update(labels)
    node.status.capacity.update({"cpu": "4", "memory": "8Gi", "pods": "110"})
    node.status.allocatable.update({"cpu": "4", "memory": "8Gi", "pods": "110"})
    node.status.node_info.os = "linux"
    node.status.conditions.add(type="Ready", status="True", reason="AgentReady")
    return object_pb2.Object(node=node)


def make_vm(name: str = "db", namespace: str = "default") -> object_pb2.Object:
    vm = virtualmachine_pb2.VirtualMachine()
    vm.metadata.name = name
    vm.metadata.namespace = namespace
    vm.spec.vcpus = 1
    vm.spec.memory = "512Mi"
    vm.spec.boot.kernel = "/var/lib/atoll/images/vmlinux"
    return object_pb2.Object(virtual_machine=vm)


def make_service(
    name: str = "web", namespace: str = "default", cluster_ip: str = "", **selector: str
) -> object_pb2.Object:
    """A ClusterIP Service on port 80 selecting ``selector`` (default app=web)."""
    service = service_pb2.Service()
    service.metadata.name = name
    service.metadata.namespace = namespace
    service.spec.selector.update(selector or {"app": "web"})
    service.spec.ports.add(name="http", port=80, target_port="8080")
    service.spec.cluster_ip = cluster_ip
    return object_pb2.Object(service=service)


def make_event(name: str = "web.1", namespace: str = "default", involved: str = "web") -> object_pb2.Object:
    """A Normal "Started" Event about Pod ``involved``."""
    event = event_pb2.Event(reason="Started", message="started", type="Normal")
    event.metadata.name, event.metadata.namespace = name, namespace
    event.involved_object.kind, event.involved_object.name = "Pod", involved
    return object_pb2.Object(event=event)


def make_migration(
    name: str = "db-move", vm: str = "db", target: str = "", namespace: str = "default"
) -> object_pb2.Object:
    """A VirtualMachineMigration of VM ``vm`` (to ``target``, or wherever the scheduler picks)."""
    migration = migration_pb2.VirtualMachineMigration()
    migration.metadata.name, migration.metadata.namespace = name, namespace
    migration.spec.vm_name, migration.spec.target_node = vm, target
    return object_pb2.Object(virtual_machine_migration=migration)


def make_claim(
    name: str = "data", size: str = "1Gi", storage_class: str = "", modes: tuple[str, ...] = (storage.READ_WRITE_ONCE,)
) -> storage_pb2.PersistentVolumeClaim:
    """A PersistentVolumeClaim in namespace default (no class: the default class)."""
    claim = storage_pb2.PersistentVolumeClaim()
    claim.metadata.name, claim.metadata.namespace = name, "default"
    claim.spec.access_modes.extend(modes)
    claim.spec.resources.requests[storage.STORAGE] = size
    claim.spec.storage_class_name = storage_class
    return claim

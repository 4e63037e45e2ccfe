"""Fixture builders: each ``make_*()`` returns a fully valid object; tests change only what they test.

make_node("w1").windows("10.0.20348").isolation("process", "hyperv").build()
make_pod("web").windows("hyperv", image_build="10.0.17763").requests(memory="1Gi").info()
make_vm("db").hypervisor("type1").guest("windows").info()
"""

from __future__ import annotations

from typing import Self

from atoll.v1 import meta_pb2, node_pb2, pod_pb2, scheduling_pb2, virtualmachine_pb2
from scheduler.node_facts import NodeFacts, from_node
from scheduler.workload import WorkloadInfo, from_pod, from_vm


class NodeBuilder:
    """A Ready Linux node: 4 cpu, 16Gi memory, 110 pods, 100Gi ephemeral storage, no hypervisor."""

    def __init__(self, name: str) -> None:
        self.node = node_pb2.Node(metadata=meta_pb2.ObjectMeta(name=name, resource_version=1))
        status = self.node.status
        status.allocatable.update({"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"})
        status.node_info.os = "linux"
        status.node_info.os_build = "debian-12"
        status.node_info.arch = "amd64"
        status.conditions.add(type="Ready", status="True")

    def label(self, key: str, value: str) -> Self:
        self.node.metadata.labels[key] = value
        return self

    def labels(self, **labels: str) -> Self:
        self.node.metadata.labels.update(labels)
        return self

    def cpu(self, quantity: str) -> Self:
        self.node.status.allocatable["cpu"] = quantity
        return self

    def memory(self, quantity: str) -> Self:
        self.node.status.allocatable["memory"] = quantity
        return self

    def pods(self, count: int) -> Self:
        self.node.status.allocatable["pods"] = str(count)
        return self

    def ephemeral(self, quantity: str) -> Self:
        self.node.status.allocatable["ephemeral-storage"] = quantity
        return self

    def offers(self, resource: str, quantity: str) -> Self:
        """Allocatable of an extended resource (``offers("nvidia.com/gpu", "2")``)."""
        self.node.status.allocatable[resource] = quantity
        return self

    def windows(self, build: str) -> Self:
        """A Windows node of ``build`` offering process isolation (change with ``isolation``)."""
        self.node.status.node_info.os = "windows"
        self.node.status.node_info.os_build = build
        if not self.node.status.windows_isolation:
            self.node.status.windows_isolation.append("process")
        return self

    def arch(self, name: str, variant: str = "") -> Self:
        self.node.status.node_info.arch = name
        self.node.status.arch_variant = variant
        return self

    def isolation(self, *modes: str) -> Self:
        del self.node.status.windows_isolation[:]
        self.node.status.windows_isolation.extend(modes)
        return self

    def hypervisor(self, kind: str, guests: tuple[str, ...] = ("linux", "windows"), overhead: str = "") -> Self:
        hv = self.node.status.hypervisor
        hv.type = kind
        hv.name = f"sim-{kind}"
        del hv.guest_os[:]
        hv.guest_os.extend(guests)
        hv.per_vm_overhead_memory = overhead
        return self

    def migrates(self, accelerator: str = "tcg", *cpu_models: str) -> Self:
        """The node receives live migrations with ``accelerator`` and offers ``cpu_models``."""
        self.node.status.migration.live_migration = True
        self.node.status.migration.accelerator = accelerator
        self.node.status.cpu_models.extend(cpu_models)
        return self

    def taint(self, key: str, value: str = "", effect: str = "NoSchedule") -> Self:
        self.node.spec.taints.add(key=key, value=value, effect=effect)
        return self

    def cordoned(self) -> Self:
        self.node.spec.unschedulable = True
        return self

    def not_ready(self) -> Self:
        self.node.status.conditions[0].status = "False"
        return self

    def build(self) -> node_pb2.Node:
        copy = node_pb2.Node()
        copy.CopyFrom(self.node)
        return copy

    def facts(self) -> NodeFacts:
        return from_node(self.node)


class _Placement:
    """Scheduling fields shared by pods and VMs."""

    def _scheduling(self) -> scheduling_pb2.Scheduling:
        raise NotImplementedError

    def priority(self, value: int) -> Self:
        self._scheduling().priority = value
        return self

    def node_selector(self, **labels: str) -> Self:
        self._scheduling().node_selector.update(labels)
        return self

    def require(self, key: str, operator: str, *values: str, term: int = 0) -> Self:
        """Add a requirement to required node-affinity term ``term`` (terms are ORed)."""
        required = self._scheduling().affinity.node_affinity.required_during_scheduling_ignored_during_execution
        while len(required.node_selector_terms) <= term:
            required.node_selector_terms.add()
        required.node_selector_terms[term].match_expressions.add(key=key, operator=operator, values=values)
        return self

    def prefer(self, weight: int, key: str, operator: str, *values: str) -> Self:
        preferred = self._scheduling().affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
        term = preferred.add(weight=weight)
        term.preference.match_expressions.add(key=key, operator=operator, values=values)
        return self

    def tolerate(self, key: str, value: str = "", effect: str = "", operator: str = "Equal") -> Self:
        self._scheduling().tolerations.add(key=key, value=value, effect=effect, operator=operator)
        return self

    def spread(self, topology_key: str, max_skew: int = 1, hard: bool = True, **match_labels: str) -> Self:
        constraint = self._scheduling().topology_spread_constraints.add(
            max_skew=max_skew,
            topology_key=topology_key,
            when_unsatisfiable="DoNotSchedule" if hard else "ScheduleAnyway",
        )
        constraint.label_selector.match_labels.update(match_labels)
        return self

    def anti_affinity(self, topology_key: str, **match_labels: str) -> Self:
        anti = self._scheduling().affinity.workload_anti_affinity
        term = anti.required_during_scheduling_ignored_during_execution.add(topology_key=topology_key)
        term.label_selector.match_labels.update(match_labels)
        return self


class PodBuilder(_Placement):
    """A Linux pod with one container requesting 100m cpu and 128Mi memory."""

    def __init__(self, name: str, namespace: str) -> None:
        self.pod = pod_pb2.Pod(
            metadata=meta_pb2.ObjectMeta(name=name, namespace=namespace, uid=f"uid-{name}", resource_version=1)
        )
        container = self.pod.spec.containers.add(name="main", image="busybox:1.36")
        container.resources.requests.update({"cpu": "100m", "memory": "128Mi"})

    def _scheduling(self) -> scheduling_pb2.Scheduling:
        return self.pod.spec.scheduling

    def labels(self, **labels: str) -> Self:
        self.pod.metadata.labels.update(labels)
        return self

    def requests(self, cpu: str = "", memory: str = "", ephemeral: str = "") -> Self:
        requests = self.pod.spec.containers[0].resources.requests
        for key, value in (("cpu", cpu), ("memory", memory), ("ephemeral-storage", ephemeral)):
            if value:
                requests[key] = value
        return self

    def extended(self, resource: str, quantity: str, container: int = 0, limit: bool = False) -> Self:
        """Request (or, with ``limit``, limit only) ``quantity`` of ``resource`` in one container;
        containers are added as needed."""
        while len(self.pod.spec.containers) <= container:
            self.pod.spec.containers.add(name=f"c{len(self.pod.spec.containers)}", image="busybox:1.36")
        resources = self.pod.spec.containers[container].resources
        (resources.limits if limit else resources.requests)[resource] = quantity
        return self

    def windows(self, isolation: str = "process", image_build: str = "", image: str = "") -> Self:
        self.pod.spec.os = "windows"
        self.pod.spec.windows.isolation = isolation
        self.pod.spec.windows.image_build = image_build
        self.pod.spec.containers[0].image = image or "mcr.microsoft.com/windows/nanoserver:custom"
        if isolation == "hostprocess":
            self.pod.spec.host_network = True
            self.pod.spec.containers[0].host_process = True
        return self

    def image(self, reference: str) -> Self:
        self.pod.spec.containers[0].image = reference
        return self

    def host_network(self, enabled: bool = True) -> Self:
        self.pod.spec.host_network = enabled
        return self

    def host_port(self, port: int, protocol: str = "TCP", host_ip: str = "") -> Self:
        """The first container also takes ``port`` on its node."""
        self.pod.spec.containers[0].ports.add(container_port=port, host_port=port, protocol=protocol, host_ip=host_ip)
        return self

    def bound_to(self, node: str) -> Self:
        self.pod.spec.node_name = node
        return self

    def version(self, resource_version: int) -> Self:
        self.pod.metadata.resource_version = resource_version
        return self

    def build(self) -> pod_pb2.Pod:
        copy = pod_pb2.Pod()
        copy.CopyFrom(self.pod)
        return copy

    def info(self) -> WorkloadInfo:
        return from_pod(self.pod)


class VmBuilder(_Placement):
    """A Linux VM: 2 vcpus, 2Gi memory, any hypervisor, direct kernel boot, no disks."""

    def __init__(self, name: str, namespace: str) -> None:
        self.vm = virtualmachine_pb2.VirtualMachine(
            metadata=meta_pb2.ObjectMeta(name=name, namespace=namespace, uid=f"uid-{name}", resource_version=1)
        )
        self.vm.spec.vcpus = 2
        self.vm.spec.memory = "2Gi"
        self.vm.spec.guest.os = "linux"
        self.vm.spec.boot.kernel = "/var/lib/atoll/images/vmlinux"

    def _scheduling(self) -> scheduling_pb2.Scheduling:
        return self.vm.spec.scheduling

    def labels(self, **labels: str) -> Self:
        self.vm.metadata.labels.update(labels)
        return self

    def vcpus(self, count: int) -> Self:
        self.vm.spec.vcpus = count
        return self

    def memory(self, quantity: str) -> Self:
        self.vm.spec.memory = quantity
        return self

    def guest(self, os: str, build: str = "") -> Self:
        self.vm.spec.guest.os = os
        self.vm.spec.guest.build = build
        return self

    def hypervisor(self, kind: str) -> Self:
        self.vm.spec.hypervisor.type = kind
        return self

    def disk(self, size: str) -> Self:
        self.vm.spec.disks.add(name=f"disk{len(self.vm.spec.disks)}", size=size)
        return self

    def cpu_model(self, model: str) -> Self:
        self.vm.spec.cpu_model = model
        return self

    def claim(self, name: str) -> Self:
        """A disk from PersistentVolumeClaim ``name``."""
        self.vm.spec.disks.add(name=f"disk{len(self.vm.spec.disks)}", persistent_volume_claim=name)
        return self

    def bound_to(self, node: str) -> Self:
        self.vm.spec.node_name = node
        return self

    def build(self) -> virtualmachine_pb2.VirtualMachine:
        copy = virtualmachine_pb2.VirtualMachine()
        copy.CopyFrom(self.vm)
        return copy

    def info(self) -> WorkloadInfo:
        return from_vm(self.vm)


def make_node(name: str = "node-1") -> NodeBuilder:
    return NodeBuilder(name)


def make_pod(name: str = "pod-1", namespace: str = "default") -> PodBuilder:
    return PodBuilder(name, namespace)


def make_vm(name: str = "vm-1", namespace: str = "default") -> VmBuilder:
    return VmBuilder(name, namespace)

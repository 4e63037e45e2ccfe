"""Defaults the API server fills in before storing an object; ``apply_defaults`` is idempotent.

Only empty fields are filled, so applying defaults twice (or to an object that was already
defaulted) changes nothing. Values follow Kubernetes and KubeVirt where those have a default;
KubeVirt has no default run strategy, atoll chooses ``Always``.
"""

from __future__ import annotations

from atoll import kinds
from atoll.v1 import deployment_pb2, namespace_pb2, object_pb2, pod_pb2, virtualmachine_pb2

TERMINATION_GRACE_PERIOD_SECONDS = 30
DEPLOYMENT_REPLICAS = 1
DEPLOYMENT_MAX_SURGE = "25%"
DEPLOYMENT_MAX_UNAVAILABLE = "25%"
DEPLOYMENT_REVISION_HISTORY_LIMIT = 10
DEPLOYMENT_PROGRESS_DEADLINE_SECONDS = 600


def apply_defaults(obj: object_pb2.Object) -> None:
    """Fill the defaults of ``obj``'s kind in place (an empty Object is left alone)."""
    if obj.WhichOneof("kind") is None:
        return
    kind = kinds.of_object(obj)
    message = kinds.unwrap(obj)
    if kind.name == "Pod":
        default_pod_spec(message.spec)
    elif kind.name == "VirtualMachine":
        default_vm_spec(message.spec)
    elif kind.name == "Deployment":
        _default_deployment(message)
    elif kind.name == "Namespace":
        _default_namespace(message)


def default_pod_spec(spec: pod_pb2.PodSpec) -> None:
    """restartPolicy Always, os linux, Windows isolation process, grace period 30s, port protocol
    TCP, and a request equal to the limit where only a limit is given (as Kubernetes does)."""
    if not spec.restart_policy:
        spec.restart_policy = "Always"
    if not spec.os:
        spec.os = "linux"
    if spec.os == "windows" and not spec.windows.isolation:
        spec.windows.isolation = "process"
    if not spec.HasField("termination_grace_period_seconds"):
        spec.termination_grace_period_seconds = TERMINATION_GRACE_PERIOD_SECONDS
    for container in spec.containers:
        for port in container.ports:
            if not port.protocol:
                port.protocol = "TCP"
        resources = container.resources
        for name, limit in resources.limits.items():
            if name not in resources.requests:
                resources.requests[name] = limit
    for spread in spec.scheduling.topology_spread_constraints:
        if not spread.when_unsatisfiable:
            spread.when_unsatisfiable = "DoNotSchedule"


def default_vm_spec(spec: virtualmachine_pb2.VirtualMachineSpec) -> None:
    """runStrategy Always, powerState Running, hypervisor any, guest linux, disks qcow2 on virtio,
    grace period 30s, and boot from the first disk when no boot source is given."""
    if not spec.run_strategy:
        spec.run_strategy = "Always"
    if not spec.power_state:
        spec.power_state = "Running"
    if not spec.hypervisor.type:
        spec.hypervisor.type = "any"
    if not spec.guest.os:
        spec.guest.os = "linux"
    if not spec.HasField("termination_grace_period_seconds"):
        spec.termination_grace_period_seconds = TERMINATION_GRACE_PERIOD_SECONDS
    for disk in spec.disks:
        if not disk.format:
            disk.format = "qcow2"
        if not disk.bus:
            disk.bus = "virtio"
    if not spec.boot.kernel and not spec.boot.disk and spec.disks:
        spec.boot.disk = spec.disks[0].name
    for spread in spec.scheduling.topology_spread_constraints:
        if not spread.when_unsatisfiable:
            spread.when_unsatisfiable = "DoNotSchedule"


def _default_deployment(deployment: deployment_pb2.Deployment) -> None:
    spec = deployment.spec
    if not spec.HasField("replicas"):
        spec.replicas = DEPLOYMENT_REPLICAS
    if not spec.strategy.type:
        spec.strategy.type = "RollingUpdate"
    if spec.strategy.type == "RollingUpdate":
        rolling = spec.strategy.rolling_update
        if not rolling.max_surge:
            rolling.max_surge = DEPLOYMENT_MAX_SURGE
        if not rolling.max_unavailable:
            rolling.max_unavailable = DEPLOYMENT_MAX_UNAVAILABLE
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = DEPLOYMENT_REVISION_HISTORY_LIMIT
    if not spec.HasField("progress_deadline_seconds"):
        spec.progress_deadline_seconds = DEPLOYMENT_PROGRESS_DEADLINE_SECONDS
    template = spec.template
    if template.HasField("pod"):
        default_pod_spec(template.pod.spec)
    elif template.HasField("virtual_machine"):
        default_vm_spec(template.virtual_machine.spec)


def _default_namespace(namespace: namespace_pb2.Namespace) -> None:
    if not namespace.status.phase:
        namespace.status.phase = "Active"

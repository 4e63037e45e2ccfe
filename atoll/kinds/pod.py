"""Pod: one or more containers placed together on a node."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column, is_set, or_none, since
from atoll.kinds.exposure import Exposure, container_ports
from atoll.kinds.kind import NODE_BOUND_FIELDS, KindStrategy, memoized_spec_default, memoized_spec_rule
from atoll.kinds.readiness import Readiness, ready_condition
from atoll.pod_references import host_paths
from atoll.probes import container_probes, default_probe
from atoll.requests import holds_node, pod_requests
from atoll.v1 import pod_pb2
from atoll.validation.base import FieldError
from atoll.validation.pod import validate_pod_spec, validate_pod_status
from atoll.validation.update import check_node_name_kept, check_unchanged

TERMINATION_GRACE_PERIOD_SECONDS = 30

_check_spec = memoized_spec_rule(pod_pb2.PodSpec, validate_pod_spec)


def default_pod_spec(spec: pod_pb2.PodSpec) -> None:
    """restartPolicy Always, os linux, Windows isolation process, grace period 30s, port protocol
    TCP, probe defaults (atoll/probes.py), and a request equal to the limit where only a limit is
    given (as Kubernetes does)."""
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
        for _, probe in container_probes(container):
            default_probe(probe)
        resources = container.resources
        for name, limit in resources.limits.items():
            if name not in resources.requests:
                resources.requests[name] = limit
    for spread in spec.scheduling.topology_spread_constraints:
        if not spread.when_unsatisfiable:
            spread.when_unsatisfiable = "DoNotSchedule"


def pod_ready(pod: pod_pb2.Pod, now: float) -> str:
    ready = sum(1 for status in pod.status.container_statuses if status.ready)
    return f"{ready}/{len(pod.spec.containers)}"


def pod_status(pod: pod_pb2.Pod, now: float) -> str:
    """kubectl's STATUS: the pod's reason or phase, overridden by the last container that is not
    running (its waiting or terminated reason), and Terminating once deletion started."""
    reason = pod.status.reason or pod.status.phase or "Pending"
    running = False
    for status in pod.status.container_statuses:
        state = status.state.WhichOneof("state")
        if state == "waiting" and status.state.waiting.reason:
            reason = status.state.waiting.reason
        elif state == "terminated":
            ended = status.state.terminated
            if ended.reason:
                reason = ended.reason
            elif ended.signal:
                reason = f"Signal:{ended.signal}"
            else:
                reason = f"ExitCode:{ended.exit_code}"
        elif state == "running" and status.ready:
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    if is_set(pod.metadata.deletion_timestamp):
        reason = "Unknown" if pod.status.reason == "NodeLost" else "Terminating"
    return reason


def pod_restarts(pod: pod_pb2.Pod, now: float) -> str:
    """Total restarts, with the age of the most recent one: ``3 (5m ago)``."""
    total = sum(status.restart_count for status in pod.status.container_statuses)
    finished = [
        status.last_state.terminated.finished_at
        for status in pod.status.container_statuses
        if status.last_state.HasField("terminated") and is_set(status.last_state.terminated.finished_at)
    ]
    if total and finished:
        latest = max(finished, key=lambda ts: (ts.seconds, ts.nanos))
        return f"{total} ({since(latest, now)} ago)"
    return str(total)


_default_spec = memoized_spec_default(pod_pb2.PodSpec, default_pod_spec)


class PodKind(KindStrategy[pod_pb2.Pod]):
    def default(self, obj: pod_pb2.Pod) -> None:
        _default_spec(obj.spec)

    def validate(self, obj: pod_pb2.Pod, errors: list[FieldError]) -> None:
        _check_spec(obj.spec, errors)

    def validate_status(self, obj: pod_pb2.Pod, errors: list[FieldError]) -> None:
        validate_pod_status(obj.status, "status", errors)

    def uses_host_path(self, obj: pod_pb2.Pod) -> bool:
        return bool(host_paths(obj.spec))

    def validate_update(self, old: pod_pb2.Pod, new: pod_pb2.Pod, errors: list[FieldError]) -> None:
        """spec.nodeName once set, container names, os and Windows isolation never change."""
        check_node_name_kept(old.spec.node_name, new.spec.node_name, errors)
        old_names = [container.name for container in old.spec.containers]
        new_names = [container.name for container in new.spec.containers]
        if old_names != new_names:
            errors.append(
                FieldError("spec.containers", f"container names may not change (were {', '.join(old_names)})")
            )
        check_unchanged(old.spec.os, new.spec.os, "spec.os", errors)
        check_unchanged(old.spec.windows.isolation, new.spec.windows.isolation, "spec.windows.isolation", errors)

    def readiness(self, obj: pod_pb2.Pod) -> Readiness:
        return ready_condition(obj)

    def pod_spec(self, obj: pod_pb2.Pod) -> pod_pb2.PodSpec:
        return obj.spec

    def exposure(self, obj: pod_pb2.Pod) -> Exposure:
        """The pod's labels; its containers' ports."""
        return Exposure(dict(obj.metadata.labels), container_ports(obj.spec.containers))

    def node_requests(self, obj: pod_pb2.Pod) -> tuple[int, int] | None:
        return pod_requests(obj) if holds_node(obj) else None


KIND = PodKind(
    name="Pod",
    plural="pods",
    short=("po",),
    field="pod",
    message=pod_pb2.Pod,
    namespaced=True,
    node_bound=True,
    columns=(
        NAME_COLUMN,
        Column("READY", pod_ready),
        Column("STATUS", pod_status),
        Column("RESTARTS", pod_restarts),
        AGE_COLUMN,
        Column("IP", lambda pod, now: or_none(pod.status.pod_ip), wide=True),
        Column("NODE", lambda pod, now: or_none(pod.spec.node_name), wide=True),
        Column("NOMINATED NODE", lambda pod, now: or_none(pod.status.nominated_node_name), wide=True),
        Column("OS", lambda pod, now: pod.spec.os or "linux", wide=True),
    ),
    selectable_fields=NODE_BOUND_FIELDS,
)

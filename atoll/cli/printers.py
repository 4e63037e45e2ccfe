"""Tables for ``atoll get``: one column list per kind, cells computed like kubectl's printers.

Cells are pure functions of (object, now); ``now`` is epoch seconds, passed in so tests control
time. ``TableWriter`` aligns columns the way kubectl's tabwriter does (3 spaces of padding, at
least 6 wide, last column unpadded) and keeps widths across writes so watch rows line up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from google.protobuf.timestamp_pb2 import Timestamp

from atoll import kinds
from atoll.v1 import object_pb2, pod_pb2, scheduling_pb2

NONE = "<none>"
UNKNOWN = "<unknown>"
PADDING = 3
MIN_WIDTH = 6

Cell = Callable[[Any, float], str]


@dataclass(frozen=True)
class Column:
    """One table column; ``wide`` columns appear only with ``-o wide``."""

    header: str
    cell: Cell
    wide: bool = False


# -- time -------------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: 5s, 119s, 2m, 3m20s, 10m, 3h, 5h30m, 2d, 3d4h, 2y."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def is_set(timestamp: Timestamp) -> bool:
    return bool(timestamp.seconds or timestamp.nanos)


def since(timestamp: Timestamp, now: float) -> str:
    """Age of ``timestamp`` at ``now``; ``<unknown>`` when unset."""
    if not is_set(timestamp):
        return UNKNOWN
    return human_duration(now - (timestamp.seconds + timestamp.nanos / 1e9))


def age(message: Any, now: float) -> str:
    return since(message.metadata.creation_timestamp, now)


def name(message: Any, now: float) -> str:
    return str(message.metadata.name)


def namespace(message: Any, now: float) -> str:
    return str(message.metadata.namespace)


def _or_none(text: str) -> str:
    return text or NONE


# -- pods ---------------------------------------------------------------------------------------


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


POD_COLUMNS = (
    Column("NAME", name),
    Column("READY", pod_ready),
    Column("STATUS", pod_status),
    Column("RESTARTS", pod_restarts),
    Column("AGE", age),
    Column("IP", lambda pod, now: _or_none(pod.status.pod_ip), wide=True),
    Column("NODE", lambda pod, now: _or_none(pod.spec.node_name), wide=True),
    Column("NOMINATED NODE", lambda pod, now: _or_none(pod.status.nominated_node_name), wide=True),
    Column("OS", lambda pod, now: pod.spec.os or "linux", wide=True),
)

# -- virtual machines, deployments -----------------------------------------------------------

VM_COLUMNS = (
    Column("NAME", name),
    Column("PHASE", lambda vm, now: vm.status.phase or "Pending"),
    Column("POWER", lambda vm, now: vm.status.power_state or _or_none(vm.spec.power_state)),
    Column("VCPUS", lambda vm, now: str(vm.spec.vcpus)),
    Column("MEMORY", lambda vm, now: _or_none(vm.spec.memory)),
    Column("NODE", lambda vm, now: _or_none(vm.spec.node_name)),
    Column("AGE", age),
    Column("GUEST", lambda vm, now: _or_none(vm.spec.guest.os), wide=True),
    Column("HYPERVISOR", lambda vm, now: _or_none(vm.status.hypervisor), wide=True),
    Column("RESTARTS", lambda vm, now: str(vm.status.restart_count), wide=True),
)


def format_label_selector(selector: scheduling_pb2.LabelSelector) -> str:
    """``app=web,tier in (a,b),!legacy`` from a structured selector; ``<none>`` when empty."""
    terms = [f"{key}={value}" for key, value in sorted(selector.match_labels.items())]
    for requirement in selector.match_expressions:
        values = ",".join(requirement.values)
        terms.append(
            {
                "In": f"{requirement.key} in ({values})",
                "NotIn": f"{requirement.key} notin ({values})",
                "Exists": requirement.key,
                "DoesNotExist": f"!{requirement.key}",
            }.get(requirement.operator, f"{requirement.key} {requirement.operator} ({values})")
        )
    return ",".join(terms) or NONE


def _desired_replicas(deployment: Any) -> int:
    return int(deployment.spec.replicas) if deployment.spec.HasField("replicas") else 1


def _template_kind(deployment: Any) -> str:
    field = deployment.spec.template.WhichOneof("kind")
    return {"pod": "Pod", "virtual_machine": "VirtualMachine"}.get(field or "", NONE)


DEPLOYMENT_COLUMNS = (
    Column("NAME", name),
    Column("READY", lambda d, now: f"{d.status.ready_replicas}/{_desired_replicas(d)}"),
    Column("UP-TO-DATE", lambda d, now: str(d.status.updated_replicas)),
    Column("AVAILABLE", lambda d, now: str(d.status.available_replicas)),
    Column("AGE", age),
    Column("TEMPLATE", lambda d, now: _template_kind(d), wide=True),
    Column("SELECTOR", lambda d, now: format_label_selector(d.spec.selector), wide=True),
)

# -- nodes ------------------------------------------------------------------------------------


def node_status(node: Any, now: float) -> str:
    """Ready / NotReady / Unknown from the Ready condition, plus SchedulingDisabled when cordoned."""
    ready = next((c for c in node.status.conditions if c.type == "Ready"), None)
    status = {"True": "Ready", "False": "NotReady"}.get(ready.status if ready else "", "Unknown")
    return f"{status},SchedulingDisabled" if node.spec.unschedulable else status


def node_hypervisor(node: Any, now: float) -> str:
    """``type1/qemu-kvm``, the type alone when unnamed, ``<none>`` without a hypervisor."""
    hypervisor = node.status.hypervisor
    if hypervisor.type in ("", "none"):
        return NONE
    return f"{hypervisor.type}/{hypervisor.name}" if hypervisor.name else str(hypervisor.type)


def node_address(node: Any, kind: str) -> str:
    return next((a.address for a in node.status.addresses if a.type == kind), NONE)


NODE_COLUMNS = (
    Column("NAME", name),
    Column("STATUS", node_status),
    Column("OS", lambda node, now: _or_none(node.status.node_info.os)),
    Column("BUILD", lambda node, now: _or_none(node.status.node_info.os_build)),
    Column("HYPERVISOR", node_hypervisor),
    Column("AGE", age),
    Column("VERSION", lambda node, now: _or_none(node.status.node_info.agent_version)),
    Column("INTERNAL-IP", lambda node, now: node_address(node, "InternalIP"), wide=True),
    Column("ARCH", lambda node, now: _or_none(node.status.node_info.arch), wide=True),
    Column("KERNEL-VERSION", lambda node, now: _or_none(node.status.node_info.kernel_version), wide=True),
    Column("RUNTIMES", lambda node, now: ",".join(node.status.runtime_handlers) or NONE, wide=True),
)

# -- events, namespaces, leases ---------------------------------------------------------------


def event_last_seen(event: Any) -> Timestamp:
    """The newest time an event is known to have happened (last, first, then creation)."""
    for timestamp in (event.last_timestamp, event.first_timestamp, event.metadata.creation_timestamp):
        if is_set(timestamp):
            return timestamp  # type: ignore[no-any-return]
    return Timestamp()


def involved_object(event: Any) -> str:
    """``pod/web``: the lowercase kind and name the event is about."""
    ref = event.involved_object
    return f"{ref.kind.lower()}/{ref.name}"


EVENT_COLUMNS = (
    Column("LAST SEEN", lambda event, now: since(event_last_seen(event), now)),
    Column("TYPE", lambda event, now: event.type or "Normal"),
    Column("REASON", lambda event, now: str(event.reason)),
    Column("OBJECT", lambda event, now: involved_object(event)),
    Column("SOURCE", lambda event, now: _or_none(event.source), wide=True),
    Column("MESSAGE", lambda event, now: " ".join(str(event.message).split())),
    Column("FIRST SEEN", lambda event, now: since(event.first_timestamp, now), wide=True),
    Column("COUNT", lambda event, now: str(max(event.count, 1)), wide=True),
    Column("NAME", name, wide=True),
)

NAMESPACE_COLUMNS = (
    Column("NAME", name),
    Column("STATUS", lambda ns, now: ns.status.phase or "Active"),
    Column("AGE", age),
)

LEASE_COLUMNS = (
    Column("NAME", name),
    Column("HOLDER", lambda lease, now: str(lease.spec.holder_identity)),
    Column("AGE", age),
)

ROLE_COLUMNS = (
    Column("NAME", name),
    Column("RULES", lambda role, now: str(len(role.spec.rules))),
    Column("AGE", age),
)

ROLE_BINDING_COLUMNS = (
    Column("NAME", name),
    Column("ROLE", lambda binding, now: str(binding.spec.role_ref)),
    Column("SUBJECTS", lambda binding, now: ",".join(f"{s.kind}:{s.name}" for s in binding.spec.subjects) or "<none>"),
    Column("NAMESPACES", lambda binding, now: ",".join(binding.spec.namespaces) or "<all>"),
    Column("AGE", age),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "Pod": POD_COLUMNS,
    "VirtualMachine": VM_COLUMNS,
    "Deployment": DEPLOYMENT_COLUMNS,
    "Node": NODE_COLUMNS,
    "Event": EVENT_COLUMNS,
    "Namespace": NAMESPACE_COLUMNS,
    "Lease": LEASE_COLUMNS,
    "Role": ROLE_COLUMNS,
    "RoleBinding": ROLE_BINDING_COLUMNS,
}
NAMESPACE_COLUMN = Column("NAMESPACE", namespace)


def columns_for(kind: kinds.Kind, *, wide: bool = False, all_namespaces: bool = False) -> list[Column]:
    """The columns shown for ``kind``: NAMESPACE first when listing every namespace of a
    namespaced kind; wide-only columns only when ``wide``."""
    chosen = [column for column in COLUMNS[kind.name] if wide or not column.wide]
    if all_namespaces and kind.namespaced:
        chosen.insert(0, NAMESPACE_COLUMN)
    return chosen


def headers(columns: Sequence[Column]) -> list[str]:
    return [column.header for column in columns]


def rows(columns: Sequence[Column], objects: Sequence[object_pb2.Object], now: float) -> list[list[str]]:
    """One row of cells per object."""
    return [[column.cell(kinds.unwrap(obj), now) for column in columns] for obj in objects]


def sort_for_display(kind: kinds.Kind, objects: Sequence[object_pb2.Object]) -> list[object_pb2.Object]:
    """Events oldest first (as kubectl prints them); everything else in server (key) order."""
    if kind.name != "Event":
        return list(objects)

    def last_seen(obj: object_pb2.Object) -> tuple[int, int]:
        timestamp = event_last_seen(kinds.unwrap(obj))
        return (timestamp.seconds, timestamp.nanos)

    return sorted(objects, key=last_seen)


def resource_name(obj: object_pb2.Object) -> str:
    """``pod/web``, ``namespace/prod``: lowercase singular kind and name, as kubectl prints them."""
    return f"{kinds.of_object(obj).singular}/{kinds.unwrap(obj).metadata.name}"


def align(table: Sequence[Sequence[str]], widths: list[int] | None = None) -> list[str]:
    """Lines of ``table`` with columns aligned like kubectl's tabwriter. ``widths`` (updated in
    place) carries column widths from earlier calls, so that they only grow."""
    widths = [] if widths is None else widths
    for row in table:
        for index, cell in enumerate(row):
            width = max(len(cell) + PADDING, MIN_WIDTH)
            if index >= len(widths):
                widths.append(width)
            else:
                widths[index] = max(widths[index], width)
    lines = []
    for row in table:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + (row[-1] if row else ""))
    return lines


class TableWriter:
    """Writes aligned table lines; widths only grow, so later rows (watch) stay aligned."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._widths: list[int] = []

    def write(self, table: Sequence[Sequence[str]]) -> None:
        for line in align(table, self._widths):
            self._out.write(line + "\n")
        self._out.flush()

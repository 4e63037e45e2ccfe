"""What the scheduler writes besides bindings, as pure message builders: Events and conditions.

Events (built by atoll.events, source "scheduler"): Normal/Scheduled naming the
node, Warning/FailedScheduling with the explanation, Normal/Preempted on each victim naming the
preemptor. Status: ``PodScheduled`` (Pods) or ``Scheduled`` (VMs) = False, reason
Unschedulable, with the same message; ``status.nominatedNodeName`` for preemptors.
Timestamps come from the ``wall`` argument (seconds since the epoch): time is data.
"""

from __future__ import annotations

from atoll import kinds
from atoll.clock import to_timestamp
from atoll.conditions import scheduled_condition_type
from atoll.events import NORMAL, WARNING, new_event
from atoll.v1 import event_pb2, object_pb2
from scheduler.workload import WorkloadInfo

SOURCE = "scheduler"
UNSCHEDULABLE = "Unschedulable"


def event(info: WorkloadInfo, reason: str, message: str, warning: bool, wall: float) -> event_pb2.Event:
    """A new Event about ``info`` (atoll.events' rule)."""
    return new_event(
        kind=info.kind, namespace=info.namespace, name=info.name, uid=info.uid, reason=reason, message=message,
        source=SOURCE, at=wall, event_type=WARNING if warning else NORMAL, resource_version=info.resource_version,
    )


def scheduled(info: WorkloadInfo, node: str, wall: float) -> event_pb2.Event:
    return event(info, "Scheduled", f"Successfully assigned {info.namespace}/{info.name} to {node}", False, wall)


def failed_scheduling(info: WorkloadInfo, message: str, wall: float) -> event_pb2.Event:
    return event(info, "FailedScheduling", message, True, wall)


def preempted(victim: WorkloadInfo, preemptor: WorkloadInfo, node: str, wall: float) -> event_pb2.Event:
    text = (
        f"Preempted by {preemptor.kind.lower()} {preemptor.namespace}/{preemptor.name} "
        f"(priority {preemptor.priority}) on node {node}"
    )
    return event(victim, "Preempted", text, False, wall)


def with_scheduled_condition(
    obj: object_pb2.Object, status: str, reason: str, message: str, wall: float, nominated_node: str | None = None
) -> object_pb2.Object | None:
    """A copy of ``obj`` with the scheduling condition set; None when nothing would change.

    ``nominated_node``: None leaves ``status.nominatedNodeName`` alone, "" clears it.
    """
    copy = object_pb2.Object()
    copy.CopyFrom(obj)
    message_obj = kinds.unwrap(copy)
    wanted = scheduled_condition_type(kinds.of_object(copy).name)
    conditions = message_obj.status.conditions
    current = next((c for c in conditions if c.type == wanted), None)
    same_condition = current is not None and (current.status, current.reason, current.message) == (
        status,
        reason,
        message,
    )
    same_nomination = nominated_node is None or message_obj.status.nominated_node_name == nominated_node
    if same_condition and same_nomination:
        return None
    if current is None:
        current = conditions.add(type=wanted)
    if current.status != status:
        current.last_transition_time.CopyFrom(to_timestamp(wall))
    current.status, current.reason, current.message = status, reason, message
    if nominated_node is not None:
        message_obj.status.nominated_node_name = nominated_node
    return copy

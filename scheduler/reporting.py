"""What the scheduler writes besides bindings, as pure message builders: Events and conditions.

Events go to the workload's namespace with source "scheduler": Normal/Scheduled naming the
node, Warning/FailedScheduling with the explanation, Normal/Preempted on each victim naming the
preemptor. Status: ``PodScheduled`` (Pods) or ``Scheduled`` (VMs) = False, reason
Unschedulable, with the same message; ``status.nominatedNodeName`` for preemptors.
Timestamps come from the ``wall`` argument (seconds since the epoch): time is data.
"""

from __future__ import annotations

import itertools
import os

from google.protobuf.timestamp_pb2 import Timestamp

from atoll import kinds
from atoll.v1 import event_pb2, meta_pb2, object_pb2
from scheduler.workload import POD, WorkloadInfo

SOURCE = "scheduler"
UNSCHEDULABLE = "Unschedulable"
_SEQUENCE = itertools.count()
_INSTANCE = os.urandom(3).hex()


def condition_type(kind: str) -> str:
    """PodScheduled for Pods, Scheduled for VirtualMachines."""
    return "PodScheduled" if kind == POD else "Scheduled"


def timestamp(wall: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(wall * 1e9))
    return stamp


def event(info: WorkloadInfo, reason: str, message: str, warning: bool, wall: float) -> object_pb2.Object:
    """A new Event about ``info``; names are unique per scheduler process."""
    stamp = timestamp(wall)
    body = event_pb2.Event(
        metadata=meta_pb2.ObjectMeta(
            name=f"{info.name}.{_INSTANCE}{next(_SEQUENCE):x}"[:253], namespace=info.namespace
        ),
        involved_object=event_pb2.ObjectReference(
            kind=info.kind,
            namespace=info.namespace,
            name=info.name,
            uid=info.uid,
            resource_version=info.resource_version,
        ),
        reason=reason,
        message=message,
        type="Warning" if warning else "Normal",
        count=1,
        first_timestamp=stamp,
        last_timestamp=stamp,
        source=SOURCE,
    )
    return kinds.by_name("Event").wrap(body)


def scheduled(info: WorkloadInfo, node: str, wall: float) -> object_pb2.Object:
    return event(info, "Scheduled", f"Successfully assigned {info.namespace}/{info.name} to {node}", False, wall)


def failed_scheduling(info: WorkloadInfo, message: str, wall: float) -> object_pb2.Object:
    return event(info, "FailedScheduling", message, True, wall)


def preempted(victim: WorkloadInfo, preemptor: WorkloadInfo, node: str, wall: float) -> object_pb2.Object:
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
    wanted = condition_type(kinds.of_object(copy).name)
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
        current.last_transition_time.CopyFrom(timestamp(wall))
    current.status, current.reason, current.message = status, reason, message
    if nominated_node is not None:
        message_obj.status.nominated_node_name = nominated_node
    return copy

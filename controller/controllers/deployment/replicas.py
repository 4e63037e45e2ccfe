"""What a Deployment needs to know about one replica, whether it is a Pod or a VirtualMachine.

- ``ready``: a Pod is Running with no Ready condition other than True (the agent sets it from
  the containers' readiness probes); a VirtualMachine is Running (phase) and, where the agent
  reports a Ready condition (guest booted, readiness probe passing), that is True.
- ``available``: ready for at least the Deployment's ``minReadySeconds``, counted from the
  Ready condition's last transition (``available_at``); with 0, available equals ready.
- ``active``: counted as a replica at all. Pods that Succeeded or Failed are not (the Deployment
  deletes them and makes new ones); a Failed VirtualMachine still is (its run strategy decides,
  in the VirtualMachine controller, whether it restarts).
- ``scale_down_rank``: lower ranks are deleted first, as Kubernetes ranks pods: unbound before
  bound, not running before running, not ready before ready, newer before older.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from atoll.annotations import TEMPLATE_HASH_LABEL
from atoll.v1 import deployment_pb2, pod_pb2, virtualmachine_pb2
from controller.controllers.conditions import find_condition
from controller.controllers.ownership import controller_ref
from controller.controllers.workloads import Workload, is_ready

POD = "Pod"
VIRTUAL_MACHINE = "VirtualMachine"
REPLICA_KINDS = (POD, VIRTUAL_MACHINE)
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Replica:
    """A read-only summary of one replica object."""

    kind: str
    name: str
    template_hash: str
    active: bool
    ready: bool
    rank: tuple[int, int, int, float]
    # Already marked for deletion (it may stay Terminating while its node is down): never delete again.
    deleting: bool = False
    available: bool = False
    # When a ready replica becomes (or became) available; 0 when it is not ready.
    available_at: float = 0.0


def template_kind(template: deployment_pb2.WorkloadTemplate) -> str:
    return VIRTUAL_MACHINE if template.WhichOneof("kind") == "virtual_machine" else POD


def summarize(kind: str, obj: Workload, now: float = 0.0, min_ready_seconds: int = 0) -> Replica:
    """``now`` and ``min_ready_seconds`` decide ``available`` (see the module docstring)."""
    phase = obj.status.phase
    ready = is_ready(obj)
    ready_condition = find_condition(obj.status.conditions, "Ready")
    available_at = 0.0
    if ready:
        since = ready_condition.last_transition_time.ToNanoseconds() / 1e9 if ready_condition is not None else 0.0
        available_at = since + max(0, min_ready_seconds) if since else 0.0
    finished = kind == POD and phase in ("Succeeded", "Failed")
    deleting = obj.metadata.HasField("deletion_timestamp")
    active = not finished and not deleting
    created = obj.metadata.creation_timestamp.ToNanoseconds() / 1e9
    rank = (
        1 if obj.spec.node_name else 0,
        1 if phase == "Running" else 0,
        1 if ready else 0,
        -created,
    )
    template_hash = obj.metadata.labels.get(TEMPLATE_HASH_LABEL, "")
    available = ready and available_at <= now
    return Replica(kind, obj.metadata.name, template_hash, active, ready, rank, deleting, available, available_at)


def replica_name(deployment_name: str, digest: str) -> str:
    """``NAME-HASH-xxxxx``: a fresh name for a replica (random 5-character suffix)."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return f"{deployment_name[:230]}-{digest}-{suffix}"


def new_replica(deployment: deployment_pb2.Deployment, digest: str, name: str) -> Workload:
    """A Pod or VirtualMachine from the Deployment's template, controlled by the Deployment."""
    template = deployment.spec.template
    replica: Workload
    if template_kind(template) == POD:
        replica = pod_pb2.Pod(spec=template.pod.spec)
        source_meta = template.pod.metadata
    else:
        replica = virtualmachine_pb2.VirtualMachine(spec=template.virtual_machine.spec)
        source_meta = template.virtual_machine.metadata
    meta = replica.metadata
    meta.name = name
    meta.namespace = deployment.metadata.namespace
    meta.labels.update(source_meta.labels)
    meta.labels[TEMPLATE_HASH_LABEL] = digest
    meta.annotations.update(source_meta.annotations)
    meta.owner_references.append(controller_ref("Deployment", deployment))
    replica.spec.ClearField("node_name")
    return replica

"""Persistent storage rules shared by the API server, the binding controller, the scheduler and
the agents: the values of claims, volumes and classes, the names of the annotations and finalizers
the system writes, where a volume's data lives on a node, and whether a volume can serve a claim.

Where the data lives. A volume's ``local.path`` or ``shared.path`` is one file name, never a path:
a local volume is ``LOCAL_DIR/NAME`` on its node (the agent's ``--local-volume-dir``), a shared one
``SHARED_DIR/NAME`` on every node (``--shared-storage-dir``, one mount at the same path
everywhere). A Filesystem volume is a directory; a Block volume one raw file; a VM disk on a
Filesystem volume is ``disk.qcow2`` inside it. So no volume ever names a file outside those two
directories, whoever wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from atoll.quantity import QuantityError, parse_quantity
from atoll.v1 import storage_pb2

READ_WRITE_ONCE = "ReadWriteOnce"
READ_WRITE_MANY = "ReadWriteMany"
READ_ONLY_MANY = "ReadOnlyMany"
ACCESS_MODES = (READ_WRITE_ONCE, READ_WRITE_MANY, READ_ONLY_MANY)
FILESYSTEM = "Filesystem"
BLOCK = "Block"
VOLUME_MODES = (FILESYSTEM, BLOCK)
RECLAIM_DELETE = "Delete"
RECLAIM_RETAIN = "Retain"
RECLAIM_POLICIES = (RECLAIM_DELETE, RECLAIM_RETAIN)
IMMEDIATE = "Immediate"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
BINDING_MODES = (IMMEDIATE, WAIT_FOR_FIRST_CONSUMER)
LOCAL_PROVISIONER = "atoll.dev/local"
SHARED_PROVISIONER = "atoll.dev/shared"
PROVISIONERS = (LOCAL_PROVISIONER, SHARED_PROVISIONER)
# Access modes each provisioner's volumes offer: a local directory is one node's.
PROVISIONER_ACCESS_MODES = {
    LOCAL_PROVISIONER: frozenset({READ_WRITE_ONCE, READ_ONLY_MANY}),
    SHARED_PROVISIONER: frozenset(ACCESS_MODES),
}

CLAIM_PENDING, CLAIM_BOUND, CLAIM_LOST = "Pending", "Bound", "Lost"
CLAIM_PHASES = (CLAIM_PENDING, CLAIM_BOUND, CLAIM_LOST)
VOLUME_AVAILABLE, VOLUME_BOUND, VOLUME_RELEASED, VOLUME_FAILED = "Available", "Bound", "Released", "Failed"
VOLUME_PHASES = (VOLUME_AVAILABLE, VOLUME_BOUND, VOLUME_RELEASED, VOLUME_FAILED)
STORAGE = "storage"

# On a StorageClass: "true" makes it the class of claims that name none.
DEFAULT_CLASS_ANNOTATION = "storageclass.atoll.dev/is-default-class"
# On a claim of a WaitForFirstConsumer class: the node its first consumer was placed on, where
# the volume is provisioned (kube-scheduler's volume.kubernetes.io/selected-node).
SELECTED_NODE_ANNOTATION = "volume.atoll.dev/selected-node"
# On a volume the binding controller provisioned: the provisioner that made it.
PROVISIONED_BY_ANNOTATION = "pv.atoll.dev/provisioned-by"
# A claim used by a workload that still exists is not removed (Kubernetes' pvc-protection).
CLAIM_PROTECTION_FINALIZER = "atoll.dev/pvc-protection"
# A volume bound to a claim is not removed (Kubernetes' pv-protection).
VOLUME_PROTECTION_FINALIZER = "atoll.dev/pv-protection"
# On a volume provisioned with reclaim policy Delete: its data still exists. When the volume is
# deleted, the node that holds the data (for a shared volume any node with the shared dir) removes
# the data, then this finalizer; for a local volume whose node is gone, the binding controller.
VOLUME_DATA_FINALIZER = "atoll.dev/volume-data"
# The node resource (bytes) local volumes are made from: agents report it in status.capacity and
# allocatable (the free space of the local volume dir; fleet files: localStorage), the scheduler
# fits unplaced local claims against it.
LOCAL_CAPACITY_RESOURCE = "storage.atoll.dev/local"
# A node's room for the local volumes of one class (bytes): CLASS_CAPACITY_PREFIX + class name.
# A class that any node declares this for draws on it alone (a node that declares none has no room
# for that class); every other local class draws on LOCAL_CAPACITY_RESOURCE. Hollow fleets declare
# it per group (``storageClasses``), so scale tests model nodes with several kinds of disk.
CLASS_CAPACITY_PREFIX = "class.storage.atoll.dev/"
# The node label a local volume's node affinity selects on.
HOSTNAME_LABEL = "atoll.dev/hostname"
# The file of a VM disk inside a Filesystem volume.
VM_DISK_FILE = "disk.qcow2"
# The classes `atoll up` creates: local (default) and shared.
LOCAL_CLASS = "local"
SHARED_CLASS = "shared"

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")


def volume_path_problem(name: str) -> str | None:
    """Why ``name`` cannot be a volume's file name inside a volume directory, or None: one path
    segment of letters, digits, '_', '.', '-' (not starting with '.' or '-'), at most 253."""
    if not _VOLUME_NAME.match(name):
        return "must be one file name (letters, digits, '_', '.', '-'; not starting with '.' or '-'), not a path"
    return None


def storage_bytes(resources: Mapping[str, str]) -> int | None:
    """The ``storage`` quantity of a requests/capacity map in whole bytes (rounded up); None when
    absent or invalid (validation reports it)."""
    return quantity_bytes(resources.get(STORAGE, ""))


def quantity_bytes(text: str) -> int | None:
    """A quantity in whole bytes (rounded up); None when empty or invalid."""
    if not text:
        return None
    try:
        value = parse_quantity(text)
    except QuantityError:
        return None
    return -(-value.numerator // value.denominator)


def volume_mode(mode: str) -> str:
    return mode or FILESYSTEM


def claim_size(claim: storage_pb2.PersistentVolumeClaim) -> int:
    return storage_bytes(claim.spec.resources.requests) or 0


def volume_size(volume: storage_pb2.PersistentVolume) -> int:
    return storage_bytes(volume.spec.capacity) or 0


def volume_serves_problem(volume: storage_pb2.PersistentVolume, claim: storage_pb2.PersistentVolumeClaim) -> str | None:
    """Why ``volume`` cannot be bound to ``claim`` (class, mode, access modes, size, reservation
    for another claim), or None when it can. Ignores phases: the caller picks Available volumes."""
    if volume.spec.storage_class_name != claim.spec.storage_class_name:
        return f"class {volume.spec.storage_class_name or '<none>'} is not {claim.spec.storage_class_name or '<none>'}"
    if volume_mode(volume.spec.volume_mode) != volume_mode(claim.spec.volume_mode):
        return f"volume mode {volume_mode(volume.spec.volume_mode)} is not {volume_mode(claim.spec.volume_mode)}"
    missing = set(claim.spec.access_modes) - set(volume.spec.access_modes)
    if missing:
        return f"does not offer {', '.join(sorted(missing))}"
    if volume_size(volume) < claim_size(claim):
        return f"{volume.spec.capacity.get(STORAGE, '0')} is smaller than {claim.spec.resources.requests.get(STORAGE)}"
    ref = volume.spec.claim_ref
    if ref.name and (ref.namespace, ref.name) != (claim.metadata.namespace, claim.metadata.name):
        return f"reserved for claim {ref.namespace}/{ref.name}"
    if ref.uid and ref.uid != claim.metadata.uid:
        return "reserved for an earlier claim of that name"
    return None


def is_default_class(storage_class: storage_pb2.StorageClass) -> bool:
    return storage_class.metadata.annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"


def volume_node(volume: storage_pb2.PersistentVolume) -> str | None:
    """The one node a local volume's affinity names (``atoll.dev/hostname In [NODE]``), or None."""
    for term in volume.spec.node_affinity.required.node_selector_terms:
        for requirement in term.match_expressions:
            if requirement.key == HOSTNAME_LABEL and requirement.operator == "In" and len(requirement.values) == 1:
                return str(requirement.values[0])
    return None


def pin_to_node(volume: storage_pb2.PersistentVolume, node: str) -> None:
    """Give ``volume`` the node affinity of a local volume on ``node``."""
    term = volume.spec.node_affinity.required.node_selector_terms.add()
    term.match_expressions.add(key=HOSTNAME_LABEL, operator="In", values=[node])


def class_capacity_resource(class_name: str) -> str:
    """The node resource that declares room for the local volumes of class ``class_name``."""
    return CLASS_CAPACITY_PREFIX + class_name


def local_pool(class_name: str, declared: Callable[[str], bool]) -> str:
    """The node resource a local volume of class ``class_name`` takes room from: its class's own
    (when ``declared(resource)``: some node offers it) or the node's general local room. One rule
    for the scheduler (where a claim fits) and the binding controller (whether it can provision)."""
    own = class_capacity_resource(class_name)
    return own if class_name and declared(own) else LOCAL_CAPACITY_RESOURCE


def claims_of(workload: Any) -> tuple[str, ...]:
    """Names of the claims (in its own namespace) a Pod or VirtualMachine uses: VM disks from
    claims and Pod volumes from claims."""
    names: list[str] = []
    spec = workload.spec
    for disk in getattr(spec, "disks", ()):
        if disk.persistent_volume_claim:
            names.append(disk.persistent_volume_claim)
    for volume in getattr(spec, "volumes", ()):
        if volume.HasField("persistent_volume_claim"):
            names.append(volume.persistent_volume_claim.claim_name)
    return tuple(dict.fromkeys(names))


def holds_claims(workload: Any) -> bool:
    """Whether a workload still holds its claims: every VM object does (its disks outlive its
    runs); a Pod until it Succeeded or Failed."""
    if hasattr(workload.spec, "disks"):
        return True
    return workload.status.phase not in ("Succeeded", "Failed")

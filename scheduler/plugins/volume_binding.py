"""VolumeBinding: volume topology (kube-scheduler's VolumeBinding, VolumeRestrictions and
VolumeZone in one). A workload that uses claims may only go where their volumes are or can be:

- a claim bound to a local volume: that volume's node (node affinity);
- a ReadWriteOnce claim already used by a placed workload: that workload's node (a second
  workload on another node waits, with the reason);
- an unplaced claim of a WaitForFirstConsumer class: a node with enough free local storage in
  its class's pool (atoll.storage.local_pool: ``class.storage.atoll.dev/CLASS`` when nodes
  declare room per class, else ``storage.atoll.dev/local``; the node's allocatable minus what
  local volumes and placed claims of that pool already take there); Reserve records the choice
  until the binding controller's provisioning shows up in the claim;
- a missing, Lost or deleting claim, or an unbound claim of an Immediate class, fits nowhere yet.
Claims of the shared class bind at once and fit every node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from atoll import storage
from scheduler.arrays import I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, Reserve, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.snapshot import ClusterSnapshot
from scheduler.volumes import ClaimFacts
from scheduler.workload import WorkloadInfo

NAME = "VolumeBinding"
AFFINITY_REASON = "node(s) had volume node affinity conflict"
LOCAL_STORAGE_REASON = "node(s) did not have enough free local storage"


def _short_of(pool: str) -> str:
    """The reason a node lacks room in ``pool`` (a class's own pool names the class)."""
    if pool.startswith(storage.CLASS_CAPACITY_PREFIX):
        return f"{LOCAL_STORAGE_REASON} of class {pool.removeprefix(storage.CLASS_CAPACITY_PREFIX)}"
    return LOCAL_STORAGE_REASON


@dataclass(slots=True)
class _Needs:
    """What one workload's claims ask of a node, worked out once per cycle."""

    nodes: dict[str, str] = field(default_factory=dict)  # node the workload must run on -> reason
    local_bytes: dict[str, int] = field(default_factory=dict)  # storage class -> bytes to provision there
    unplaced: list[ClaimFacts] = field(default_factory=list)  # claims whose volume goes where the workload goes


class VolumeBinding(PreFilter, VectorFilter, Reserve, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        if not workload.claims:
            return SKIP
        index = snapshot.volumes
        needs = _Needs()
        for name, key in zip(workload.claims, workload.claim_keys, strict=True):
            claim = index.claims.get(key)
            if claim is None:
                return Status.unschedulable(NAME, f'persistentvolumeclaim "{name}" not found')
            if claim.deleting:
                return Status.unschedulable(NAME, f'persistentvolumeclaim "{name}" is being deleted')
            if claim.phase == storage.CLAIM_LOST:
                return Status.unschedulable(
                    NAME, f'persistentvolumeclaim "{name}" is Lost (its volume or node is gone)'
                )
            storage_class = index.class_of(claim)
            node = index.claim_node(claim)
            if claim.volume_name and claim.volume_name not in index.volumes:
                return Status.unschedulable(NAME, f'persistentvolumeclaim "{name}" is bound to a volume not seen yet')
            if not claim.volume_name and (storage_class is None or not storage_class.waits_for_consumer):
                return Status.unschedulable(NAME, "workload has unbound immediate PersistentVolumeClaims")
            if node is not None:
                needs.nodes.setdefault(node, f"{AFFINITY_REASON} (claim {name} is on node {node})")
            elif not claim.volume_name and storage_class and storage_class.provisioner == storage.LOCAL_PROVISIONER:
                class_name = storage_class.name
                needs.local_bytes[class_name] = needs.local_bytes.get(class_name, 0) + claim.size
                needs.unplaced.append(claim)
            if claim.single_node:
                for user_node in index.users.get(key, ()):
                    needs.nodes.setdefault(
                        user_node, f"node(s) not {user_node}, where ReadWriteOnce claim {name} is in use"
                    )
        state.write(NAME, needs)
        return SUCCESS

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        needs = state.read(NAME, _Needs)
        assert needs is not None, "pre_filter ran"
        table = snapshot.nodes
        passed = np.ones(table.capacity, dtype=np.bool_)
        reasons: list[ReasonMask] = []
        for node, reason in needs.nodes.items():
            only = np.zeros(table.capacity, dtype=np.bool_)
            slot = table.index.get(node)
            if slot is not None:
                only[slot] = True
            passed &= only
            reasons.append(ReasonMask(reason, ~only))
        if needs.local_bytes:
            prefix = storage.CLASS_CAPACITY_PREFIX
            declared = frozenset(name for name in table.extended_alloc if name.startswith(prefix))
            wanted: dict[str, int] = {}
            for class_name, size in needs.local_bytes.items():
                pool = storage.local_pool(class_name, declared.__contains__)
                wanted[pool] = wanted.get(pool, 0) + size
            for pool, size in wanted.items():
                roomy = self._room(snapshot, pool, declared) >= size
                passed &= roomy
                reasons.append(ReasonMask(_short_of(pool), ~roomy))
        return NodeVerdict(passed, tuple(reasons) if explain else ())

    @staticmethod
    def _room(snapshot: ClusterSnapshot, pool: str, declared: frozenset[str]) -> I64Array:
        """Bytes each node has left in ``pool``: its allocatable minus what local volumes and
        placed claims of the classes drawing on that pool take there."""
        table = snapshot.nodes
        capacity = table.extended_alloc.get(pool)
        room = np.zeros(table.capacity, dtype=np.int64) if capacity is None else capacity.copy()
        for node, used in snapshot.volumes.local_used(pool, declared).items():
            slot = table.index.get(node)
            if slot is not None:
                room[slot] -= used
        return room

    def reserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> Status:
        needs = state.read(NAME, _Needs)
        for claim in needs.unplaced if needs is not None else ():
            snapshot.volumes.assume(claim.key, node, claim.size)
        return SUCCESS

    def unreserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> None:
        for key in workload.claim_keys:
            claim = snapshot.volumes.claims.get(key)
            if claim is not None and not claim.volume_name and not claim.selected_node:
                snapshot.volumes.forget(key)

"""VolumeIndex: the claims, volumes and classes the scheduler places workloads by (volume topology).

Fed by the scheduling loop from watches of PersistentVolumeClaim, PersistentVolume and
StorageClass; read by the VolumeBinding plugin. It also knows which nodes hold each claim (bound
workloads that use it, charged by the snapshot) and how much local storage each node has promised,
by class: local volumes pinned to it, claims whose provisioning chose it, and claims this
scheduler assumed there before the binding controller has seen them (``assume``/``forget``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from atoll import storage
from atoll.v1 import storage_pb2

LOCAL_CAPACITY = storage.LOCAL_CAPACITY_RESOURCE


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    key: str  # namespace/name
    phase: str
    class_name: str
    access_modes: frozenset[str]
    size: int
    volume_name: str
    selected_node: str
    deleting: bool

    @property
    def single_node(self) -> bool:
        """ReadWriteOnce: every workload using it runs on one node."""
        return storage.READ_WRITE_ONCE in self.access_modes


@dataclass(frozen=True, slots=True)
class VolumeFacts:
    name: str
    node: str | None  # the node a local volume is on; None: every node reaches it
    size: int
    class_name: str = ""


@dataclass(frozen=True, slots=True)
class ClassFacts:
    name: str
    provisioner: str
    waits_for_consumer: bool


def claim_facts(claim: storage_pb2.PersistentVolumeClaim) -> ClaimFacts:
    meta = claim.metadata
    return ClaimFacts(
        key=f"{meta.namespace}/{meta.name}",
        phase=claim.status.phase or storage.CLAIM_PENDING,
        class_name=claim.spec.storage_class_name,
        access_modes=frozenset(claim.spec.access_modes),
        size=storage.claim_size(claim),
        volume_name=claim.spec.volume_name,
        selected_node=meta.annotations.get(storage.SELECTED_NODE_ANNOTATION, ""),
        deleting=meta.HasField("deletion_timestamp"),
    )


def volume_facts(volume: storage_pb2.PersistentVolume) -> VolumeFacts:
    return VolumeFacts(
        volume.metadata.name, storage.volume_node(volume), storage.volume_size(volume), volume.spec.storage_class_name
    )


def class_facts(storage_class: storage_pb2.StorageClass) -> ClassFacts:
    return ClassFacts(
        storage_class.metadata.name,
        storage_class.provisioner,
        storage_class.volume_binding_mode == storage.WAIT_FOR_FIRST_CONSUMER,
    )


class VolumeIndex:
    """Claims, volumes and classes by name, with per-node local usage. One owner mutates."""

    def __init__(self) -> None:
        self.claims: dict[str, ClaimFacts] = {}
        self.volumes: dict[str, VolumeFacts] = {}
        self.classes: dict[str, ClassFacts] = {}
        self.default_class = ""
        self.users: dict[str, Counter[str]] = defaultdict(Counter)  # claim key -> node -> workloads
        self._assumed: dict[str, tuple[str, int]] = {}  # claim key -> (node, bytes), until seen placed
        # local_used() by (pool, declared class pools), until claims, volumes, classes or assumptions change
        self._used: dict[tuple[str, frozenset[str]], dict[str, int]] = {}

    # -- feeding ----------------------------------------------------------------------------------

    def upsert_claim(self, facts: ClaimFacts) -> None:
        self._used = {}
        self.claims[facts.key] = facts
        if facts.volume_name or facts.selected_node:
            self._assumed.pop(facts.key, None)

    def remove_claim(self, key: str) -> None:
        self._used = {}
        self.claims.pop(key, None)
        self._assumed.pop(key, None)

    def upsert_volume(self, facts: VolumeFacts) -> None:
        self._used = {}
        self.volumes[facts.name] = facts

    def remove_volume(self, name: str) -> None:
        self._used = {}
        self.volumes.pop(name, None)

    def upsert_class(self, storage_class: storage_pb2.StorageClass) -> None:
        self._used = {}  # the default class may change
        self.classes[storage_class.metadata.name] = class_facts(storage_class)
        if storage.is_default_class(storage_class):
            self.default_class = storage_class.metadata.name
        elif self.default_class == storage_class.metadata.name:
            self.default_class = ""

    def remove_class(self, name: str) -> None:
        self._used = {}
        self.classes.pop(name, None)
        if self.default_class == name:
            self.default_class = ""

    def charge_user(self, claim_keys: tuple[str, ...], node: str, sign: int) -> None:
        """A bound workload using ``claim_keys`` arrived on (+1) or left (-1) ``node``."""
        for key in claim_keys:
            users = self.users[key]
            users[node] += sign
            if users[node] <= 0:
                del users[node]
            if not users:
                del self.users[key]

    # -- assumptions ------------------------------------------------------------------------------

    def assume(self, key: str, node: str, size: int) -> None:
        """This scheduler placed the first consumer of unplaced claim ``key`` on ``node``."""
        self.forget(key)
        self._assumed[key] = (node, size)
        self._shift(key, node, size)

    def forget(self, key: str) -> None:
        previous = self._assumed.pop(key, None)
        if previous is not None:
            self._shift(key, previous[0], -previous[1])

    def _shift(self, key: str, node: str, size: int) -> None:
        """Keeps every cached ``local_used`` true when claim ``key``'s assumption on ``node``
        comes (+size) or goes (-size): one placement must not cost a recount of every claim."""
        claim = self.claims.get(key)
        class_name = (claim.class_name or self.default_class) if claim is not None else ""
        for (pool, declared), used in self._used.items():
            if storage.local_pool(class_name, declared.__contains__) == pool:
                used[node] = used.get(node, 0) + size

    # -- reading ----------------------------------------------------------------------------------

    def class_of(self, claim: ClaimFacts) -> ClassFacts | None:
        return self.classes.get(claim.class_name or self.default_class)

    def claim_node(self, claim: ClaimFacts) -> str | None:
        """The node a claim's volume is (or will be) on: its bound local volume's, its selected
        node, or where this scheduler assumed its first consumer; None when not fixed."""
        if claim.volume_name:
            volume = self.volumes.get(claim.volume_name)
            return volume.node if volume is not None else None
        if claim.selected_node:
            return claim.selected_node
        assumed = self._assumed.get(claim.key)
        return assumed[0] if assumed is not None else None

    def local_used(self, pool: str, declared: frozenset[str]) -> dict[str, int]:
        """Bytes of local storage promised on each node in ``pool``: by the volumes and claims of
        the classes that draw on it (atoll.storage.local_pool, given the per-class resources
        some node ``declared``)."""
        key = (pool, declared)
        cached = self._used.get(key)
        if cached is not None:
            return cached
        in_pool: dict[str, bool] = {}

        def counts(class_name: str) -> bool:
            hit = in_pool.get(class_name)
            if hit is None:
                hit = in_pool[class_name] = storage.local_pool(class_name, declared.__contains__) == pool
            return hit

        used: Counter[str] = Counter()
        for volume in self.volumes.values():
            if volume.node is not None and counts(volume.class_name):
                used[volume.node] += volume.size
        for claim in self.claims.values():
            if not claim.volume_name and claim.selected_node and counts(claim.class_name or self.default_class):
                used[claim.selected_node] += claim.size
        for claim_key, (node, size) in self._assumed.items():
            assumed = self.claims.get(claim_key)
            if counts((assumed.class_name or self.default_class) if assumed is not None else ""):
                used[node] += size
        result = self._used[key] = dict(used)
        return result


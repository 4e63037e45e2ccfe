"""A workload's claims resolved to volumes this node can use (kubelet's volume manager, reduced).

For each claim a workload names (atoll.storage.claims_of), in the workload's namespace:
- the claim must exist and be Bound; otherwise the workload waits (ClaimNotReady, retried: the
  binding controller may still be provisioning, or waiting for this very placement);
- its volume must be reachable here: a local volume pinned to this node, or a shared volume when
  this node has the shared dir; otherwise the workload cannot run here (ClaimUnusable: the
  scheduler should not have placed it here, or the volume's node changed);
- the data (directory or block file) is made on first use, when this node stores volumes
  (``VolumeDirs``); a simulated node has none and only checks binding and placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from atoll import storage
from atoll.client import ApiError
from atoll.ports import Getter
from atoll.v1 import storage_pb2
from atoll.volume_data import VolumePathError, ensure_volume, volume_path

CLAIM_NOT_READY_REASON = "VolumeNotReady"
CLAIM_UNUSABLE_REASON = "VolumeUnusable"


@dataclass(frozen=True)
class VolumeDirs:
    """Where this node keeps volume data: ``local`` (``--local-volume-dir``) and the shared dir
    every node mounts at the same path (``--shared-storage-dir``; None: this node has none)."""

    local: Path
    shared: Path | None = None


@dataclass(frozen=True)
class ClaimVolume:
    """One claim of a workload, resolved: its volume and (on a node that stores volumes) the
    path of the volume's data."""

    claim: str
    volume: str
    block: bool
    size: int
    read_only: bool
    path: Path | None


class ClaimNotReady(Exception):
    """The claim is not usable yet; the workload waits and is retried (reason VolumeNotReady)."""


class ClaimUnusable(Exception):
    """The claim's volume cannot be used on this node (reason VolumeUnusable)."""


async def resolve_claims(api: Getter, workload: Any, node: str, dirs: VolumeDirs | None) -> dict[str, ClaimVolume]:
    """Every claim of ``workload`` resolved, by claim name; raises ClaimNotReady or ClaimUnusable
    with one line naming the claim."""
    resolved: dict[str, ClaimVolume] = {}
    for name in storage.claims_of(workload):
        resolved[name] = await resolve_claim(api, workload.metadata.namespace, name, node, dirs)
    return resolved


async def resolve_claim(api: Getter, namespace: str, name: str, node: str, dirs: VolumeDirs | None) -> ClaimVolume:
    claim = (
        await _get(api, "PersistentVolumeClaim", name, namespace, f"claim {name} not found")
    ).persistent_volume_claim
    if claim.status.phase != storage.CLAIM_BOUND or not claim.spec.volume_name:
        why = f": {claim.status.message}" if claim.status.message else ""
        raise ClaimNotReady(f"claim {name} is {claim.status.phase or storage.CLAIM_PENDING}{why}")
    volume = (
        await _get(
            api,
            "PersistentVolume",
            claim.spec.volume_name,
            "",
            f"claim {name}'s volume {claim.spec.volume_name} not found",
        )
    ).persistent_volume
    if volume.spec.claim_ref.uid != claim.metadata.uid:
        raise ClaimNotReady(f"claim {name}'s volume {volume.metadata.name} is not bound to it yet")
    on = storage.volume_node(volume)
    if volume.spec.HasField("local") and on != node:
        raise ClaimUnusable(f"claim {name}'s volume {volume.metadata.name} is on node {on}, not on {node}")
    return ClaimVolume(
        claim=name,
        volume=volume.metadata.name,
        block=storage.volume_mode(volume.spec.volume_mode) == storage.BLOCK,
        size=storage.volume_size(volume),
        read_only=storage.READ_ONLY_MANY in claim.spec.access_modes and len(claim.spec.access_modes) == 1,
        path=None if dirs is None else _data(volume, dirs, name),
    )


def _data(volume: storage_pb2.PersistentVolume, dirs: VolumeDirs, claim: str) -> Path:
    source = volume.spec.WhichOneof("source")
    if source == "shared" and dirs.shared is None:
        raise ClaimUnusable(f"claim {claim}'s volume {volume.metadata.name} is shared and this node has no shared dir")
    directory = dirs.local if source == "local" else dirs.shared
    assert directory is not None
    try:
        path = volume_path(directory, getattr(volume.spec, source or "local").path)
    except VolumePathError as err:
        raise ClaimUnusable(f"claim {claim}: {err}") from None
    try:
        return ensure_volume(
            path, storage.volume_mode(volume.spec.volume_mode) == storage.BLOCK, storage.volume_size(volume)
        )
    except OSError as err:
        raise ClaimNotReady(f"claim {claim}: cannot make volume {volume.metadata.name} here: {err.strerror}") from None


async def _get(api: Getter, kind: str, name: str, namespace: str, missing: str) -> Any:
    try:
        return await api.get(kind, name, namespace)
    except ApiError as err:
        if err.code is grpc.StatusCode.NOT_FOUND:
            raise ClaimNotReady(missing) from None
        raise ClaimNotReady(f"{kind} {name}: {err.message}") from None


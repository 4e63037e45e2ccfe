"""Removes the data of deleted persistent volumes a node holds, then the volume's
``atoll.dev/volume-data`` finalizer, so the volume object goes (reclaim policy Delete).

Which volumes: deleted ones still holding that finalizer that are local to a node this process
runs (``owns``), and shared ones when this node has the shared dir. A simulated node holds no
data and only drops the finalizer of its local volumes; a shared volume's data is removed by a
node with the shared dir or by the binding controller given ``--shared-storage-dir``.
Idempotent: removing absent data is nothing, and the finalizer is dropped with the revision read
(a conflict reads the volume again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

import grpc

from agent.volumes.claims import VolumeDirs
from atoll import storage
from atoll.client import ApiError
from atoll.ports import Getter, Updater, Watcher
from atoll.v1 import storage_pb2
from atoll.volume_data import VolumePathError, remove_volume, volume_path
from atoll.watch_events import ADDED, MODIFIED, RESYNC

log = logging.getLogger(__name__)
ATTEMPTS = 5
RETRY_SECONDS = 2.0


class ReclaimerApi(Watcher, Getter, Updater, Protocol):
    """The API calls the reclaimer makes (``atoll.client.Client`` satisfies it)."""


class VolumeReclaimer:
    def __init__(self, client: ReclaimerApi, owns: Callable[[str], bool], dirs: VolumeDirs | None) -> None:
        self.client = client
        self.owns = owns
        self.dirs = dirs

    async def run(self) -> None:
        """Follow every PersistentVolume until cancelled."""
        async for event in self.client.list_then_watch("PersistentVolume"):
            if event.type in (ADDED, MODIFIED, RESYNC) and self.mine(event.object.persistent_volume):
                await self.reclaim(event.object.persistent_volume)

    def mine(self, volume: storage_pb2.PersistentVolume) -> bool:
        if not volume.metadata.HasField("deletion_timestamp"):
            return False
        if storage.VOLUME_DATA_FINALIZER not in volume.metadata.finalizers:
            return False
        if volume.spec.HasField("local"):
            return self.owns(storage.volume_node(volume) or "")
        return volume.spec.HasField("shared") and self.dirs is not None and self.dirs.shared is not None

    async def reclaim(self, volume: storage_pb2.PersistentVolume) -> None:
        """Remove the data, then the finalizer; a few attempts, then the next event of the volume."""
        for attempt in range(ATTEMPTS):
            try:
                self._remove_data(volume)
                fresh = storage_pb2.PersistentVolume()
                fresh.CopyFrom(volume)
                fresh.metadata.finalizers.remove(storage.VOLUME_DATA_FINALIZER)
                await self.client.update(fresh)
                log.info("volume %s: data removed", volume.metadata.name)
                return
            except (ApiError, OSError, VolumePathError) as err:
                if isinstance(err, ApiError) and err.code is grpc.StatusCode.NOT_FOUND:
                    return
                log.warning("volume %s: removing its data failed (attempt %d): %s", volume.metadata.name,
                            attempt + 1, err)
                await asyncio.sleep(RETRY_SECONDS)
                try:
                    volume = (await self.client.get("PersistentVolume", volume.metadata.name, "")).persistent_volume
                except ApiError:
                    return
                if not self.mine(volume):
                    return

    def _remove_data(self, volume: storage_pb2.PersistentVolume) -> None:
        if self.dirs is None:
            return
        directory = self.dirs.local if volume.spec.HasField("local") else self.dirs.shared
        source = volume.spec.local if volume.spec.HasField("local") else volume.spec.shared
        if directory is not None:
            remove_volume(volume_path(directory, source.path))

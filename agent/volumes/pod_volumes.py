"""One pod's volumes on its node: made before its containers start, kept current while it runs,
removed with it.

``directory`` is the pod's volume directory (``VOLUMES/<pod uid>``, one sub-directory per volume);
None on simulated nodes, which resolve the same references and raise the same ConfigErrors but
write nothing. ConfigMap and Secret volumes are projected with the atomic writer and followed
by a watch, so a change shows in the files (``prepare`` again) without a restart; they are always
mounted read-only, as kubelet does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.drivers.protocol import Mount
from agent.volumes import projection
from agent.volumes.env import describe
from agent.volumes.host import check_host_path, prepare_empty_dir, release, sub_path
from agent.volumes.payload import ConfigError, volume_payload
from agent.volumes.sources import ConfigObjects
from atoll.pod_references import CONFIG_MAP, SECRET
from atoll.v1 import config_pb2, pod_pb2

_PROJECTED = ("config_map", "secret")


class PodVolumes:
    def __init__(self, spec: pod_pb2.PodSpec, objects: ConfigObjects, directory: Path | None) -> None:
        self._volumes = {volume.name: volume for volume in spec.volumes}
        self.objects = objects
        self._directory = directory
        self._written: dict[str, projection.Payload] = {}

    async def prepare(self) -> None:
        """Makes every volume match the pod and the objects it shows; idempotent, cheap when
        nothing changed. Raises ConfigError (one line) for what a container cannot start without."""
        for name, volume in self._volumes.items():
            source = volume.WhichOneof("source")
            if source in _PROJECTED:
                await self._project(name, volume)
            elif self._directory is None:
                continue
            elif source == "empty_dir":
                await prepare_empty_dir(self._directory / name, volume.empty_dir)
            elif source == "host_path":
                check_host_path(volume.host_path)

    async def _project(self, name: str, volume: pod_pb2.PodVolume) -> None:
        source: config_pb2.ConfigMapVolumeSource | config_pb2.SecretVolumeSource
        if volume.HasField("config_map"):
            kind, object_name, source = CONFIG_MAP, volume.config_map.name, volume.config_map
        else:
            kind, object_name, source = SECRET, volume.secret.secret_name, volume.secret
        if self._directory is not None:
            self.objects.follow(kind, object_name)
        found = await self.objects.get(kind, object_name)
        payload = volume_payload(f"volume {name}: {describe(kind, object_name)}", found, source)
        if self._directory is not None and self._written.get(name) != payload:
            projection.write(self._directory / name, payload)
            self._written[name] = payload

    def mounts(self, container: pod_pb2.Container) -> tuple[Mount, ...]:
        """The container's volume mounts as host sources (empty sources on simulated nodes);
        ConfigError when a subPath leaves its volume."""
        mounts = []
        for mount in container.volume_mounts:
            volume = self._volumes[mount.name]  # validation: every mount names a volume
            source = volume.WhichOneof("source")
            read_only = mount.read_only or source in _PROJECTED
            host = ""
            if self._directory is not None:
                base = Path(volume.host_path.path) if source == "host_path" else self._directory / mount.name
                host = str(sub_path(base, mount.sub_path) if mount.sub_path else base)
            mounts.append(Mount(host, mount.mount_path, read_only))
        return tuple(mounts)

    async def close(self) -> None:
        """Stops following objects; the files stay (an agent restart finds them)."""
        await self.objects.close()

    async def clean_up(self) -> None:
        """Stops following objects, unmounts tmpfs volumes and removes the pod's directory
        (never a hostPath: it is not under it). Idempotent."""
        await self.objects.close()
        if self._directory is None or not self._directory.exists():
            return
        for name in self._volumes:
            await release(self._directory / name)
        shutil.rmtree(self._directory, ignore_errors=True)


async def remove_orphaned_volumes(volumes_dir: Path, running: set[str]) -> None:
    """Removes the volume directories (``VOLUMES/<pod uid>``) of pods not in ``running``: pods
    deleted while the agent was down. Their tmpfs volumes are unmounted first."""
    if not volumes_dir.is_dir():
        return
    for pod_dir in volumes_dir.iterdir():
        if pod_dir.name in running or not pod_dir.is_dir():
            continue
        for volume in pod_dir.iterdir():
            await release(volume)
        shutil.rmtree(pod_dir, ignore_errors=True)


__all__ = ["ConfigError", "PodVolumes", "remove_orphaned_volumes"]

"""One pod's volumes on its node: made before its containers start, kept current while it runs,
removed with it.

``directory`` is the pod's volume directory (``VOLUMES/<pod uid>``, one sub-directory per volume);
None on simulated nodes, which resolve the same references and raise the same ConfigErrors but
write nothing. ConfigMap and Secret volumes are projected with the atomic writer and followed
by a watch, so a change shows in the files (``prepare`` again) without a restart; they are always
mounted read-only, as kubelet does.

Volumes from claims (``persistentVolumeClaim``) are the claims' own data (a Filesystem volume's
directory in the node's volume dir or the shared dir, agent/volumes/claims.py), attached before
any container starts (agent/volumes/attach.py) and resolved once: a Bound claim's volume never
changes. Until then the containers wait with the attach's reason (VolumeNotReady, VolumeUnusable;
ContainerCreating while a simulated node takes its attach latency). A Block volume cannot be
mounted in a container (VolumeUnusable). The pod's own directory never holds claim data, so
cleaning it up never touches a claim's volume.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.drivers.protocol import Mount
from agent.volumes import projection
from agent.volumes.attach import VolumeAttach, Waiting
from agent.volumes.claims import CLAIM_UNUSABLE_REASON, ClaimVolume
from agent.volumes.env import describe
from agent.volumes.host import check_host_path, prepare_empty_dir, release, sub_path
from agent.volumes.payload import ConfigError, volume_payload
from agent.volumes.sources import ConfigObjects
from atoll.pod_references import CONFIG_MAP, SECRET
from atoll.storage import claims_of
from atoll.v1 import config_pb2, pod_pb2

_PROJECTED = ("config_map", "secret")
CLAIM = "persistent_volume_claim"
ATTACHING_REASON = "ContainerCreating"


class VolumeNotAttached(ConfigError):
    """The pod's claims are not attached yet (``Waiting`` of agent/volumes/attach.py)."""

    def __init__(self, waiting: Waiting) -> None:
        super().__init__(waiting.message)
        self.reason = waiting.reason or ATTACHING_REASON
        self.retry_at = waiting.retry_at


class PodVolumes:
    def __init__(self, pod: pod_pb2.Pod, objects: ConfigObjects, directory: Path | None, attach: VolumeAttach) -> None:
        self._pod = pod
        self._volumes = {volume.name: volume for volume in pod.spec.volumes}
        self.objects = objects
        self._directory = directory
        self._attach = attach
        self._written: dict[str, projection.Payload] = {}
        self._claims: dict[str, ClaimVolume] | None = None if claims_of(pod) else {}

    async def prepare(self) -> None:
        """Makes every volume match the pod and the objects it shows; idempotent, cheap when
        nothing changed. Raises ConfigError (one line) for what a container cannot start without."""
        if self._claims is None:
            self._claims = await self._attached()
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

    async def _attached(self) -> dict[str, ClaimVolume]:
        attached = await self._attach.attach(self._pod)
        if isinstance(attached, Waiting):
            raise VolumeNotAttached(attached)
        for claim in attached.values():
            if claim.block:
                problem = f"claim {claim.claim}'s volume {claim.volume} is a Block volume; pods mount Filesystem ones"
                raise VolumeNotAttached(Waiting(CLAIM_UNUSABLE_REASON, problem, None))
        return attached

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
            base: Path | None = None
            if source == CLAIM:
                claim = self._claim(volume.persistent_volume_claim.claim_name)
                read_only = read_only or volume.persistent_volume_claim.read_only or claim.read_only
                base = claim.path
            elif self._directory is not None:
                base = Path(volume.host_path.path) if source == "host_path" else self._directory / mount.name
            host = "" if base is None else str(sub_path(base, mount.sub_path) if mount.sub_path else base)
            mounts.append(Mount(host, mount.mount_path, read_only))
        return tuple(mounts)

    def _claim(self, name: str) -> ClaimVolume:
        claim = (self._claims or {}).get(name)
        if claim is None:  # mounts() before prepare() succeeded: a caller's bug, said plainly
            raise ConfigError(f"claim {name} is not attached yet")
        return claim

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

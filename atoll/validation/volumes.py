"""Validation of a pod's volumes, its containers' volume mounts and their ConfigMap/Secret
environment sources (envFrom, env[].valueFrom).

A mount names a volume of the pod; a container mounts each path once; ``subPath`` and
``items[].path`` never leave their volume (relative, no ``..``: atoll/validation/config.py);
hostPath paths are absolute; a persistentVolumeClaim names a claim (whether it exists and is a
Filesystem volume the node finds out when the pod starts, as kubelet does). Whether the caller
may use hostPath at all is the API server's authorizer's decision (verb ``hostpath``), not
validation's.
"""

from __future__ import annotations

import posixpath

from atoll.manifest_codec import describe
from atoll.v1 import config_pb2, pod_pb2
from atoll.validation.base import FieldError, check_name, check_one_of, check_quantity
from atoll.validation.config import check_mode, key_problem, relative_path_problem

EMPTY_DIR_MEDIA = ("", "Memory")
HOST_PATH_TYPES = ("", "Directory", "DirectoryOrCreate", "File", "FileOrCreate")
SOURCES = ("emptyDir", "configMap", "secret", "hostPath", "persistentVolumeClaim")


def validate_volumes(volumes: list[pod_pb2.PodVolume], path: str, errors: list[FieldError]) -> set[str]:
    """Each volume: a unique DNS-label name and exactly one valid source. Returns the names."""
    names: set[str] = set()
    for index, volume in enumerate(volumes):
        volume_path = f"{path}[{index}]"
        check_name(volume.name, f"{volume_path}.name", errors, label=True, required=True)
        if volume.name in names:
            errors.append(FieldError(f"{volume_path}.name", f"duplicate volume name {describe(volume.name)}"))
        names.add(volume.name)
        source = volume.WhichOneof("source")
        if source is None:
            errors.append(
                FieldError(volume_path, f"set exactly one source: {', '.join(SOURCES)}")
            )
        elif source == "empty_dir":
            _validate_empty_dir(volume.empty_dir, f"{volume_path}.emptyDir", errors)
        elif source == "config_map":
            source_path = f"{volume_path}.configMap"
            check_name(volume.config_map.name, f"{source_path}.name", errors, label=False, required=True)
            _validate_projection(volume.config_map, source_path, errors)
        elif source == "secret":
            source_path = f"{volume_path}.secret"
            check_name(volume.secret.secret_name, f"{source_path}.secretName", errors, label=False, required=True)
            _validate_projection(volume.secret, source_path, errors)
        elif source == "host_path":
            _validate_host_path(volume.host_path, f"{volume_path}.hostPath", errors)
        elif source == "persistent_volume_claim":
            claim_path = f"{volume_path}.persistentVolumeClaim.claimName"
            check_name(volume.persistent_volume_claim.claim_name, claim_path, errors, label=False, required=True)
    return names


def validate_mounts(container: pod_pb2.Container, volumes: set[str], path: str, errors: list[FieldError]) -> None:
    """Mounts name known volumes at unique absolute paths; subPath stays inside the volume."""
    seen: set[str] = set()
    for index, mount in enumerate(container.volume_mounts):
        mount_path = f"{path}.volumeMounts[{index}]"
        if not mount.name:
            errors.append(FieldError(f"{mount_path}.name", "required"))
        elif mount.name not in volumes:
            errors.append(
                FieldError(f"{mount_path}.name", f"no volume named {describe(mount.name)} in spec.volumes")
            )
        target = mount.mount_path
        if not target:
            errors.append(FieldError(f"{mount_path}.mountPath", "required"))
        elif not target.startswith("/") or ".." in target.split("/") or "\x00" in target:
            errors.append(
                FieldError(f"{mount_path}.mountPath", f"must be an absolute path without '..', got {describe(target)}")
            )
        else:
            normal = posixpath.normpath(target)
            if normal in seen:
                errors.append(FieldError(f"{mount_path}.mountPath", f"{describe(target)} is mounted twice"))
            seen.add(normal)
        if mount.sub_path:
            problem = relative_path_problem(mount.sub_path)
            if problem:
                errors.append(FieldError(f"{mount_path}.subPath", problem))


def validate_env_sources(container: pod_pb2.Container, path: str, errors: list[FieldError]) -> None:
    """env[].valueFrom (exactly one key reference, instead of a value) and envFrom entries."""
    for index, variable in enumerate(container.env):
        if not variable.HasField("value_from"):
            continue
        variable_path = f"{path}.env[{index}]"
        if variable.value:
            errors.append(FieldError(f"{variable_path}.valueFrom", "may not be set together with value"))
        source = variable.value_from.WhichOneof("source")
        if source is None:
            errors.append(FieldError(f"{variable_path}.valueFrom", "set configMapKeyRef or secretKeyRef"))
            continue
        selector = getattr(variable.value_from, source)
        field = "configMapKeyRef" if source == "config_map_key_ref" else "secretKeyRef"
        selector_path = f"{variable_path}.valueFrom.{field}"
        check_name(selector.name, f"{selector_path}.name", errors, label=False, required=True)
        problem = key_problem(selector.key)
        if problem:
            errors.append(FieldError(f"{selector_path}.key", problem))
    for index, entry in enumerate(container.env_from):
        entry_path = f"{path}.envFrom[{index}]"
        reference = entry.WhichOneof("source")
        if reference is None:
            errors.append(FieldError(entry_path, "set configMapRef or secretRef"))
        else:
            field = "configMapRef" if reference == "config_map_ref" else "secretRef"
            check_name(getattr(entry, reference).name, f"{entry_path}.{field}.name", errors, label=False, required=True)
        if "=" in entry.prefix or "\x00" in entry.prefix:
            errors.append(FieldError(f"{entry_path}.prefix", f"must not contain '=', got {describe(entry.prefix)}"))


def _validate_empty_dir(source: config_pb2.EmptyDirVolumeSource, path: str, errors: list[FieldError]) -> None:
    check_one_of(source.medium, EMPTY_DIR_MEDIA[1:], f"{path}.medium", errors)
    if source.size_limit:
        check_quantity(source.size_limit, f"{path}.sizeLimit", errors, positive=True)


def _validate_projection(
    source: config_pb2.ConfigMapVolumeSource | config_pb2.SecretVolumeSource, path: str, errors: list[FieldError]
) -> None:
    if source.HasField("default_mode"):
        check_mode(source.default_mode, f"{path}.defaultMode", errors)
    targets: set[str] = set()
    for index, item in enumerate(source.items):
        item_path = f"{path}.items[{index}]"
        problem = key_problem(item.key)
        if problem:
            errors.append(FieldError(f"{item_path}.key", problem))
        if not item.path:
            errors.append(FieldError(f"{item_path}.path", "required"))
        else:
            problem = relative_path_problem(item.path) or _reserved_path_problem(item.path)
            if problem:
                errors.append(FieldError(f"{item_path}.path", problem))
            normal = posixpath.normpath(item.path)
            if normal in targets:
                errors.append(FieldError(f"{item_path}.path", f"{describe(item.path)} is used twice"))
            targets.add(normal)
        if item.HasField("mode"):
            check_mode(item.mode, f"{item_path}.mode", errors)


def _reserved_path_problem(path: str) -> str | None:
    """The projection's own bookkeeping lives in names starting with ``..`` (kubelet's layout)."""
    if path.split("/", 1)[0].startswith(".."):
        return f"may not start with '..' (reserved), got {describe(path)}"
    return None


def _validate_host_path(source: config_pb2.HostPathVolumeSource, path: str, errors: list[FieldError]) -> None:
    if not source.path:
        errors.append(FieldError(f"{path}.path", "required"))
    elif not source.path.startswith("/") or ".." in source.path.split("/") or "\x00" in source.path:
        errors.append(FieldError(f"{path}.path", f"must be an absolute path without '..', got {describe(source.path)}"))
    check_one_of(source.type, HOST_PATH_TYPES[1:], f"{path}.type", errors)

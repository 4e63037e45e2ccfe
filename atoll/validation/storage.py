"""Validation of PersistentVolumeClaim, PersistentVolume and StorageClass (rules in atoll/storage.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from atoll import storage
from atoll.manifest_codec import describe, key_path
from atoll.v1 import storage_pb2
from atoll.validation.base import FieldError, check_name, check_one_of, check_quantity
from atoll.validation.meta import validate_conditions
from atoll.validation.scheduling import validate_node_selector

MAX_PARAMETERS = 64


def validate_claim_spec(spec: storage_pb2.PersistentVolumeClaimSpec, path: str, errors: list[FieldError]) -> None:
    """Access modes (at least one), volume mode, a positive ``storage`` request and nothing else,
    class and volume names."""
    _access_modes(spec.access_modes, f"{path}.accessModes", errors)
    check_one_of(spec.volume_mode, storage.VOLUME_MODES, f"{path}.volumeMode", errors)
    _storage_only(spec.resources.requests, f"{path}.resources.requests", errors, required=True)
    check_name(spec.storage_class_name, f"{path}.storageClassName", errors, label=False, required=False)
    check_name(spec.volume_name, f"{path}.volumeName", errors, label=False, required=False)


def validate_claim_status(status: storage_pb2.PersistentVolumeClaimStatus, path: str, errors: list[FieldError]) -> None:
    check_one_of(status.phase, storage.CLAIM_PHASES, f"{path}.phase", errors)
    _storage_only(status.capacity, f"{path}.capacity", errors, required=False)
    validate_conditions(status.conditions, f"{path}.conditions", errors)


def validate_claim_update(
    old: storage_pb2.PersistentVolumeClaim, new: storage_pb2.PersistentVolumeClaim, errors: list[FieldError]
) -> None:
    """Only the storage request may change, and only grow (expansion); the class is set once (the
    controller fills an empty one) and the volume name once."""
    spec, old_spec = new.spec, old.spec
    if list(spec.access_modes) != list(old_spec.access_modes) or spec.volume_mode != old_spec.volume_mode:
        errors.append(FieldError("spec", "accessModes and volumeMode may not change (create a new claim)"))
    if old_spec.storage_class_name and spec.storage_class_name != old_spec.storage_class_name:
        errors.append(FieldError("spec.storageClassName", "may not change once set"))
    if old_spec.volume_name and spec.volume_name != old_spec.volume_name:
        errors.append(FieldError("spec.volumeName", "may not change once set"))
    old_size, new_size = storage.claim_size(old), storage.claim_size(new)
    if new_size < old_size:
        errors.append(
            FieldError(
                "spec.resources.requests.storage",
                f"may not shrink (from {old_spec.resources.requests.get(storage.STORAGE)})",
            )
        )


def validate_volume_spec(spec: storage_pb2.PersistentVolumeSpec, path: str, errors: list[FieldError]) -> None:
    """Capacity, access modes, reclaim policy, volume mode, exactly one source (a file name, never a
    path), node affinity (a local volume needs one)."""
    _storage_only(spec.capacity, f"{path}.capacity", errors, required=True)
    _access_modes(spec.access_modes, f"{path}.accessModes", errors)
    check_one_of(
        spec.persistent_volume_reclaim_policy,
        storage.RECLAIM_POLICIES,
        f"{path}.persistentVolumeReclaimPolicy",
        errors,
    )
    check_one_of(spec.volume_mode, storage.VOLUME_MODES, f"{path}.volumeMode", errors)
    check_name(spec.storage_class_name, f"{path}.storageClassName", errors, label=False, required=False)
    source = spec.WhichOneof("source")
    if source is None:
        errors.append(FieldError(path, "set one source: local (a node's volume dir) or shared (the shared dir)"))
    else:
        name = getattr(spec, source).path
        problem = storage.volume_path_problem(name)
        if problem:
            errors.append(FieldError(f"{path}.{source}.path", f"{describe(name)}: {problem}"))
    if spec.HasField("node_affinity"):
        validate_node_selector(spec.node_affinity.required, f"{path}.nodeAffinity.required", errors)
    elif source == "local":
        errors.append(FieldError(f"{path}.nodeAffinity", "required for a local volume (the node that holds it)"))
    ref = spec.claim_ref
    if ref.name or ref.namespace:
        check_name(ref.name, f"{path}.claimRef.name", errors, label=False, required=True)
        check_name(ref.namespace, f"{path}.claimRef.namespace", errors, label=True, required=True)


def validate_volume_status(status: storage_pb2.PersistentVolumeStatus, path: str, errors: list[FieldError]) -> None:
    check_one_of(status.phase, storage.VOLUME_PHASES, f"{path}.phase", errors)


def validate_volume_update(
    old: storage_pb2.PersistentVolume, new: storage_pb2.PersistentVolume, errors: list[FieldError]
) -> None:
    """The source, mode and node affinity name where the data is: they never change."""
    for field, wire in (("source", "local/shared"), ("volume_mode", "volumeMode"), ("node_affinity", "nodeAffinity")):
        if field == "source":
            same = old.spec.WhichOneof("source") == new.spec.WhichOneof("source") and (
                old.spec.local == new.spec.local and old.spec.shared == new.spec.shared
            )
        else:
            same = getattr(old.spec, field) == getattr(new.spec, field)
        if not same:
            errors.append(FieldError(f"spec.{wire}", "may not change (it says where the data is)"))


def validate_storage_class(storage_class: storage_pb2.StorageClass, errors: list[FieldError]) -> None:
    check_one_of(storage_class.provisioner, storage.PROVISIONERS, "provisioner", errors, required=True)
    check_one_of(storage_class.reclaim_policy, storage.RECLAIM_POLICIES, "reclaimPolicy", errors)
    check_one_of(storage_class.volume_binding_mode, storage.BINDING_MODES, "volumeBindingMode", errors)
    if (
        storage_class.provisioner == storage.LOCAL_PROVISIONER
        and storage_class.volume_binding_mode == storage.IMMEDIATE
    ):
        errors.append(
            FieldError(
                "volumeBindingMode",
                "a local volume is made on the node its first consumer is placed on: use WaitForFirstConsumer",
            )
        )
    if len(storage_class.parameters) > MAX_PARAMETERS:
        errors.append(FieldError("parameters", f"at most {MAX_PARAMETERS} entries"))


def validate_storage_class_update(
    old: storage_pb2.StorageClass, new: storage_pb2.StorageClass, errors: list[FieldError]
) -> None:
    """As in Kubernetes, a class's provisioner, policy and binding mode never change."""
    for field, wire in (
        ("provisioner", "provisioner"),
        ("reclaim_policy", "reclaimPolicy"),
        ("volume_binding_mode", "volumeBindingMode"),
        ("parameters", "parameters"),
    ):
        if getattr(old, field) != getattr(new, field):
            errors.append(FieldError(wire, "may not change (create a new StorageClass)"))


def _access_modes(modes: Sequence[str], path: str, errors: list[FieldError]) -> None:
    if not modes:
        errors.append(FieldError(path, f"at least one of {', '.join(storage.ACCESS_MODES)}"))
    for index, mode in enumerate(modes):
        check_one_of(mode, storage.ACCESS_MODES, f"{path}[{index}]", errors, required=True)
    if len(set(modes)) != len(modes):
        errors.append(FieldError(path, "duplicate access mode"))


def _storage_only(resources: Mapping[str, str], path: str, errors: list[FieldError], *, required: bool) -> None:
    for name in sorted(resources):
        if name != storage.STORAGE:
            errors.append(FieldError(key_path(path, name), f"unsupported resource {describe(name)}: only storage"))
    if storage.STORAGE in resources:
        check_quantity(resources[storage.STORAGE], key_path(path, storage.STORAGE), errors, positive=True)
    elif required:
        errors.append(FieldError(key_path(path, storage.STORAGE), "required (a quantity, e.g. 10Gi)"))

"""Size bounds every stored object keeps, whatever its kind, on every write path.

Checked first by ``validate`` and ``validate_status`` (so by Create, BatchCreate, Apply, Update,
UpdateStatus) and by Bind on the object it would write; an object over a bound is refused whole
with one problem per bound it breaks, each naming the field path and the limit:

- the whole object, encoded: at most ``MAX_OBJECT_BYTES`` (1.5 MiB, Kubernetes' etcd request limit);
- labels: at most ``MAX_LABELS`` entries and ``MAX_LABELS_BYTES`` of keys and values together;
  annotations: ``MAX_ANNOTATIONS_BYTES`` (256 KiB, as Kubernetes);
- every repeated and map field: at most ``MAX_ITEMS`` entries unless ``ITEMS`` names a field
  (containers per pod, disks per VM, env entries, finalizers, ...);
- every string: at most ``MAX_CHARS`` characters unless ``CHARS`` names a field (messages,
  arguments, environment values, annotation values).

The walk follows the message descriptors, so a field added to a proto is bounded from the start;
per-field limits are keyed by the protobuf field's full name (``atoll.v1.PodSpec.containers``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from atoll.manifest_codec import key_path
from atoll.validation.base import FieldError

KIB = 1024
MAX_OBJECT_BYTES = 1536 * KIB
MAX_LABELS = 256
MAX_LABELS_BYTES = 64 * KIB
MAX_ANNOTATIONS_BYTES = 256 * KIB
MAX_ITEMS = 256
MAX_CHARS = 4096

ITEMS: Mapping[str, int] = {
    "atoll.v1.ObjectMeta.labels": MAX_LABELS,
    "atoll.v1.ObjectMeta.annotations": 4096,
    "atoll.v1.ObjectMeta.finalizers": 64,
    "atoll.v1.ObjectMeta.owner_references": 64,
    "atoll.v1.PodSpec.containers": 64,
    "atoll.v1.PodStatus.container_statuses": 64,
    "atoll.v1.Container.env": 1024,
    "atoll.v1.Container.command": 1024,
    "atoll.v1.Container.args": 1024,
    "atoll.v1.Container.ports": 128,
    "atoll.v1.VirtualMachineSpec.disks": 32,
    "atoll.v1.RoleSpec.rules": 1024,
    "atoll.v1.RoleBindingSpec.subjects": 1024,
    # ConfigMaps and Secrets are bounded by 1 MiB of data in all (atoll/validation/config.py).
    "atoll.v1.ConfigMap.data": 16384,
    "atoll.v1.ConfigMap.binary_data": 16384,
    "atoll.v1.Secret.data": 16384,
    "atoll.v1.Secret.string_data": 16384,
}
# Per string field; for a map, its values (keys are bounded by MAX_CHARS, and by label rules).
CHARS: Mapping[str, int] = {
    "atoll.v1.ObjectMeta.annotations": MAX_ANNOTATIONS_BYTES,
    "atoll.v1.Container.command": 64 * KIB,
    "atoll.v1.Container.args": 64 * KIB,
    "atoll.v1.EnvVar.value": 64 * KIB,
    "atoll.v1.CloudInit.user_data": 64 * KIB,
    "atoll.v1.CloudInit.network_data": 64 * KIB,
    "atoll.v1.CloudInit.meta_data": 64 * KIB,
    "atoll.v1.ConfigMap.data": 1024 * KIB,
    "atoll.v1.ConfigMap.binary_data": 1024 * KIB,
    "atoll.v1.Secret.data": 1024 * KIB,
    "atoll.v1.Secret.string_data": 1024 * KIB,
}
# Every field called "message" (conditions, statuses, Events): Kubernetes allows 32 KiB.
MESSAGE_CHARS = 32 * KIB
_TOTAL_BYTES: Mapping[str, tuple[int, str]] = {
    "atoll.v1.ObjectMeta.labels": (MAX_LABELS_BYTES, "64 KiB"),
    "atoll.v1.ObjectMeta.annotations": (MAX_ANNOTATIONS_BYTES, "256 KiB"),
}
_STRING_TYPES = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
_MIN_CHARS = min(MAX_CHARS, MESSAGE_CHARS, *CHARS.values())


def bounds_errors(message: Any, *, encoded_size: int | None = None) -> list[FieldError]:
    """Every bound ``message`` (a kind's message: Pod, Node, ...) breaks; empty when none.
    ``encoded_size``: its serialized size when the caller has it already."""
    errors: list[FieldError] = []
    size = message.ByteSize() if encoded_size is None else encoded_size
    if size > MAX_OBJECT_BYTES:
        errors.append(
            FieldError("object", f"encoded size {size} bytes exceeds the limit of {MAX_OBJECT_BYTES} bytes (1.5 MiB)")
        )
    # The common case answers without building a single path; an object no larger than the
    # smallest character limit cannot hold a string over one, so only counts are looked at.
    if not _within(message, size > _MIN_CHARS):
        _walk(message, "", errors)
    return errors


# What to check of one field: its shape, item limit, character limit and total-bytes limit.
_STRING, _MESSAGE, _STRINGS, _MESSAGES, _STRING_MAP, _MESSAGE_MAP, _OTHER = range(7)
_Plan = tuple[int, int, int, int]
_PLANS: dict[FieldDescriptor, _Plan] = {}
_UTF8_MAX = 4  # bytes per character


def _plan(field: FieldDescriptor) -> _Plan:
    plan = _PLANS.get(field)
    if plan is None:
        plan = _PLANS[field] = _make_plan(field)
    return plan


def _make_plan(field: FieldDescriptor) -> _Plan:
    items = ITEMS.get(field.full_name, MAX_ITEMS)
    chars = MESSAGE_CHARS if field.name == "message" else CHARS.get(field.full_name, MAX_CHARS)
    total = _TOTAL_BYTES.get(field.full_name, (0, ""))[0]
    repeated = bool(field.is_repeated)
    if repeated and field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_type = field.message_type.fields_by_name["value"].type
        return (_MESSAGE_MAP if value_type == FieldDescriptor.TYPE_MESSAGE else _STRING_MAP, items, chars, total)
    if field.message_type is not None:
        if not repeated and not _holds_bounded(field.message_type, set()):
            return (_OTHER, items, chars, total)  # Timestamp and the like: nothing to bound inside
        return (_MESSAGES if repeated else _MESSAGE, items, chars, total)
    if field.type in _STRING_TYPES:
        return (_STRINGS if repeated else _STRING, items, chars, total)
    return (_OTHER, items, chars, total)


def _holds_bounded(descriptor: Descriptor, seen: set[str]) -> bool:
    """Whether messages of ``descriptor`` can hold a string or a repeated field, at any depth."""
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if field.is_repeated or field.type in _STRING_TYPES:
            return True
        nested = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
        if nested is not None and nested.full_name not in seen and _holds_bounded(nested, seen):
            return True
    return False


def _within(message: Any, strings: bool) -> bool:
    """Whether ``message`` keeps every bound but the encoded size (fast: no paths, no errors);
    without ``strings``, character and byte limits are not looked at."""
    for field, value in message.ListFields():
        shape, items, chars, total = _PLANS.get(field) or _plan(field)  # inlined lookup: the hot path
        if shape == _OTHER:
            continue
        if shape == _STRING:
            if strings and len(value) > chars:
                return False
        elif shape == _MESSAGE:
            if not (_spec_within(value, strings) if field.name == "spec" else _within(value, strings)):
                return False
        elif len(value) > items:
            return False
        elif shape == _MESSAGES:
            if not all(_within(item, strings) for item in value):
                return False
        elif shape == _MESSAGE_MAP:
            if not all(_within(item, strings) and len(key) <= MAX_CHARS for key, item in value.items()):
                return False
        elif not strings:
            continue
        elif shape == _STRINGS:
            if any(len(item) > chars for item in value):
                return False
        elif not _map_within(value, chars, total):
            return False
    return True


# A kind's spec repeats across a fleet (replicas, batch jobs) where metadata and status do not:
# its verdict is memoized on its canonical bytes (one C serialization instead of a Python walk
# that wraps every field of a freshly decoded message). Larger specs are walked each time, which
# bounds the memo to 4096 x 4 KiB = 16 MiB whatever callers send.
_MEMO_SPEC_BYTES = 4 * KIB


def _spec_within(spec: Any, strings: bool) -> bool:
    data = spec.SerializeToString(deterministic=True)
    if len(data) > _MEMO_SPEC_BYTES:
        return _within(spec, strings)
    spec_type: Any = type(spec)
    return _spec_bytes_within(spec_type, data, strings)


@functools.lru_cache(maxsize=4096)
def _spec_bytes_within(spec_type: Any, data: bytes, strings: bool) -> bool:  # a message class
    return _within(spec_type.FromString(data), strings)


def _map_within(entries: Any, chars: int, total: int) -> bool:
    size = 0
    for key, value in entries.items():
        if len(key) > MAX_CHARS or len(value) > chars:
            return False
        size += len(key) + len(value)
    return not total or size * _UTF8_MAX <= total or _map_bytes(entries) <= total


def _map_bytes(entries: Any) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in entries.items())


def _walk(message: Any, path: str, errors: list[FieldError]) -> None:
    """Appends a FieldError for every bound broken in ``message`` (at ``path``)."""
    for field, value in message.ListFields():
        shape, items, chars, total = _plan(field)
        if shape == _OTHER:
            continue
        field_path = f"{path}.{field.json_name}" if path else field.json_name
        if shape == _STRING:
            _check_chars(value, chars, field_path, errors)
            continue
        if shape == _MESSAGE:
            _walk(value, field_path, errors)
            continue
        if len(value) > items:
            errors.append(FieldError(field_path, f"has {len(value)} entries, more than the limit of {items}"))
        if shape == _STRINGS:
            for index, item in enumerate(value):
                _check_chars(item, chars, f"{field_path}[{index}]", errors)
        elif shape == _MESSAGES:
            for index, item in enumerate(value):
                _walk(item, f"{field_path}[{index}]", errors)
        else:
            for key, item in value.items():
                _check_chars(key, MAX_CHARS, field_path, errors, what="key")
                if shape == _MESSAGE_MAP:
                    _walk(item, key_path(field_path, key), errors)
                else:
                    _check_chars(item, chars, key_path(field_path, key), errors)
            if shape == _STRING_MAP and total and (size := _map_bytes(value)) > total:
                unit = _TOTAL_BYTES[field.full_name][1]
                problem = f"keys and values total {size} bytes, more than the limit of {total} ({unit})"
                errors.append(FieldError(field_path, problem))


def _check_chars(value: str | bytes, limit: int, path: str, errors: list[FieldError], what: str = "") -> None:
    if len(value) > limit:
        unit = "bytes" if isinstance(value, bytes) else "characters"
        subject = f"a {what} of " if what else ""
        errors.append(FieldError(path, f"{subject}{len(value)} {unit}, more than the limit of {limit}"))

"""Plain data (parsed YAML/JSON) <-> protobuf messages, driven by the message descriptors.

Field names are the protobuf JSON names (camelCase). Unlike ``json_format`` this decoder keeps
going after a problem and reports every one with the field path where it happened
(``spec.containers[0].resources.requests.memory``). Conventions:

- ``null`` means "not set", as in Kubernetes; inside a list or map it is an error.
- int64 values are plain integers both ways (not strings, as proto3 JSON would have them).
- Timestamps are RFC 3339 strings (``2026-11-27T09:18:00Z``).
- Quantity-valued string fields also accept YAML numbers (``cpu: 2``, ``maxSurge: 1``), as
  Kubernetes' Quantity and IntOrString do; other string fields do not, so ``version: 1.10``
  is reported instead of silently becoming "1.1".
- A message that is present but empty encodes as ``{}``, so decode(encode(m)) == m exactly.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from atoll.suggest import did_you_mean
from atoll.user_text import bounded, quoted

_TIMESTAMP = Timestamp.DESCRIPTOR.full_name
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

# String fields whose values are quantities, int-or-percent or int-or-name: YAML numbers are accepted there.
_NUMBER_AS_STRING = frozenset(
    {
        "atoll.v1.ResourceRequirements.RequestsEntry.value",
        "atoll.v1.ResourceRequirements.LimitsEntry.value",
        "atoll.v1.NodeStatus.CapacityEntry.value",
        "atoll.v1.NodeStatus.AllocatableEntry.value",
        "atoll.v1.VirtualMachineSpec.memory",
        "atoll.v1.Disk.size",
        "atoll.v1.HypervisorInfo.per_vm_overhead_memory",
        "atoll.v1.RollingUpdate.max_surge",
        "atoll.v1.RollingUpdate.max_unavailable",
        "atoll.v1.TCPSocketAction.port",
        "atoll.v1.HTTPGetAction.port",
        "atoll.v1.ServicePort.target_port",
    }
)

# Oneofs that must hold a member (the rest may be empty): wording of the error differs.
_REQUIRED_ONEOFS = frozenset({"atoll.v1.WorkloadTemplate.kind"})

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1, "a 32-bit integer"),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1, "a 32-bit integer"),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1, "a 32-bit integer"),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1, "a 64-bit integer"),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1, "a 64-bit integer"),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1, "a 64-bit integer"),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1, "an unsigned 32-bit integer"),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1, "an unsigned 32-bit integer"),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1, "an unsigned 64-bit integer"),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1, "an unsigned 64-bit integer"),
}
_FLOATS = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)


@dataclass(frozen=True)
class DecodeError:
    """One problem at one field path ("" = the document itself)."""

    path: str
    message: str


def child_path(path: str, name: str) -> str:
    """``path.name``, or just ``name`` at the root."""
    return f"{path}.{name}" if path else name


def key_path(path: str, key: str) -> str:
    """The path of a map entry: ``requests.memory``, or ``labels[app.kubernetes.io/name]``."""
    if _PLAIN_KEY.match(key):
        return child_path(path, key)
    return f"{path}[{bounded(key)}]"


def describe(value: Any) -> str:
    """A value as an error message shows it: ``"two"``, ``2``, ``true``, ``null``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


_FIELDS: dict[str, dict[str, FieldDescriptor]] = {}


def fields_by_json_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """The fields of a message, keyed by the names manifests use."""
    cached = _FIELDS.get(descriptor.full_name)
    if cached is None:
        cached = {field.json_name: field for field in descriptor.fields}
        _FIELDS[descriptor.full_name] = cached
    return cached


def decode_into(
    data: Any, message: Message, path: str, skip: frozenset[str] = frozenset()
) -> list[DecodeError]:
    """Merge ``data`` (a mapping) into ``message``; return every problem found, never raise.

    Keys in ``skip`` are ignored (the caller handles them, e.g. apiVersion and kind).
    """
    errors: list[DecodeError] = []
    _decode_message(data, message, path, errors, skip)
    return errors


def _decode_message(
    data: Any, message: Message, path: str, errors: list[DecodeError], skip: frozenset[str] = frozenset()
) -> None:
    if not isinstance(data, Mapping):
        errors.append(DecodeError(path, f"expected a mapping, got {describe(data)}"))
        return
    message.SetInParent()
    fields = fields_by_json_name(_descriptor(message))
    oneof_members: dict[str, list[str]] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            errors.append(DecodeError(path, f"field names must be strings, got {describe(key)}"))
            continue
        if key in skip:
            continue
        field_path = child_path(path, key)
        field = fields.get(key)
        if field is None:
            errors.append(DecodeError(field_path, _unknown_field(key, [*fields, *skip])))
            continue
        if value is None:
            continue
        oneof = field.containing_oneof
        if oneof is not None and not _is_synthetic(field):
            oneof_members.setdefault(oneof.full_name, []).append(key)
        _decode_field(value, message, field, field_path, errors)
    for oneof_name, members in oneof_members.items():
        if len(members) > 1:
            choices = _one_of_choices(_descriptor(message), oneof_name)
            quantifier = "exactly" if oneof_name in _REQUIRED_ONEOFS else "at most"
            errors.append(DecodeError(path, f"{quantifier} one of {choices}"))


def _decode_field(
    value: Any, message: Message, field: FieldDescriptor, path: str, errors: list[DecodeError]
) -> None:
    if _is_map(field):
        if not isinstance(value, Mapping):
            errors.append(DecodeError(path, f"expected a mapping, got {describe(value)}"))
            return
        target = getattr(message, field.name)
        value_field = _message_type(field).fields_by_name["value"]
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(DecodeError(path, f"keys must be strings, got {describe(key)}"))
                continue
            entry_path = key_path(path, key)
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                _decode_message(item, target[key], entry_path, errors)
                continue
            ok, converted = _scalar(item, value_field, entry_path, errors)
            if ok:
                target[key] = converted
        return
    if _is_repeated(field):
        if not isinstance(value, list):
            errors.append(DecodeError(path, f"expected a list, got {describe(value)}"))
            return
        target = getattr(message, field.name)
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if _message_type(field).full_name == _TIMESTAMP:
                    _decode_timestamp(item, target.add(), item_path, errors)
                else:
                    _decode_message(item, target.add(), item_path, errors)
                continue
            ok, converted = _scalar(item, field, item_path, errors)
            if ok:
                target.append(converted)
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        child = getattr(message, field.name)
        if _message_type(field).full_name == _TIMESTAMP:
            _decode_timestamp(value, child, path, errors)
        else:
            _decode_message(value, child, path, errors)
        return
    ok, converted = _scalar(value, field, path, errors)
    if ok:
        setattr(message, field.name, converted)


def _decode_timestamp(value: Any, target: Message, path: str, errors: list[DecodeError]) -> None:
    if not isinstance(value, str):
        errors.append(DecodeError(path, f"expected an RFC 3339 timestamp string, got {describe(value)}"))
        return
    try:
        parsed = Timestamp()
        parsed.FromJsonString(value)
    except ValueError:
        errors.append(
            DecodeError(path, f'invalid timestamp {describe(value)} (use RFC 3339: "2026-11-27T09:18:00Z")')
        )
        return
    target.CopyFrom(parsed)


def _scalar(value: Any, field: FieldDescriptor, path: str, errors: list[DecodeError]) -> tuple[bool, Any]:
    """(True, converted value) or (False, None) after recording why ``value`` does not fit."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        if isinstance(value, str):
            return True, value
        if (
            field.full_name in _NUMBER_AS_STRING
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return True, str(value)
        if isinstance(value, bool):
            hint = "YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value"
            errors.append(DecodeError(path, f"expected a string, got {describe(value)} ({hint})"))
        elif isinstance(value, int | float):
            errors.append(
                DecodeError(path, f"expected a string, got {describe(value)} (quote it to keep it a string)")
            )
        else:
            errors.append(DecodeError(path, f"expected a string, got {describe(value)}"))
        return False, None
    if kind == FieldDescriptor.TYPE_BYTES:
        return _base64(value, path, errors)
    if kind == FieldDescriptor.TYPE_BOOL:
        if isinstance(value, bool):
            return True, value
        errors.append(DecodeError(path, f"expected true or false, got {describe(value)}"))
        return False, None
    if kind in _INT_RANGES:
        return _integer(value, field, path, errors)
    if kind in _FLOATS:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        errors.append(DecodeError(path, f"expected a number, got {describe(value)}"))
        return False, None
    if kind == FieldDescriptor.TYPE_ENUM:
        if isinstance(value, str) and value in _enum_type(field).values_by_name:
            return True, _enum_type(field).values_by_name[value].number
        names = ", ".join(_enum_type(field).values_by_name)
        errors.append(DecodeError(path, f"expected one of {names}, got {describe(value)}"))
        return False, None
    errors.append(DecodeError(path, f"fields of type {kind} are not supported in manifests"))
    return False, None


def _base64(value: Any, path: str, errors: list[DecodeError]) -> tuple[bool, Any]:
    """Bytes fields are base64 text, as in Kubernetes (Secret data, ConfigMap binaryData). The
    message never quotes the text: it may be a credential."""
    if isinstance(value, str):
        try:
            return True, base64.b64decode(value.encode(), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            pass
    errors.append(DecodeError(path, "expected base64 text (standard alphabet, padded); the value is not shown"))
    return False, None


def _integer(value: Any, field: FieldDescriptor, path: str, errors: list[DecodeError]) -> tuple[bool, Any]:
    low, high, name = _INT_RANGES[field.type]
    if (
        isinstance(value, float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value.is_integer()
    ):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(DecodeError(path, f"expected an integer, got {describe(value)}"))
        return False, None
    if not low <= value <= high:
        errors.append(DecodeError(path, f"{value} is out of range for {name} ({low} to {high})"))
        return False, None
    return True, value


def _unknown_field(key: str, known: list[str]) -> str:
    return f"unknown field {describe(key)}{did_you_mean(key, known)}"


def _one_of_choices(descriptor: Descriptor, oneof_full_name: str) -> str:
    oneof = next(o for o in descriptor.oneofs if o.full_name == oneof_full_name)
    names = [field.json_name for field in oneof.fields]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _descriptor(message: Message) -> Descriptor:
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]  # upb's Descriptor is the same API
    return descriptor


def _message_type(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None, f"{field.full_name} is not a message field"
    return field.message_type


def _enum_type(field: FieldDescriptor) -> EnumDescriptor:
    assert field.enum_type is not None, f"{field.full_name} is not an enum field"
    return field.enum_type


def _is_synthetic(field: FieldDescriptor) -> bool:
    """proto3 ``optional`` fields sit in a synthetic one-member oneof named ``_field``."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}"


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and _is_repeated(field)
        and _message_type(field).GetOptions().map_entry
    )


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


# The descriptor reading this codec's JSON follows, for what describes that JSON (the HTTP API's
# OpenAPI document, controller/apiserver/http/openapi.py).
is_map = _is_map
is_repeated = _is_repeated
message_type = _message_type
enum_type = _enum_type


# ---------------------------------------------------------------------------------------------
# Encoding


def encode(message: Message) -> dict[str, Any]:
    """Every set field of ``message`` under its JSON name; maps with sorted keys."""
    result: dict[str, Any] = {}
    for field, value in message.ListFields():
        result[field.json_name] = _encode_field(field, value)
    return result


def _encode_field(field: FieldDescriptor, value: Any) -> Any:
    if _is_map(field):
        value_field = _message_type(field).fields_by_name["value"]
        return {key: _encode_single(value_field, value[key]) for key in sorted(value)}
    if _is_repeated(field):
        return [_encode_single(field, item) for item in value]
    return _encode_single(field, value)


def _encode_single(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if _message_type(field).full_name == _TIMESTAMP:
            return value.ToJsonString()
        return encode(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _enum_type(field).values_by_number[value].name
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value

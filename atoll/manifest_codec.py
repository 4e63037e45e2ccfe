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
from collections.abc import Callable, Mapping
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


# How one field is decoded, worked out once per field from its descriptor (the HTTP API decodes
# every request body with this; a walk that asked the descriptor on every value cost more than
# the Create call itself). Each decoder takes (value, message, path, errors).
FieldDecoder = Callable[[Any, Message, str, list[DecodeError]], None]


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    decode: FieldDecoder
    oneof: str | None  # full name of the (non-synthetic) oneof holding the field


_PLANS: dict[Descriptor, dict[str, _FieldPlan]] = {}


def _plan(descriptor: Descriptor) -> dict[str, _FieldPlan]:
    """The fields of ``descriptor`` by JSON name, each with its decoder (built once, cached)."""
    plan = _PLANS.get(descriptor)
    if plan is None:
        plan = {}
        for name, field in fields_by_json_name(descriptor).items():
            oneof = field.containing_oneof
            in_oneof = oneof is not None and not _is_synthetic(field)
            plan[name] = _FieldPlan(_field_decoder(field), oneof.full_name if in_oneof and oneof else None)
        _PLANS[descriptor] = plan
    return plan


def _decode_message(
    data: Any, message: Message, path: str, errors: list[DecodeError], skip: frozenset[str] = frozenset()
) -> None:
    if not isinstance(data, Mapping):
        errors.append(DecodeError(path, f"expected a mapping, got {describe(data)}"))
        return
    message.SetInParent()
    plan = _plan(_descriptor(message))
    oneof_members: dict[str, list[str]] | None = None
    for key, value in data.items():
        if skip and key in skip:
            continue
        field = plan.get(key)
        if field is None:
            if not isinstance(key, str):
                errors.append(DecodeError(path, f"field names must be strings, got {describe(key)}"))
            else:
                errors.append(DecodeError(child_path(path, key), _unknown_field(key, [*plan, *skip])))
            continue
        if value is None:
            continue
        if field.oneof is not None:
            if oneof_members is None:
                oneof_members = {}
            oneof_members.setdefault(field.oneof, []).append(key)
        field.decode(value, message, f"{path}.{key}" if path else key, errors)
    if oneof_members is None:
        return
    for oneof_name, members in oneof_members.items():
        if len(members) > 1:
            choices = _one_of_choices(_descriptor(message), oneof_name)
            quantifier = "exactly" if oneof_name in _REQUIRED_ONEOFS else "at most"
            errors.append(DecodeError(path, f"{quantifier} one of {choices}"))


def _field_decoder(field: FieldDescriptor) -> FieldDecoder:
    """The decoder of one field: maps, lists, messages, timestamps and scalars each their own."""
    name = field.name
    if _is_map(field):
        return _map_decoder(name, _message_type(field).fields_by_name["value"])
    if _is_repeated(field):
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            convert = _value_converter(field)

            def append_scalar(item: Any, target: Any, path: str, errors: list[DecodeError]) -> None:
                converted = convert(item, path, errors)
                if converted is not _INVALID:
                    target.append(converted)

            return _list_decoder(name, append_scalar)
        item_decoder = _decode_timestamp if _message_type(field).full_name == _TIMESTAMP else _decode_message

        def add_message(item: Any, target: Any, path: str, errors: list[DecodeError]) -> None:
            item_decoder(item, target.add(), path, errors)

        return _list_decoder(name, add_message)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        child_decoder = _decode_timestamp if _message_type(field).full_name == _TIMESTAMP else _decode_message

        def decode_child(value: Any, message: Message, path: str, errors: list[DecodeError]) -> None:
            child_decoder(value, getattr(message, name), path, errors)

        return decode_child
    convert = _value_converter(field)

    def decode_scalar(value: Any, message: Message, path: str, errors: list[DecodeError]) -> None:
        converted = convert(value, path, errors)
        if converted is not _INVALID:
            setattr(message, name, converted)

    return decode_scalar


def _map_decoder(name: str, value_field: FieldDescriptor) -> FieldDecoder:
    messages = value_field.type == FieldDescriptor.TYPE_MESSAGE
    convert = None if messages else _value_converter(value_field)

    def decode_map(value: Any, message: Message, path: str, errors: list[DecodeError]) -> None:
        if type(value) is not dict and not isinstance(value, Mapping):
            errors.append(DecodeError(path, f"expected a mapping, got {describe(value)}"))
            return
        target = getattr(message, name)
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                errors.append(DecodeError(path, f"keys must be strings, got {describe(key)}"))
                continue
            entry_path = key_path(path, key)
            if convert is None:
                _decode_message(item, target[key], entry_path, errors)
                continue
            converted = convert(item, entry_path, errors)
            if converted is not _INVALID:
                target[key] = converted

    return decode_map


def _list_decoder(name: str, add_item: Callable[[Any, Any, str, list[DecodeError]], None]) -> FieldDecoder:
    """A repeated field's decoder; ``add_item(item, the repeated field, item path, errors)`` adds one item."""

    def decode_list(value: Any, message: Message, path: str, errors: list[DecodeError]) -> None:
        if not isinstance(value, list):
            errors.append(DecodeError(path, f"expected a list, got {describe(value)}"))
            return
        target = getattr(message, name)
        for index, item in enumerate(value):
            add_item(item, target, f"{path}[{index}]", errors)

    return decode_list


# A scalar converter returns the value to store, or _INVALID after recording why it does not fit.
Converter = Callable[[Any, str, list[DecodeError]], Any]
_INVALID = object()


def _value_converter(field: FieldDescriptor) -> Converter:
    """A converter whose common case (the value already has the field's Python type and range) is
    one check; anything else goes through _scalar, which converts or says why not."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING or kind == FieldDescriptor.TYPE_BOOL:
        exact: type = str if kind == FieldDescriptor.TYPE_STRING else bool

        def convert_exact(value: Any, path: str, errors: list[DecodeError]) -> Any:
            return value if type(value) is exact else _slow(value, field, path, errors)

        return convert_exact
    if kind in _INT_RANGES:
        low, high, _ = _INT_RANGES[kind]

        def convert_integer(value: Any, path: str, errors: list[DecodeError]) -> Any:
            if type(value) is int and low <= value <= high:
                return value
            return _slow(value, field, path, errors)

        return convert_integer
    if kind == FieldDescriptor.TYPE_ENUM:
        numbers = {name: value.number for name, value in _enum_type(field).values_by_name.items()}

        def convert_enum(value: Any, path: str, errors: list[DecodeError]) -> Any:
            if type(value) is str:
                number = numbers.get(value)
                if number is not None:
                    return number
            return _slow(value, field, path, errors)

        return convert_enum

    def convert_other(value: Any, path: str, errors: list[DecodeError]) -> Any:
        return _slow(value, field, path, errors)

    return convert_other


def _slow(value: Any, field: FieldDescriptor, path: str, errors: list[DecodeError]) -> Any:
    ok, converted = _scalar(value, field, path, errors)
    return converted if ok else _INVALID


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
        plan = _ENCODERS.get(field)
        if plan is None:
            plan = _ENCODERS[field] = (field.json_name, _field_encoder(field))
        name, encoder = plan
        result[name] = value if encoder is None else encoder(value)
    return result


# How one field's value is encoded, worked out once per field (descriptors are long-lived objects):
# its JSON name and encoder, None when the value is its own JSON.
_ENCODERS: dict[FieldDescriptor, tuple[str, Callable[[Any], Any] | None]] = {}


def _field_encoder(field: FieldDescriptor) -> Callable[[Any], Any] | None:
    if _is_map(field):
        encode_value = _single_encoder(_message_type(field).fields_by_name["value"])
        if encode_value is None:
            return lambda value: {key: value[key] for key in sorted(value)}
        return lambda value: {key: encode_value(value[key]) for key in sorted(value)}
    encode_single = _single_encoder(field)
    if _is_repeated(field):
        if encode_single is None:
            return list
        return lambda value: [encode_single(item) for item in value]
    return encode_single


def _single_encoder(field: FieldDescriptor) -> Callable[[Any], Any] | None:
    """The encoder of one value of ``field``; None when the value is its own JSON (strings, numbers, bools)."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if _message_type(field).full_name == _TIMESTAMP:
            return Timestamp.ToJsonString
        return encode
    if field.type == FieldDescriptor.TYPE_ENUM:
        names = {number: value.name for number, value in _enum_type(field).values_by_number.items()}
        return names.__getitem__
    if field.type == FieldDescriptor.TYPE_BYTES:
        return lambda value: base64.b64encode(value).decode()
    return None


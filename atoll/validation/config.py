"""Validation of ConfigMaps and Secrets, and the key and path rules volumes share with them.

A key becomes a file name in a volume and an environment variable's source, so it follows
Kubernetes: ``[-._a-zA-Z0-9]+``, at most 253 characters, never ``.`` or ``..``. A path inside a
volume (``items[].path``, ``subPath``) is relative, and no element of it is ``..``. Data is 1 MiB
in all per object (keys and values), as Kubernetes allows.

Messages never quote a Secret's values (they are credentials); keys are quoted, bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from atoll.manifest_codec import describe, key_path
from atoll.v1 import config_pb2
from atoll.validation.base import FieldError

KEY_MAX = 253
MAX_DATA_BYTES = 1024 * 1024
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot name a ConfigMap or Secret entry (a file name), or None."""
    if not key:
        return "a key may not be empty"
    if len(key) > KEY_MAX:
        return f"a key may be at most {KEY_MAX} characters, got {len(key)}"
    if key in (".", ".."):
        return f"a key may not be {describe(key)}"
    if not _KEY.match(key):
        return f"invalid key {describe(key)}: use letters, digits, '-', '_' and '.'"
    return None


def relative_path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe relative path inside a volume (no absolute path, no ``..``), or None."""
    if path.startswith("/"):
        return f"must be a relative path, got {describe(path)}"
    if ".." in path.split("/"):
        return f"may not contain '..', got {describe(path)}"
    if "\x00" in path:
        return "may not contain a NUL character"
    return None


def check_mode(mode: int, path: str, errors: list[FieldError]) -> None:
    if not 0 <= mode <= 0o777:
        errors.append(FieldError(path, f"must be a file mode between 0 and 0777 (511), got {mode}"))


def validate_config_map(config_map: config_pb2.ConfigMap, errors: list[FieldError]) -> None:
    """Keys, no key in both data and binaryData, 1 MiB in all."""
    _check_keys(config_map.data, "data", errors)
    _check_keys(config_map.binary_data, "binaryData", errors)
    for key in sorted(set(config_map.data) & set(config_map.binary_data)):
        errors.append(FieldError(f"binaryData[{describe(key)}]", "the key is also in data; a key may be in one only"))
    size = _bytes(config_map.data.items()) + _bytes(config_map.binary_data.items())
    _check_size(size, "data", errors)


def validate_secret(secret: config_pb2.Secret, errors: list[FieldError]) -> None:
    """Keys, 1 MiB in all (after stringData is merged: defaulting does that), not a redacted copy."""
    _check_keys(secret.data, "data", errors)
    _check_keys(secret.string_data, "stringData", errors)
    _check_size(_bytes(secret.data.items()) + _bytes(secret.string_data.items()), "data", errors)
    if secret.data_redacted:
        errors.append(
            FieldError(
                "dataRedacted",
                "this copy was read without the Secret's data and cannot be written back; "
                "read it as a user allowed Secret data, or write the data again",
            )
        )


def validate_immutable_update(
    old_data: object, new_data: object, old_immutable: bool, new_immutable: bool, errors: list[FieldError]
) -> None:
    """An immutable object (``old_immutable``) keeps its data (compared whole) and stays immutable."""
    if not old_immutable:
        return
    if not new_immutable:
        errors.append(FieldError("immutable", "may not be unset once true"))
    if old_data != new_data:
        errors.append(FieldError("data", "the object is immutable: delete and re-create it to change its data"))


def _check_keys(keys: Iterable[str], path: str, errors: list[FieldError]) -> None:
    for key in keys:
        problem = key_problem(key)
        if problem:
            errors.append(FieldError(key_path(path, key), problem))


def _bytes(items: Iterable[tuple[str, str | bytes]]) -> int:
    total = 0
    for key, value in items:
        total += len(key.encode()) + len(value.encode() if isinstance(value, str) else value)
    return total


def _check_size(size: int, path: str, errors: list[FieldError]) -> None:
    if size > MAX_DATA_BYTES:
        limit = f"more than the limit of {MAX_DATA_BYTES} (1 MiB)"
        errors.append(FieldError(path, f"keys and values total {size} bytes, {limit}"))

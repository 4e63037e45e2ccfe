"""The files a ConfigMap or Secret volume shows: every key at a path equal to the key, or only
``items`` at their paths; modes from the item, else ``defaultMode``, else 0644 (Kubernetes')."""

from __future__ import annotations

from typing import Any

from agent.volumes.projection import Payload
from atoll.user_text import bounded_repr

DEFAULT_MODE = 0o644
CONFIG_ERROR_REASON = "CreateContainerConfigError"
CONFIG_RETRY_SECONDS = 2.0  # how soon a workload held back by a ConfigError looks again


class ConfigError(Exception):
    """A container cannot be configured (a ConfigMap or Secret, or a key of one, is missing;
    a host path is not what the pod says): its Waiting reason is ``reason``
    (CreateContainerConfigError unless a subclass says otherwise), retried at ``retry_at`` (None:
    the runner's own interval). ``str()`` is one line naming the object and key, never a value."""

    reason = CONFIG_ERROR_REASON
    retry_at: float | None = None


def object_data(obj: Any) -> dict[str, bytes]:
    """A ConfigMap's data and binaryData, or a Secret's data, as bytes per key."""
    if hasattr(obj, "binary_data"):
        data = {key: value.encode() for key, value in obj.data.items()}
        data.update(obj.binary_data)
        return data
    return dict(obj.data)


def volume_payload(what: str, obj: Any | None, source: Any) -> Payload:
    """The files of a configMap/secret volume ``source`` showing ``obj`` (None: it does not exist).
    ``what`` names the object in messages (``configmap "web"``). Raises ConfigError for a missing
    object or item key unless the source is optional (then those files are simply absent)."""
    if obj is None:
        if source.optional:
            return {}
        raise ConfigError(f"{what} not found")
    data = object_data(obj)
    default_mode = source.default_mode if source.HasField("default_mode") else DEFAULT_MODE
    if not source.items:
        return {key: (value, default_mode) for key, value in data.items()}
    payload: dict[str, tuple[bytes, int]] = {}
    for item in source.items:
        if item.key not in data:
            if source.optional:
                continue
            raise ConfigError(f"{what} has no key {bounded_repr(item.key)}")
        payload[item.path] = (data[item.key], item.mode if item.HasField("mode") else default_mode)
    return payload



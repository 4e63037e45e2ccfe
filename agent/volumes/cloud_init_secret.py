"""A VM's cloud-init data from a Secret (``spec.cloudInit.secretName``, KubeVirt's
``cloudInitNoCloud.secretRef``): the user-data is the Secret's key ``userdata`` (or ``userData``),
the network-config its key ``networkdata`` (or ``networkData``) when it has one. Read from the
API for every run, so a changed Secret shows in the next run's seed; the node may read it only
while a VM bound to it names it (the node authorizer's rule, atoll/pod_references.py).

What cannot be used is a ``ConfigError`` of one line naming the Secret and key, never a value: the
Secret is missing, has no user-data key, or a value is not UTF-8 text or is larger than the
inline fields' 64 KiB. The VM waits (reason ``CloudInitConfigError``, an Event) and is retried.
"""

from __future__ import annotations

import grpc

from agent.drivers.protocol import CloudInitData
from agent.volumes.env import describe
from agent.volumes.payload import ConfigError
from atoll import kinds
from atoll.client import ApiError
from atoll.pod_references import SECRET
from atoll.ports import Getter
from atoll.validation.bounds import CHARS

USER_DATA_KEYS = ("userdata", "userData")
NETWORK_DATA_KEYS = ("networkdata", "networkData")
MAX_BYTES = CHARS["atoll.v1.CloudInit.user_data"]


class CloudInitConfigError(ConfigError):
    reason = "CloudInitConfigError"


async def from_secret(api: Getter, namespace: str, name: str, data: CloudInitData) -> CloudInitData:
    """``data`` with its user-data and network-config from Secret ``name``; CloudInitConfigError
    when they cannot be had (module docstring)."""
    what = describe(SECRET, name)
    try:
        secret = kinds.unwrap(await api.get(SECRET, name, namespace))
    except ApiError as err:
        if err.code == grpc.StatusCode.NOT_FOUND:
            raise CloudInitConfigError(f"cloudInit: {what} not found") from None
        raise CloudInitConfigError(f"cloudInit: {what}: {err.message}") from None
    values = dict(secret.data)
    user_data = _text(values, USER_DATA_KEYS, what)
    if user_data is None:
        raise CloudInitConfigError(f"cloudInit: {what} has no key {USER_DATA_KEYS[0]!r} (or {USER_DATA_KEYS[1]!r})")
    network_data = _text(values, NETWORK_DATA_KEYS, what)
    return CloudInitData(user_data=user_data, meta_data=data.meta_data, network_data=network_data or "")


def _text(values: dict[str, bytes], keys: tuple[str, ...], what: str) -> str | None:
    key = next((key for key in keys if key in values), None)
    if key is None:
        return None
    value = values[key]
    if len(value) > MAX_BYTES:
        raise CloudInitConfigError(f"cloudInit: {what} key {key!r} is {len(value)} bytes; at most {MAX_BYTES}")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise CloudInitConfigError(f"cloudInit: {what} key {key!r} is not UTF-8 text") from None

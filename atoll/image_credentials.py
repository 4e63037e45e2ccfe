"""Registry credentials in Docker's config.json shape, the one format the field shares: a
``kubernetes.io/dockerconfigjson`` Secret's ``.dockerconfigjson`` key, ``~/.docker/config.json``,
and the file given to ``--registry-config``::

    {"auths": {"registry.example:5000": {"auth": "base64(user:password)"}}}
    (or "username"/"password" instead of "auth"; a key may be a URL such as https://index.docker.io/v1/)

Secrets are user input: the document is size-bounded, fields are type-checked, and errors name
the entry but never show a credential.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from types import MappingProxyType

from atoll.image_reference import DOCKER_HUB
from atoll.image_registry import Credentials
from atoll.user_text import bounded_repr

DOCKER_CONFIG_KEY = ".dockerconfigjson"
DOCKER_CONFIG_SECRET_TYPE = "kubernetes.io/dockerconfigjson"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_ENTRIES = 256
# What Docker Hub is called in config files written by `docker login`.
_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io")


class CredentialsError(ValueError):
    """A credentials document that cannot be read; one line, no secret in it."""


def parse_docker_config(data: bytes, where: str) -> MappingProxyType[str, Credentials]:
    """Credentials by registry (``host[:port]``; Docker Hub as ``docker.io``) from ``data``."""
    if len(data) > MAX_CONFIG_BYTES:
        raise CredentialsError(f"{where}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise CredentialsError(f"{where}: not valid JSON") from None
    auths = document.get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        raise CredentialsError(f"{where}: no \"auths\" object")
    if len(auths) > MAX_ENTRIES:
        raise CredentialsError(f"{where}: more than {MAX_ENTRIES} registries")
    found: dict[str, Credentials] = {}
    for key, entry in auths.items():
        registry = registry_of(key)
        shown = f"{where}: auths[{bounded_repr(key)}]"
        if not isinstance(entry, dict):
            raise CredentialsError(f"{shown} is not an object")
        found[registry] = _credentials(entry, shown)
    return MappingProxyType(found)


def load_docker_config(path: Path) -> MappingProxyType[str, Credentials]:
    """``parse_docker_config`` of a file; CredentialsError when it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise CredentialsError(f"{bounded_repr(str(path))}: {err.strerror or err}") from None
    return parse_docker_config(data, bounded_repr(str(path)))


def registry_of(key: str) -> str:
    """A config key (``https://host:5000/v1/``, ``host:5000``) as the registry ``host[:port]``."""
    if key in _HUB_KEYS:
        return DOCKER_HUB
    text = key.split("://", 1)[-1]
    host = text.split("/", 1)[0]
    return DOCKER_HUB if host in _HUB_KEYS else host


def _credentials(entry: dict[str, object], shown: str) -> Credentials:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsError(f"{shown}.auth is not base64 of user:password") from None
        user, colon, password = decoded.partition(":")
        if not colon:
            raise CredentialsError(f"{shown}.auth is not base64 of user:password")
        return Credentials(user, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret)
    raise CredentialsError(f"{shown} has neither auth nor username and password")

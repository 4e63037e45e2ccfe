"""Where a client finds the API server: the --server flag, $ATOLL_SERVER, or the client config file.

The config file is YAML, written by ``atoll up`` (or by hand)::

    server: 127.0.0.1:7443
    # Optional, for mTLS and token authentication (unused in --dev):
    ca: /path/ca.pem
    cert: /path/client.pem
    key: /path/client-key.pem
    token: s3cr3t

Precedence, highest first: the ``--server`` flag, ``$ATOLL_SERVER``, the file at
``$ATOLL_CONFIG`` or ``~/.config/atoll/config.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from atoll.atomic_file import write_atomic

CONFIG_ENV = "ATOLL_CONFIG"
SERVER_ENV = "ATOLL_SERVER"


class ConfigError(Exception):
    """The client configuration is missing or unreadable; the message is one actionable line."""


@dataclass(frozen=True)
class ClientConfig:
    """What a client needs to reach and authenticate to the API server.

    ``ca``, ``cert`` and ``key`` are file paths (PEM); when ``ca`` is set the client speaks TLS,
    and presents ``cert``/``key`` for mutual TLS when both are set. ``token`` is sent as a bearer
    token on every call.
    """

    server: str
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    token: str | None = None


def default_config_path() -> Path:
    """``$ATOLL_CONFIG`` when set, else ``~/.config/atoll/config.yaml``."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path.home() / ".config" / "atoll" / "config.yaml"


def load_client_config(path: Path | None = None) -> ClientConfig | None:
    """The config stored at ``path`` (default: ``default_config_path()``), or None if there is none.

    Raises ConfigError when the file exists but is not a mapping with a ``server`` string.
    """
    path = path or default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigError(f"cannot read client config {path}: {err.strerror}") from None
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"client config {path} is not valid YAML: {_first_line(err)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"client config {path} must be a mapping with a 'server' key")
    fields: dict[str, str | None] = {}
    for name in ("server", "ca", "cert", "key", "token"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"client config {path}: {name} must be a string")
        fields[name] = value
    server = fields.pop("server")
    if not server:
        raise ConfigError(f"client config {path} has no 'server' (run `atoll up` to write one)")
    return ClientConfig(server=server, **fields)


def write_client_config(
    server: str,
    path: Path | None = None,
    *,
    ca: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    token: str | None = None,
) -> Path:
    """Store a client config pointing at ``server``; return the path written.

    The write is atomic (temporary file + rename) and the file is private (mode 0600), since it
    may carry a token.
    """
    path = path or default_config_path()
    config = ClientConfig(server=server, ca=ca, cert=cert, key=key, token=token)
    data = {name: value for name, value in asdict(config).items() if value is not None}
    write_atomic(path, yaml.safe_dump(data, sort_keys=False).encode(), 0o600)
    return path


def resolve_client_config(flag: str | None) -> ClientConfig:
    """The effective config: the flag or ``$ATOLL_SERVER`` override the file's server address.

    TLS fields and token always come from the file. Raises ConfigError when no server is known.
    """
    override = flag or os.environ.get(SERVER_ENV)
    try:
        stored = load_client_config()
    except ConfigError:
        if not override:
            raise
        stored = None  # an explicit address still works when the file is broken
    server = override or (stored.server if stored else "")
    if not server:
        raise ConfigError(
            f"no atoll server configured: run `atoll up`, pass --server HOST:PORT or set ${SERVER_ENV} "
            f"(looked in {default_config_path()})"
        )
    if stored is None:
        return ClientConfig(server=server)
    return ClientConfig(server=server, ca=stored.ca, cert=stored.cert, key=stored.key, token=stored.token)


def resolve_server(flag: str | None) -> str:
    """The server address: ``flag``, else ``$ATOLL_SERVER``, else the config file; else ConfigError."""
    return resolve_client_config(flag).server


def _first_line(err: Exception) -> str:
    return " ".join(str(err).split())

"""Where a client finds the API server and how it authenticates: flags, environment, config file.

The config file is YAML, written by ``atoll up`` (or by hand)::

    server: 127.0.0.1:7443          # or several: [a:7443, b:7443, c:7443]
    # Optional, for mTLS and token authentication (unused in --dev):
    ca: /path/ca.pem
    cert: /path/client.pem
    key: /path/client-key.pem
    token: s3cr3t

Precedence, highest first, as kubectl's (explicit flags, then the environment, then the file):

- the file: ``$ATOLL_CONFIG``, else ``~/.config/atoll/config.yaml``;
- the server: ``--server``, else ``$ATOLL_SERVER``, else the file's; each may name several API
  servers (a comma list; a YAML list in the file), which the client fails over between
  (atoll/server_addresses.py: the address rules, a missing port is 7443);
- the credentials (ca, cert, key, token) as one set, never mixed from two sources: the flags
  ``--ca/--cert/--key/--token`` when any is given; else the file's, but only when the file is
  written for the server chosen above. A file written for another server lends nothing: the
  client speaks plaintext without a token, and says so in one line (a notice), so that
  ``--server`` never borrows another cluster's certificates silently.

Every credential file that is used must be readable: otherwise ConfigError names the file and
where it was named (the config file or the flag), in one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from atoll.atomic_file import write_atomic
from atoll.server_addresses import ServerAddressError, parse_servers

CONFIG_ENV = "ATOLL_CONFIG"
SERVER_ENV = "ATOLL_SERVER"


class ConfigError(Exception):
    """The client configuration is missing or unreadable; the message is one actionable line."""


@dataclass(frozen=True)
class ClientConfig:
    """What a client needs to reach and authenticate to the API server.

    ``server`` is one address or several as a comma list (``servers`` splits it). ``ca``,
    ``cert`` and ``key`` are file paths (PEM); when ``ca`` is set the client speaks TLS, and
    presents ``cert``/``key`` for mutual TLS when both are set. ``token`` is sent as a bearer
    token on every call.
    """

    server: str
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    token: str | None = None

    @property
    def servers(self) -> tuple[str, ...]:
        """Each API server address in ``server``, normalized (ServerAddressError if malformed)."""
        return parse_servers(self.server)


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
    import yaml  # deferred: `atoll --help` and `atoll version --client` never read the file

    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"client config {path} is not valid YAML: {_first_line(err)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"client config {path} must be a mapping with a 'server' key")
    fields: dict[str, str | None] = {"server": _stored_servers(data.get("server"), path)}
    for name in ("ca", "cert", "key", "token"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"client config {path}: {name} must be a string")
        fields[name] = value
    server = fields.pop("server")
    if not server:
        raise ConfigError(f"client config {path} has no 'server' (run `atoll up` to write one)")
    return ClientConfig(server=server, **fields)


def _stored_servers(value: object, path: Path) -> str | None:
    """The file's ``server`` (a string, comma list or YAML list) normalized, or None when absent."""
    if value is None or value == "" or value == []:
        return None
    if not isinstance(value, str | list):
        raise ConfigError(f"client config {path}: server must be HOST:PORT or a list of them")
    try:
        return ",".join(parse_servers(value))
    except ServerAddressError as err:
        raise ConfigError(f"client config {path}: {err}") from None


def write_client_config(
    server: str,
    path: Path | None = None,
    *,
    ca: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    token: str | None = None,
) -> Path:
    """Store a client config pointing at ``server`` (several: a comma list, stored as a YAML list);
    return the path written.

    The write is atomic (temporary file + rename) and the file is private (mode 0600), since it
    may carry a token.
    """
    path = path or default_config_path()
    config = ClientConfig(server=server, ca=ca, cert=cert, key=key, token=token)
    data: dict[str, object] = {name: value for name, value in asdict(config).items() if value is not None}
    if len(config.servers) > 1:
        data["server"] = list(config.servers)
    import yaml

    write_atomic(path, yaml.safe_dump(data, sort_keys=False).encode())
    return path


@dataclass(frozen=True)
class ClientFlags:
    """What a command line says explicitly about reaching the server; None: not given."""

    server: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    token: str | None = None

    def credentials(self) -> dict[str, str | None]:
        return {"ca": self.ca, "cert": self.cert, "key": self.key, "token": self.token}


Notice = Callable[[str], object]
CREDENTIAL_FILES = ("ca", "cert", "key")


def resolve_client_config(flags: ClientFlags | str | None = None, *, notice: Notice | None = None) -> ClientConfig:
    """The effective config by the precedence in this module's docstring.

    ``flags`` may be just the ``--server`` value. ``notice`` receives the one line saying that a
    config file written for another server was not used for credentials. Raises ConfigError
    (one line) when no server is known, when the file is broken and no server is given
    explicitly, or when a credential file that would be used cannot be read.
    """
    given = flags if isinstance(flags, ClientFlags) else ClientFlags(server=flags)
    override = _explicit_servers(given.server)
    path = default_config_path()
    try:
        stored = load_client_config(path)
    except ConfigError:
        if not override:
            raise
        stored = None  # an explicit address still works when the file is broken
    server = override or (stored.server if stored else "")
    if not server:
        raise ConfigError(
            f"no atoll server configured: run `atoll up`, pass --server HOST:PORT or set ${SERVER_ENV} "
            f"(looked in {path})"
        )
    explicit = given.credentials()
    if any(explicit.values()):
        config = ClientConfig(server=server, **explicit)
        _require_readable(config, lambda field: f"--{field}")
        return config
    if stored is None:
        return ClientConfig(server=server)
    if stored.server != server:
        if notice is not None and any(getattr(stored, field) for field in (*CREDENTIAL_FILES, "token")):
            notice(
                f"note: not using the credentials of client config {path}: it is written for server "
                f"{stored.server}, not {server} (pass --ca/--cert/--key/--token, or set ${CONFIG_ENV})"
            )
        return ClientConfig(server=server)
    config = ClientConfig(server=server, ca=stored.ca, cert=stored.cert, key=stored.key, token=stored.token)
    _require_readable(config, lambda field: f"client config {path}: {field}")
    return config


def _explicit_servers(flag: str | None) -> str | None:
    """``--server``, else ``$ATOLL_SERVER``, normalized; ConfigError naming a bad address."""
    for value, where in ((flag, "--server"), (os.environ.get(SERVER_ENV), f"${SERVER_ENV}")):
        if value:
            try:
                return ",".join(parse_servers(value))
            except ServerAddressError as err:
                raise ConfigError(f"{where}: {err}") from None
    return None


def resolve_server(flag: str | None) -> str:
    """The server address: ``flag``, else ``$ATOLL_SERVER``, else the config file; else ConfigError."""
    return resolve_client_config(flag).server


def _require_readable(config: ClientConfig, where: Callable[[str], str]) -> None:
    """ConfigError naming ``where(field)`` for a certificate set that cannot work (cert without
    key, a client certificate without a ca) or the first credential file that cannot be read."""
    if bool(config.cert) != bool(config.key):
        missing = "key" if config.cert else "cert"
        raise ConfigError(f"{where(missing)} is missing: cert and key go together")
    if config.cert and not config.ca:
        raise ConfigError(f"{where('ca')} is missing: a client certificate needs the server's ca")
    for field in CREDENTIAL_FILES:
        name = getattr(config, field)
        if not name:
            continue
        try:
            with open(name, "rb"):
                pass
        except OSError as err:
            raise ConfigError(f"{where(field)} {name}: {err.strerror or err}") from None


def _first_line(err: Exception) -> str:
    return " ".join(str(err).split())

"""The cluster's PKI directory: where each certificate lives, who it names, and client configs from it.

Layout of a PKI directory (``atoll certs init --dir DIR``; ``atoll up`` uses DATA_DIR/pki)::

    ca.pem, ca-key.pem                            the cluster CA
    apiserver.pem, apiserver-key.pem              the API server (serverAuth, SANs)
    admin.pem, admin-key.pem                      CN=admin, O=system:masters
    scheduler.pem, scheduler-key.pem              CN=system:scheduler
    controller.pem, controller-key.pem            CN=system:controller-manager
    fleet.pem, fleet-key.pem                      CN=system:node-fleet, O=system:node-fleets (hollow nodes)
    nodes/NAME.pem, nodes/NAME-key.pem            CN=system:node:NAME, O=system:nodes

``ensure_pki`` creates what is missing and keeps what exists (the CA above all), so running it
again is safe; it reissues the API server certificate when a wanted SAN is not in it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from atoll import certs
from atoll.certs import KeyPair, Subject
from atoll.config import ClientConfig
from atoll.server_addresses import APISERVER_TLS_NAME
from atoll.validation.base import dns_subdomain_problem

ADMIN_USER = "admin"
MASTERS_GROUP = "system:masters"
SCHEDULER_USER = "system:scheduler"
CONTROLLER_USER = "system:controller-manager"
# One identity for a process that simulates many nodes (agent/hollow): the built-in "fleet" role.
FLEET_USER = "system:node-fleet"
FLEETS_GROUP = "system:node-fleets"
NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
APISERVER_USER = "atoll-apiserver"
# Names always in the API server certificate, so local clients can verify it.
LOCAL_SANS = ("localhost", "127.0.0.1", "::1")

# Component name -> (file stem, subject). Nodes are "node:NAME".
COMPONENTS: dict[str, tuple[str, Subject]] = {
    "admin": ("admin", Subject(ADMIN_USER, (MASTERS_GROUP,))),
    "scheduler": ("scheduler", Subject(SCHEDULER_USER)),
    "controller": ("controller", Subject(CONTROLLER_USER)),
    "fleet": ("fleet", Subject(FLEET_USER, (FLEETS_GROUP,))),
}
NODE_PREFIX = "node:"
# The name every agent certificate (node:NAME and fleet) carries as a DNS SAN, so the API server
# can verify an agent's log endpoint whatever address it publishes; ``ssl_target_name_override``.
AGENT_TLS_NAME = "atoll-agent"


class PkiError(Exception):
    """A PKI request that cannot be met (unknown component, bad node name); one line."""


def node_user(node_name: str) -> str:
    """The user name a node's certificate carries: ``system:node:NAME``."""
    return f"{NODE_USER_PREFIX}{node_name}"


@dataclass(frozen=True)
class Pki:
    """Paths inside one PKI directory."""

    directory: Path

    def cert(self, stem: str) -> Path:
        return self.directory / f"{stem}.pem"

    def key(self, stem: str) -> Path:
        return self.directory / f"{stem}-key.pem"

    @property
    def ca_cert(self) -> Path:
        return self.cert("ca")

    @property
    def server_cert(self) -> Path:
        return self.cert("apiserver")

    @property
    def server_key(self) -> Path:
        return self.key("apiserver")

    def stem_of(self, component: str) -> tuple[str, Subject]:
        """File stem and subject of ``admin``, ``scheduler``, ``controller`` or ``node:NAME``."""
        if component.startswith(NODE_PREFIX):
            name = component[len(NODE_PREFIX) :]
            problem = dns_subdomain_problem(name) if name else "required"
            if problem:
                raise PkiError(f"node name {name!r}: {problem}")
            return f"nodes/{name}", Subject(node_user(name), (NODES_GROUP,))
        try:
            return COMPONENTS[component]
        except KeyError:
            known = ", ".join([*COMPONENTS, "node:NAME"])
            raise PkiError(f"unknown component {component!r}; known: {known}") from None


@dataclass
class PkiReport:
    """What ``ensure_pki`` did: files it wrote and warnings about expiring certificates."""

    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def default_sans() -> list[str]:
    """Local names plus this machine's host name."""
    return [*LOCAL_SANS, socket.gethostname()]


def ensure_pki(
    directory: Path,
    *,
    sans: Sequence[str] = (),
    nodes: Iterable[str] = (),
    now: datetime | None = None,
    valid_days: int = certs.DEFAULT_VALID_DAYS,
) -> PkiReport:
    """Creates the CA, API server, admin, scheduler, controller and node certificates that are
    missing; keeps existing ones. The API server certificate gets ``sans`` plus ``LOCAL_SANS`` and
    APISERVER_TLS_NAME (the name clients of several API servers verify; an older certificate
    without it is issued again)."""
    now = now or certs.utc_now()
    pki = Pki(directory)
    report = PkiReport()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca = _ensure_ca(pki, now, report)
    wanted = list(dict.fromkeys([*LOCAL_SANS, APISERVER_TLS_NAME, *sans]))
    current = certs.load_cert(pki.server_cert) if pki.server_cert.exists() else None
    if (
        current is None
        or not set(_normalized(wanted)) <= certs.san_names(current)
        or not certs.has_client_auth(current)  # issued before the API server called agents
    ):
        dns_names, ips = certs.split_sans(wanted)
        pair = certs.issue(
            ca,
            Subject(APISERVER_USER),
            now=now,
            valid_days=valid_days,
            dns_names=dns_names,
            ip_addresses=ips,
            server=True,
            client=True,  # the API server is the client of every agent's log endpoint
        )
        _write(pki, "apiserver", pair, report)
    for component in [*COMPONENTS, *(f"{NODE_PREFIX}{name}" for name in nodes)]:
        issue_component(directory, component, now=now, valid_days=valid_days, ca=ca, report=report, replace=False)
    for path in sorted(directory.glob("*.pem")) + sorted(directory.glob("nodes/*.pem")):
        if not path.name.endswith("-key.pem"):
            warning = certs.expiry_warning(path, now)
            if warning:
                report.warnings.append(warning)
    return report


def issue_component(
    directory: Path,
    component: str,
    *,
    now: datetime | None = None,
    valid_days: int = certs.DEFAULT_VALID_DAYS,
    ca: KeyPair | None = None,
    report: PkiReport | None = None,
    replace: bool = True,
) -> tuple[Path, Path]:
    """Issues the client certificate of ``component`` (``admin``, ``scheduler``, ``controller``,
    ``node:NAME``) from the CA in ``directory``; returns (cert, key) paths. With ``replace`` false,
    an existing certificate is kept."""
    pki = Pki(directory)
    stem, subject = pki.stem_of(component)
    if not replace and pki.cert(stem).exists() and pki.key(stem).exists():
        return pki.cert(stem), pki.key(stem)
    now = now or certs.utc_now()
    ca = ca or certs.load_pair(pki.ca_cert, pki.key("ca"))
    agent = component == "fleet" or component.startswith(NODE_PREFIX)
    pair = certs.issue(
        ca, subject, now=now, valid_days=valid_days, client=True,
        server=agent, dns_names=(AGENT_TLS_NAME,) if agent else (),
    )  # fmt: skip
    _write(pki, stem, pair, report or PkiReport())
    return pki.cert(stem), pki.key(stem)


def client_config(directory: Path, server: str, component: str = "admin") -> ClientConfig:
    """A ClientConfig for ``server`` with the CA and ``component``'s certificate from ``directory``,
    issuing that certificate first when it is missing (nodes get theirs on first use)."""
    cert, key = issue_component(directory, component, replace=False)
    return ClientConfig(server=server, ca=str(Pki(directory).ca_cert), cert=str(cert), key=str(key))


def pki_dir(data_dir: Path) -> Path:
    """Where ``atoll up`` keeps its PKI inside its data dir."""
    return data_dir / "pki"


def internal_client_config(data_dir: Path, server: str, component: str, *, dev: bool = False) -> ClientConfig:
    """The ClientConfig an in-process component of ``atoll up`` connects with: ``scheduler``,
    ``controller``, ``node:NAME`` (one agent) or ``fleet`` (many simulated nodes in one process).
    Plaintext in ``dev`` mode; otherwise mTLS with the component's own certificate from
    DATA_DIR/pki (issued on first use for nodes)."""
    if dev:
        return ClientConfig(server=server)
    return client_config(pki_dir(data_dir), client_address(server), component)


def client_address(listen: str) -> str:
    """The address a local client dials for a server listening on ``listen``: a wildcard host
    (0.0.0.0, ::, empty) becomes 127.0.0.1, which the server certificate always names."""
    host, _, port = listen.rpartition(":")
    if host.strip("[]") in ("", "0.0.0.0", "::"):
        return f"127.0.0.1:{port}"
    return listen


def _ensure_ca(pki: Pki, now: datetime, report: PkiReport) -> KeyPair:
    if pki.ca_cert.exists() and pki.key("ca").exists():
        return certs.load_pair(pki.ca_cert, pki.key("ca"))
    ca = certs.create_ca(now=now)
    _write(pki, "ca", ca, report)
    return ca


def _write(pki: Pki, stem: str, pair: KeyPair, report: PkiReport) -> None:
    certs.write_pair(pair, pki.cert(stem), pki.key(stem))
    report.written += [pki.cert(stem), pki.key(stem)]


def _normalized(names: Iterable[str]) -> list[str]:
    dns_names, ips = certs.split_sans(names)
    return [*dns_names, *(str(ip) for ip in ips)]

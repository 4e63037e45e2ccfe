"""API server addresses as users write them, and the one gRPC channel that fails over between them.

Users write ``HOST:PORT`` (``[v6]:PORT`` for IPv6), several of them as a comma list
(``--server a:7443,b:7443``, ``$ATOLL_SERVER``) or a YAML list (``server: [a:7443, b:7443]`` in
the client config). A missing port means 7443, atoll's port, so that errors name the address
really tried. ``parse_servers`` is the one place these rules live.

Several addresses become one channel over all of them (gRPC's static ``ipv4:``/``ipv6:`` target,
host names resolved once when the channel is made): round-robin over the servers whose gRPC health
says SERVING for the Objects service, so a server that is down or has lost its store gets no new
calls, and a call in flight on a server that dies fails with UNAVAILABLE (the typed client retries
only idempotent calls; watches resume from their last revision). Over several addresses TLS
verifies the name ``atoll-apiserver``, which every certificate ``atoll certs`` issues to an API
server carries: per-server certificates from one CA work, whatever address each is reached at.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Sequence

DEFAULT_PORT = 7443
# The DNS name in every API server certificate, verified when a channel spans several servers.
APISERVER_TLS_NAME = "atoll-apiserver"
OBJECTS_SERVICE = "atoll.v1.Objects"
_MAX_SHOWN = 200

ChannelOptions = list[tuple[str, str | int]]


class ServerAddressError(ValueError):
    """An address that is not HOST[:PORT]; the message is one line naming it."""


def parse_servers(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"a:1, b"`` or ``["a:1", "b"]`` -> ``("a:1", "b:7443")``, duplicates dropped, order kept.

    Raises ServerAddressError naming the first entry that is not ``HOST[:PORT]``.
    """
    parts = text.split(",") if isinstance(text, str) else list(text)
    servers: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise ServerAddressError(f"server address {str(part)[:_MAX_SHOWN]!r} is not a string")
        address = _normalized(part.strip())
        if address not in servers:
            servers.append(address)
    if not servers:
        raise ServerAddressError("no server address given")
    return tuple(servers)


def split_host_port(address: str) -> tuple[str, int]:
    """``"h:1"`` -> ``("h", 1)``, ``"[::1]:1"`` -> ``("::1", 1)``; for addresses parse_servers made."""
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def channel_target(servers: Sequence[str], *, tls: bool) -> tuple[str, ChannelOptions]:
    """The gRPC target and extra channel options for ``servers`` (from parse_servers).

    One server: the address itself, no extra options (gRPC resolves the name). Several: a static
    address list (names resolved now; ServerAddressError naming a name that does not resolve),
    round_robin with client-side health checking, and, with ``tls``, the name APISERVER_TLS_NAME.
    """
    if len(servers) == 1:
        return servers[0], []
    resolved: list[tuple[str, int]] = []
    for address in servers:
        host, port = split_host_port(address)
        for ip in _resolve(host, address):
            if (ip, port) not in resolved:
                resolved.append((ip, port))
    if all(ipaddress.ip_address(ip).version == 4 for ip, _ in resolved):
        target = "ipv4:" + ",".join(f"{ip}:{port}" for ip, port in resolved)
    else:  # IPv4 addresses as IPv4-mapped IPv6 ones, so that one target holds both families
        target = "ipv6:" + ",".join(f"[{_as_v6(ip)}]:{port}" for ip, port in resolved)
    service_config = {
        "loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": OBJECTS_SERVICE},
    }
    options: ChannelOptions = [("grpc.service_config", json.dumps(service_config))]
    if tls:
        options.append(("grpc.ssl_target_name_override", APISERVER_TLS_NAME))
    return target, options


def _normalized(address: str) -> str:
    shown = address[:_MAX_SHOWN]
    if not address:
        raise ServerAddressError("empty server address in the list")
    if address.startswith("["):
        host, bracket, rest = address[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ServerAddressError(f"server address {shown!r} is not [IPV6]:PORT")
        port = rest[1:] if rest else str(DEFAULT_PORT)
        host_part = f"[{host}]"
        _require_ip(host, shown)
    elif address.count(":") > 1:  # a bare IPv6 address: no port can be told apart
        _require_ip(address, shown)
        host_part, port = f"[{address}]", str(DEFAULT_PORT)
    else:
        host, colon, port = address.partition(":")
        host_part, port = host, (port if colon else str(DEFAULT_PORT))
    if not host_part or any(char.isspace() or char in "/@?#" for char in host_part):
        raise ServerAddressError(f"server address {shown!r} is not HOST:PORT")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ServerAddressError(f"server address {shown!r}: port {port[:_MAX_SHOWN]!r} is not a number 1-65535")
    return f"{host_part}:{int(port)}"


def _require_ip(host: str, shown: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ServerAddressError(f"server address {shown!r} is not an IPv6 address in brackets") from None


def _resolve(host: str, address: str) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as err:
        raise ServerAddressError(f"server address {address[:_MAX_SHOWN]!r}: unknown host ({err.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _as_v6(ip: str) -> str:
    parsed = ipaddress.ip_address(ip)
    return str(parsed) if parsed.version == 6 else f"::ffff:{parsed}"

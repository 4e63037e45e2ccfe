"""The DHCP answer a VM gets from its node (RFC 2131, the small part a fixed binding needs).

A guest that boots from a disk cannot be given ``ip=``: it asks by DHCP. The agent already
knows each VM's address (from IPAM) and MAC (from its UID), so the answer is a fixed binding:
DISCOVER -> OFFER and REQUEST -> ACK for a known MAC (NAK when the guest asks for another
address), with the node's pod CIDR's mask, the bridge as router and server, and the VM's name.
Unknown MACs (pods, other hosts) get no answer at all, so this never competes with another
server. ``DhcpServer`` listens on the node bridge only (SO_BINDTODEVICE).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from agent.network.netns import socket_in

SERVER_PORT, CLIENT_PORT = 67, 68
MAGIC_COOKIE = b"\x63\x82\x53\x63"
BOOTREQUEST, BOOTREPLY = 1, 2
DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6
OPT_PAD, OPT_END = 0, 255
OPT_SUBNET_MASK, OPT_ROUTER, OPT_HOSTNAME, OPT_REQUESTED_IP = 1, 3, 12, 50
OPT_LEASE_TIME, OPT_MESSAGE_TYPE, OPT_SERVER_ID = 51, 53, 54
LEASE_SECONDS = 86400  # the binding is fixed for the VM's run; the guest renews daily anyway
_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # 236 bytes, RFC 2131 figure 1


@dataclass(frozen=True)
class Binding:
    """What one VM gets: ``address`` as ``IP/prefix``, the ``gateway`` (also the server id)."""

    address: str
    gateway: str
    hostname: str = ""


@dataclass(frozen=True)
class Request:
    xid: int
    flags: int
    chaddr: bytes  # the 16-byte field; the MAC is its first 6
    message_type: int
    requested_ip: str
    ciaddr: str

    @property
    def mac(self) -> str:
        return ":".join(f"{byte:02x}" for byte in self.chaddr[:6])


def parse(packet: bytes) -> Request | None:
    """A client's BOOTREQUEST with an Ethernet hardware address; None for anything else."""
    if len(packet) < _HEADER.size + len(MAGIC_COOKIE):
        return None
    op, htype, hlen, _, xid, _, flags, ciaddr, _, _, _, chaddr, _, _ = _HEADER.unpack_from(packet)
    if op != BOOTREQUEST or htype != 1 or hlen != 6 or packet[_HEADER.size:_HEADER.size + 4] != MAGIC_COOKIE:
        return None
    options = parse_options(packet[_HEADER.size + 4:])
    message_type = options.get(OPT_MESSAGE_TYPE, b"\0")[0]
    requested = options.get(OPT_REQUESTED_IP, b"")
    return Request(xid, flags, chaddr, message_type,
                   str(ipaddress.IPv4Address(requested)) if len(requested) == 4 else "",
                   str(ipaddress.IPv4Address(ciaddr)))


def parse_options(data: bytes) -> dict[int, bytes]:
    """Option code -> value of the options after the magic cookie (the first of a repeated code
    wins; a truncated option ends the list)."""
    found: dict[int, bytes] = {}
    index = 0
    while index < len(data):
        code = data[index]
        if code == OPT_END:
            break
        if code == OPT_PAD:
            index += 1
            continue
        if index + 1 >= len(data):
            break
        length = data[index + 1]
        found.setdefault(code, data[index + 2:index + 2 + length])
        index += 2 + length
    return found


def answer(request: Request, binding: Binding | None) -> bytes | None:
    """The reply to ``request`` for the VM bound to its MAC (None: not ours, or nothing to say)."""
    if binding is None:
        return None
    interface = ipaddress.IPv4Interface(binding.address)
    if request.message_type == DISCOVER:
        kind = OFFER
    elif request.message_type == REQUEST:
        asked = request.requested_ip or request.ciaddr
        kind = ACK if asked in ("", "0.0.0.0", str(interface.ip)) else NAK
    else:
        return None
    gateway = ipaddress.IPv4Address(binding.gateway).packed
    options = [(OPT_MESSAGE_TYPE, bytes([kind])), (OPT_SERVER_ID, gateway)]
    if kind != NAK:
        options += [(OPT_LEASE_TIME, struct.pack("!I", LEASE_SECONDS)),
                    (OPT_SUBNET_MASK, interface.network.netmask.packed), (OPT_ROUTER, gateway)]
        if binding.hostname:
            options.append((OPT_HOSTNAME, binding.hostname.encode()[:63]))
    yiaddr = interface.ip.packed if kind != NAK else bytes(4)
    header = _HEADER.pack(BOOTREPLY, 1, 6, 0, request.xid, 0, request.flags, bytes(4), yiaddr, gateway,
                          bytes(4), request.chaddr, bytes(64), bytes(128))
    body = b"".join(bytes([code, len(value)]) + value for code, value in options)
    return header + MAGIC_COOKIE + body + bytes([OPT_END])


class DhcpServer(asyncio.DatagramProtocol):
    """Answers on ``bridge`` for the MACs ``lookup`` knows; replies are broadcast on the bridge
    (the guest has no address yet)."""

    def __init__(self, bridge: str, lookup: Callable[[str], Binding | None]) -> None:
        self.bridge = bridge
        self.lookup = lookup
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def start(cls, bridge: str, lookup: Callable[[str], Binding | None],
                    netns: Path | None = None) -> DhcpServer:
        """Listening on UDP 67 of ``bridge`` (which must exist) in the namespace pinned at
        ``netns`` (None: the agent's own); OSError when that fails."""

        def bound() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, bridge.encode())
                sock.bind(("0.0.0.0", SERVER_PORT))
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            return sock

        sock = await socket_in(netns, bound)
        server = cls(bridge, lookup)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: server, sock=sock)
        return server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = parse(data)
        if request is None or self.transport is None:
            return
        reply = answer(request, self.lookup(request.mac))
        if reply is not None:
            self.transport.sendto(reply, ("255.255.255.255", CLIENT_PORT))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

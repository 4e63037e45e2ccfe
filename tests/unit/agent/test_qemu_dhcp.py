"""The node's DHCP answers (pure): a fixed binding per known MAC, silence for everyone else."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from agent.drivers.qemu import dhcp
from agent.drivers.qemu.dhcp import Binding, answer, parse

MAC = bytes.fromhex("02a1b2c3d4e5")
BINDING = Binding("10.244.3.7/24", "10.244.3.1", "web-1")


def client_packet(message_type: int, requested: str = "", xid: int = 0x1234ABCD, op: int = 1) -> bytes:
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4),
                         bytes(4), bytes(4), MAC + bytes(10), bytes(64), bytes(128))
    options = bytes([53, 1, message_type])
    if requested:
        options += bytes([50, 4]) + ipaddress.IPv4Address(requested).packed
    return header + dhcp.MAGIC_COOKIE + bytes([0]) + options + bytes([255])


def reply_options(reply: bytes) -> dict[int, bytes]:
    return dhcp.parse_options(reply[240:])


def test_a_discover_from_a_known_mac_is_offered_its_address_mask_router_and_name() -> None:
    request = parse(client_packet(dhcp.DISCOVER))
    assert request is not None and request.mac == "02:a1:b2:c3:d4:e5"
    reply = answer(request, BINDING)
    assert reply is not None
    assert reply[0] == dhcp.BOOTREPLY and reply[4:8] == bytes.fromhex("1234abcd")
    assert reply[16:20] == ipaddress.IPv4Address("10.244.3.7").packed  # yiaddr
    assert reply[28:34] == MAC
    options = reply_options(reply)
    assert options[53] == bytes([dhcp.OFFER])
    assert options[1] == ipaddress.IPv4Address("255.255.255.0").packed
    assert options[3] == options[54] == ipaddress.IPv4Address("10.244.3.1").packed
    assert options[12] == b"web-1"


@pytest.mark.parametrize(("requested", "expected"), [
    ("10.244.3.7", dhcp.ACK), ("", dhcp.ACK), ("10.244.3.99", dhcp.NAK),
], ids=["its own address is acknowledged", "a renewal without option 50 is acknowledged",
        "another address is refused"])
def test_a_request_is_acknowledged_only_for_the_vms_own_address(requested: str, expected: int) -> None:
    request = parse(client_packet(dhcp.REQUEST, requested))
    assert request is not None
    reply = answer(request, BINDING)
    assert reply is not None and reply_options(reply)[53] == bytes([expected])
    if expected == dhcp.NAK:
        assert reply[16:20] == bytes(4)


def test_unknown_macs_other_messages_and_garbage_get_no_answer() -> None:
    request = parse(client_packet(dhcp.DISCOVER))
    assert request is not None and answer(request, None) is None
    release = parse(client_packet(7))
    assert release is not None and answer(release, BINDING) is None
    assert parse(client_packet(dhcp.DISCOVER, op=2)) is None  # a server's reply, not a request
    assert parse(b"\x01" * 100) is None
    assert parse(client_packet(dhcp.DISCOVER)[:-5] + bytes([53])) is not None  # truncated options: tolerated

"""How the agent opens a TCP connection to a workload's port: one rule for probes
(agent/probes/checks.py) and ``atoll port-forward`` (agent/sessions/port_forward.py).

To the workload's address when it has one the node reaches (its pod or VM address, the node's own
for hostNetwork); a real container in a network namespace of its own without one is reached on
127.0.0.1 from inside that namespace (``NetworkNamespace``; agent/network/netns.py's ``socket_in``).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

from agent.drivers.abilities import NetworkNamespace
from agent.drivers.protocol import Driver
from agent.network.netns import socket_in

LOOPBACK = "127.0.0.1"


async def reach(driver: Driver, task_id: str, address: str) -> tuple[str, str | None]:
    """(address, network namespace path or None) to connect to for the task; ('', None) when the
    workload has no address yet and no namespace to enter."""
    if address:
        return address, None
    if isinstance(driver, NetworkNamespace):
        netns = await driver.network_namespace(task_id)
        if netns:
            return LOOPBACK, netns
    return "", None


async def connect(address: str, port: int, netns: str | None,
                  context: ssl.SSLContext | None = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to ``address:port``, made from inside the network namespace ``netns`` when given."""
    if netns is None:
        return await asyncio.open_connection(address, port, ssl=context)
    sock = await socket_in(Path(netns), lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    try:
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock, ssl=context, server_hostname="" if context else None)

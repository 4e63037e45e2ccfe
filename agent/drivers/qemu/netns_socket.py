"""A socket made inside another network namespace (the node's pod network, ``--node-netns``):
a socket belongs to the namespace it was created in, so it is made on a short-lived thread of its
own that enters the namespace, and handed back; the event loop's thread never moves."""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int, what: str) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"cannot enter the network namespace {what}")


def _made_in(netns: Path, make: Callable[[], socket.socket]) -> socket.socket:
    result: list[socket.socket | OSError] = []

    def run() -> None:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            target = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(target, str(netns))
            finally:
                os.close(target)
            try:
                result.append(make())
            except OSError as err:
                result.append(err)
            finally:
                _setns(own, "of the agent")
        except OSError as err:
            result.append(err)
        finally:
            os.close(own)

    thread = threading.Thread(target=run, name="netns-socket", daemon=True)
    thread.start()
    thread.join()
    made = result[0]
    if isinstance(made, OSError):
        raise made
    return made


async def socket_in(netns: Path | None, make: Callable[[], socket.socket]) -> socket.socket:
    """``make()``'s socket, created in the namespace pinned at ``netns`` (None: the agent's own)."""
    if netns is None:
        return make()
    return await asyncio.to_thread(_made_in, netns, make)

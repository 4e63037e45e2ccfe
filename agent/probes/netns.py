"""Sockets made inside another network namespace (Linux), for probing a container that has its
own network namespace but no address the node can reach (a real pod without pod networking).

A socket belongs to the network namespace its creating thread was in when it was made, and keeps
it; so a short-lived thread enters the namespace (``setns``), makes the socket, and the thread
then ends, never returning to a pool in the wrong namespace. Needs CAP_SYS_ADMIN (the OCI
driver's agent runs as root).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _make(path: str, box: list[socket.socket | BaseException]) -> None:
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"cannot enter the network namespace {path}: {os.strerror(err)}")
        finally:
            os.close(target)
        box.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    except BaseException as err:  # handed to the caller's thread
        box.append(err)


async def socket_in(path: str) -> socket.socket:
    """A new TCP socket (IPv4) in the network namespace at ``path`` (``/proc/PID/ns/net``).
    OSError when the namespace cannot be entered (gone, or no privilege)."""
    box: list[socket.socket | BaseException] = []
    thread = threading.Thread(target=_make, args=(path, box), name="netns-socket", daemon=True)
    thread.start()
    await asyncio.to_thread(thread.join)
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result

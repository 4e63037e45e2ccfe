"""A leader-election identity that names one process on one host, so that a successor can prove
the holder of a Lease dead and take it over at once instead of waiting out the lease duration.

    HOST_SPACE_PID_START_NONCE      e.g.  cp1_3fa9c1d2_41235_8123456_a1b2c3d4

- HOST: the host name, for people (``atoll get leases``); not used to decide anything.
- SPACE: 8 hex digits of a hash of the kernel's boot id and the pid namespace: two processes
  share it exactly when their pids name entries of the same process table.
- PID, START: the process id and its start time (clock ticks after boot, /proc/PID/stat field
  22): together they name one process for the whole boot, even after its pid is reused.
- NONCE: random, so two electors in one process (tests) never share an identity.

``holder_is_gone(identity)`` is True only when the identity is of this form, its SPACE is this
process's, and that process no longer runs (no such pid, a zombie, or the pid now belongs to a
process started at another time). Anything it cannot decide (another host or boot, another pid
namespace such as a restarted container, another identity scheme, no /proc) is False: the
elector then waits the lease duration as before. A process that no longer runs writes nothing
more (the API server ends the calls of its closed connection, well before a successor has
started and read the Lease), so taking its Lease over at once keeps "at most one acts".

Off Linux (no /proc), ``process_identity`` falls back to HOST_NONCE, which nothing proves gone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import socket
import uuid

_IDENTITY = re.compile(r"(?P<host>.*)_(?P<space>[0-9a-f]{8})_(?P<pid>[0-9]+)_(?P<start>[0-9]+)_[0-9a-f]{8}")
_PROC = "/proc"


def process_identity() -> str:
    """This process's identity in the form of the module docstring (HOST_NONCE off Linux)."""
    nonce = uuid.uuid4().hex[:8]
    own = _own_process(os.getpid())
    if own is None:
        return f"{socket.gethostname()}_{nonce}"
    space, pid, start = own
    return f"{socket.gethostname()}_{space}_{pid}_{start}_{nonce}"


def holder_is_gone(identity: str) -> bool:
    """True when ``identity`` provably names a process that no longer runs (module docstring)."""
    match = _IDENTITY.fullmatch(identity)
    own = _own_process(os.getpid())
    if match is None or own is None or match["space"] != own[0]:
        return False
    try:
        state, start = _state_and_start(int(match["pid"]))
    except FileNotFoundError:  # no such pid in this process table
        return True
    except (OSError, ValueError, IndexError):
        return False
    return state in "ZX" or start != int(match["start"])


@functools.cache
def _own_process(pid: int) -> tuple[str, int, int] | None:
    """(SPACE, PID, START) of this process, whose pid is ``pid`` (the cache key: a forked child
    is another process), or None when /proc cannot tell: not Linux, or a /proc mounted for another
    pid namespace (its pids would not be ours)."""
    try:
        with open(f"{_PROC}/sys/kernel/random/boot_id", encoding="ascii") as file:
            boot_id = file.read().strip()
        namespace = os.readlink(f"{_PROC}/self/ns/pid")
        with open(f"{_PROC}/self/stat", encoding="utf-8", errors="replace") as file:
            stat = file.read()
        seen_pid = int(stat.split(" ", 1)[0])
        _state, start = _parse_stat(stat)
    except (OSError, ValueError, IndexError):
        return None
    if seen_pid != pid:
        return None
    space = hashlib.sha256(f"{boot_id}/{namespace}".encode()).hexdigest()[:8]
    return space, pid, start


def _state_and_start(pid: int) -> tuple[str, int]:
    """The state letter and start time of process ``pid``; FileNotFoundError when there is none."""
    with open(f"{_PROC}/{pid}/stat", encoding="utf-8", errors="replace") as file:
        return _parse_stat(file.read())


def _parse_stat(stat: str) -> tuple[str, int]:
    # The command name (field 2) is in parentheses and may hold spaces and parentheses itself:
    # the fields after the last ")" start with field 3 (state); field 22 is the start time.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])

"""Which host files a VirtualMachine may name (``spec.boot.kernel``, ``spec.boot.initrd``,
``spec.disks[].image``): the one rule, checked in two places.

- At validation (``path_problem``), what can be known without the host: an absolute, normal path
  (no ``.``, ``..`` or empty components), printable, at most PATH_MAX, never below ``/proc``,
  ``/sys`` or ``/dev`` (kernel interfaces and devices are not images).
- At the agent, before QEMU starts (``resolve_vm_path``): the path's real location, symlinks
  resolved, must be a regular file inside one of the directories the node lets VMs use (its
  image store and the directories its operator configured, ``atoll up --vm-image-dir``).
  Anything else would let whoever can create a VM read any file on the host into a guest.

Reasons are one line, with the user's path bounded.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from atoll.user_text import quoted

PATH_MAX = 4096
FORBIDDEN_ROOTS = ("/proc", "/sys", "/dev")


def path_problem(path: str) -> str | None:
    """Why ``path`` can never be a VM's kernel, initrd or disk image on any node, or None."""
    if len(path) > PATH_MAX:
        return f"longer than {PATH_MAX} characters"
    if not path.isprintable():
        return f"{quoted(path)} holds control characters"
    if not path.startswith("/"):
        return f"{quoted(path)} is not an absolute path (a file on the node, such as /var/lib/atoll/vm/disk.qcow2)"
    parts = path[1:].split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"{quoted(path)} is not a normal path (no '.', '..' or empty components)"
    for root in FORBIDDEN_ROOTS:
        if path == root or path.startswith(f"{root}/"):
            return f"{quoted(path)} is below {root}, which holds no images"
    return None


class HostPathError(ValueError):
    """A path a VM may not use on this node; one line."""


def resolve_vm_path(path: str, allowed_dirs: Sequence[Path]) -> str:
    """The real path (symlinks resolved) of ``path``, which QEMU is then given instead of ``path``
    so that a link changed after this check changes nothing. HostPathError unless it is a
    regular file inside one of ``allowed_dirs`` (themselves resolved)."""
    problem = path_problem(path)
    if problem:
        raise HostPathError(problem)
    real = os.path.realpath(path)
    roots = [os.path.realpath(directory) for directory in allowed_dirs]
    if not any(os.path.commonpath([real, root]) == root for root in roots):
        where = ", ".join(str(directory) for directory in allowed_dirs) or "none are configured"
        raise HostPathError(
            f"{quoted(path)} is not in a directory this node lets VMs use ({where};"
            " atoll up --vm-image-dir adds one)"
        )
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        raise HostPathError(f"{quoted(path)} does not exist on this node") from None
    except OSError as err:
        raise HostPathError(f"{quoted(path)} cannot be read: {err.strerror}") from None
    if not stat.S_ISREG(mode):
        raise HostPathError(f"{quoted(path)} is not a regular file")
    return real

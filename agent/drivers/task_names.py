"""One rule for turning a task id into a name the host accepts: a runtime container id (runc allows
only ``[\\w+.-]``) and the task's directory under a driver's state dir."""

from __future__ import annotations

import re


def host_name_for(task_id: str) -> str:
    """``task_id`` with ':' as '.' and anything outside ``[\\w.+-]`` as '_'; never '.' or '..'
    (a directory name that would leave the state dir)."""
    name = re.sub(r"[^\w.+-]", "_", task_id.replace(":", "."))
    return "_" + name if name in ("", ".", "..") else name

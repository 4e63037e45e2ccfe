"""The room this node offers local persistent volumes: the free space of its local volume dir,
reported as the node resource storage.atoll.dev/local (atoll/storage.py), read when the agent
starts (after leftovers of interrupted volume work are swept away)."""

from __future__ import annotations

import shutil

from agent.volumes.claims import VolumeDirs
from atoll import storage
from atoll.volume_data import sweep_temporaries


def volume_capacity(dirs: VolumeDirs) -> dict[str, int]:
    """{storage.atoll.dev/local: free bytes of the local volume dir}; makes the dir when missing."""
    dirs.local.mkdir(parents=True, exist_ok=True, mode=0o700)
    sweep_temporaries(dirs.local)
    return {storage.LOCAL_CAPACITY_RESOURCE: shutil.disk_usage(dirs.local).free}

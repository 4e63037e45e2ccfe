"""What the node's filesystem does for a pod's volumes: emptyDir directories (a tmpfs of
``sizeLimit`` for ``medium: Memory``, so writes past it fail with ENOSPC), hostPath type checks,
and subPath resolution that never leaves its volume."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from agent.volumes.payload import ConfigError
from atoll.quantity import QuantityError, to_bytes
from atoll.user_text import bounded_repr
from atoll.v1 import config_pb2


async def prepare_empty_dir(directory: Path, source: config_pb2.EmptyDirVolumeSource) -> None:
    """Creates the directory (world-writable, as kubelet's); Memory: mounts a tmpfs there once
    (idempotent: an existing mount, e.g. after an agent restart, is kept)."""
    directory.mkdir(parents=True, exist_ok=True)
    if source.medium != "Memory":
        directory.chmod(0o777)
        return
    if os.path.ismount(directory):
        return
    options = "mode=0777,nosuid,nodev"
    if source.size_limit:
        try:
            options += f",size={to_bytes(source.size_limit)}"
        except QuantityError as err:
            raise ConfigError(f"emptyDir sizeLimit: {err}") from None
    await _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory))


async def release(directory: Path) -> None:
    """Unmounts a tmpfs emptyDir (no-op for anything else)."""
    if os.path.ismount(directory):
        await _run("umount", str(directory))


def check_host_path(source: config_pb2.HostPathVolumeSource) -> Path:
    """The host path, made or checked as its ``type`` says; ConfigError when it does not fit."""
    path = Path(source.path)
    shown = bounded_repr(source.path)
    kind = source.type
    if kind == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True, mode=0o755)
    elif kind == "FileOrCreate" and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.touch(mode=0o644)
    if kind in ("Directory", "DirectoryOrCreate") and not path.is_dir():
        raise ConfigError(f"hostPath {shown} is not a directory")
    if kind in ("File", "FileOrCreate") and not path.is_file():
        raise ConfigError(f"hostPath {shown} is not a file")
    return path


def sub_path(volume: Path, relative: str) -> Path:
    """``volume/relative`` with every link resolved, refused when it resolves outside ``volume``
    (a container may have planted a link there); a missing directory is created."""
    root = volume.resolve()
    target = (volume / relative).resolve()
    if target != root and root not in target.parents:
        raise ConfigError(f"subPath {bounded_repr(relative)} resolves outside its volume")
    if not target.exists():
        target.mkdir(parents=True, mode=0o755)
    return target


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        raise ConfigError(f"{argv[0]} failed: {err.decode(errors='replace').strip()[:200]}")

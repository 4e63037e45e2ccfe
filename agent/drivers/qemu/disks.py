"""Per-VM disks: a qcow2 overlay over each base image, so VMs share read-only bases and write
only their own layer; made with ``qemu-img`` and deleted with the task."""

from __future__ import annotations

import json
from pathlib import Path

from agent.drivers.proc import run_command
from agent.drivers.protocol import CannotRunError, StartError


async def image_format(qemu_img: str, image: Path) -> str:
    """The format qemu-img detects for ``image`` (qcow2, raw, ...)."""
    done = await run_command([qemu_img, "info", "--output=json", "-U", str(image)], timeout=30)
    if done.returncode != 0:
        raise CannotRunError(f"disk image {image}: {done.error_line}")
    return str(json.loads(done.stdout).get("format", "raw"))


async def make_overlay(qemu_img: str, base: Path, overlay: Path) -> Path:
    """Create the qcow2 ``overlay`` backed by ``base``; CannotRunError when ``base`` is missing
    or unreadable, StartError when qemu-img fails otherwise."""
    if not base.is_file():
        raise CannotRunError(f"disk image {base} not found on this node")
    backing_format = await image_format(qemu_img, base)
    done = await run_command(
        [qemu_img, "create", "-q", "-f", "qcow2", "-F", backing_format, "-b", str(base.resolve()), str(overlay)],
        timeout=60,
    )
    if done.returncode != 0:
        raise StartError(f"qemu-img create {overlay}: {done.error_line}")
    return overlay

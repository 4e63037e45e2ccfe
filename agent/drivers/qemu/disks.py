"""A VM run's disks, made with ``qemu-img`` in the run's task directory and deleted with it:

- an image disk: a qcow2 overlay over the base image (which VMs share read-only), grown to the
  disk's size when one is given (KubeVirt's containerDisk: what a run writes is gone with it);
- a blank disk (no image): a new qcow2 or raw file of the disk's size (KubeVirt's emptyDisk);
- a disk from a persistent volume claim: the volume's own file, outside the task directory and
  kept across runs and nodes (``volume_drive``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent.drivers.proc import run_command
from agent.drivers.protocol import CannotRunError, StartError, VmDisk, VolumeDisk
from atoll.storage import VM_DISK_FILE


@dataclass(frozen=True)
class Drive:
    """A file QEMU attaches as one virtio disk."""

    path: Path
    format: str
    read_only: bool = False


@dataclass(frozen=True)
class ImageInfo:
    format: str
    virtual_size: int


async def image_info(qemu_img: str, image: Path) -> ImageInfo:
    """The format qemu-img detects for ``image`` (qcow2, raw, ...) and its virtual size in bytes."""
    done = await run_command([qemu_img, "info", "--output=json", "-U", str(image)], timeout=30)
    if done.returncode != 0:
        raise CannotRunError(f"disk image {image}: {done.error_line}")
    info = json.loads(done.stdout)
    return ImageInfo(str(info.get("format", "raw")), int(info.get("virtual-size", 0)))


async def make_overlay(qemu_img: str, base: Path, overlay: Path, size: int = 0) -> Path:
    """Create the qcow2 ``overlay`` backed by ``base``, of ``size`` bytes when given (else the
    base's size); CannotRunError when ``base`` is missing or unreadable or ``size`` is smaller
    than the base, StartError when qemu-img fails otherwise."""
    if not base.is_file():
        raise CannotRunError(f"disk image {base} not found on this node")
    info = await image_info(qemu_img, base)
    if size and size < info.virtual_size:
        raise CannotRunError(f"disk size {size} bytes is smaller than its image {base} ({info.virtual_size} bytes)")
    argv = [qemu_img, "create", "-q", "-f", "qcow2", "-F", info.format, "-b", str(base.resolve()), str(overlay)]
    await _create(argv + ([str(size)] if size else []), overlay)
    return overlay


async def make_blank(qemu_img: str, path: Path, size: int, disk_format: str) -> Path:
    """Create an empty disk of ``size`` bytes in ``disk_format`` (qcow2 or raw) at ``path``."""
    await _create([qemu_img, "create", "-q", "-f", disk_format, str(path), str(size)], path)
    return path


async def make_run_disks(qemu_img: str, disks: tuple[VmDisk, ...], task_dir: Path) -> list[Drive]:
    """Every disk of a run, in spec order, as files in ``task_dir``; CannotRunError for a disk
    with neither an image nor a size."""
    drives = []
    for index, disk in enumerate(disks):
        if disk.volume is not None:
            drives.append(await volume_drive(qemu_img, disk.volume, disk.read_only))
            continue
        if not disk.image and not disk.size:
            raise CannotRunError(f"disk {disk.name!r} has neither an image nor a size this node can make it from")
        if disk.image:
            path = await make_overlay(qemu_img, Path(disk.image), task_dir / f"disk{index}.qcow2", disk.size)
            drives.append(Drive(path, "qcow2", disk.read_only))
        else:
            path = await make_blank(qemu_img, task_dir / f"disk{index}.{disk.format}", disk.size, disk.format)
            drives.append(Drive(path, disk.format, disk.read_only))
    return drives


async def volume_drive(qemu_img: str, volume: VolumeDisk, read_only: bool) -> Drive:
    """The drive of a disk from a persistent volume: a Block volume's raw file, or the qcow2 file
    ``disk.qcow2`` inside a Filesystem volume, made on first use (under a temporary name, renamed
    when complete) and grown to the volume's size when the volume was expanded."""
    if not volume.path:
        raise CannotRunError("a disk from a volume claim needs a node that stores volumes (--local-volume-dir)")
    if volume.block:
        return Drive(Path(volume.path), "raw", read_only)
    image = Path(volume.path) / VM_DISK_FILE
    if not image.exists():
        temp = image.with_name(f".tmp-{image.name}")
        temp.unlink(missing_ok=True)
        await _create([qemu_img, "create", "-q", "-f", "qcow2", str(temp), str(volume.size)], temp)
        temp.rename(image)
    elif (await image_info(qemu_img, image)).virtual_size < volume.size:
        done = await run_command([qemu_img, "resize", "-q", str(image), str(volume.size)], timeout=60)
        if done.returncode != 0:
            raise StartError(f"qemu-img resize {image}: {done.error_line}")
    return Drive(image, "qcow2", read_only)


async def _create(argv: list[str], path: Path) -> None:
    done = await run_command(argv, timeout=60)
    if done.returncode != 0:
        raise StartError(f"qemu-img create {path}: {done.error_line}")

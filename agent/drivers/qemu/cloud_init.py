"""The cloud-init NoCloud seed of one VM run: ``user-data``, ``meta-data`` and (when given)
``network-config`` in an ISO 9660 image labelled ``cidata``, the volume cloud-init's NoCloud
datasource looks for. Made with genisoimage (Rock Ridge and Joliet, so the guest sees the file
names as they are) in the run's task directory, attached read-only as the VM's last disk, and
gone with the run."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.drivers.proc import run_command
from agent.drivers.protocol import CannotRunError, CloudInitData, StartError

SEED_LABEL = "cidata"
SEED_FILE = "cidata.iso"


def seed_files(data: CloudInitData) -> dict[str, str]:
    """The NoCloud file names and contents of ``data`` (network-config only when there is one)."""
    files = {"user-data": data.user_data, "meta-data": data.meta_data}
    if data.network_data:
        files["network-config"] = data.network_data
    return files


async def build_seed(genisoimage: str, data: CloudInitData, task_dir: Path) -> Path:
    """Write the seed image of ``data`` into ``task_dir`` and return its path. CannotRunError when
    genisoimage is not installed (it never will be by retrying), StartError when it fails."""
    if shutil.which(genisoimage) is None:
        raise CannotRunError(f"{genisoimage} not found: install genisoimage to give VMs a cloud-init seed")
    source = task_dir / SEED_LABEL
    source.mkdir(exist_ok=True)
    names = []
    for name, text in seed_files(data).items():
        (source / name).write_text(text, encoding="utf-8")
        names.append(str(source / name))
    seed = task_dir / SEED_FILE
    done = await run_command(
        [genisoimage, "-quiet", "-output", str(seed), "-volid", SEED_LABEL, "-joliet", "-rock",
         "-input-charset", "utf-8", *names],
        timeout=60,
    )
    if done.returncode != 0:
        raise StartError(f"genisoimage {seed}: {done.error_line}")
    return seed

"""A stand-in agent process for adoption tests: starts one task with a real driver, prints
``started`` and then idles until it is killed (SIGKILL: no cleanup, like a crashed agent).

    python -m tests.e2e.agent_child oci STATE_DIR IMAGE_DIR TASK_ID COMMAND...
    python -m tests.e2e.agent_child qemu STATE_DIR TASK_ID KERNEL INITRD FLAG...
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.protocol import Driver, TaskConfig
from agent.drivers.qemu import QemuDriver, QemuSettings
from tests.e2e.artifacts import Kernel
from tests.e2e.conftest import container, vm


def _driver_and_config(argv: list[str]) -> tuple[Driver, TaskConfig]:
    kind, state_dir = argv[0], Path(argv[1])
    if kind == "oci":
        driver = OciDriver(OciSettings(state_dir=state_dir, image_dir=Path(argv[2])))
        return driver, container(argv[3], *argv[4:])
    kernel = Path(argv[3])
    config = vm(argv[2], Kernel(kernel, kernel, kernel, ""), Path(argv[4]), *argv[5:])
    return QemuDriver(QemuSettings(state_dir=state_dir, vm_image_dirs=(kernel.parent, Path(argv[4]).parent))), config


async def main(argv: list[str]) -> None:
    driver, config = _driver_and_config(argv)
    await driver.start(config)
    print("started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

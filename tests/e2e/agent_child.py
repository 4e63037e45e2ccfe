"""A stand-in agent process for adoption tests: starts one task with a real driver, prints
``started`` and then idles until it is killed (SIGKILL: no cleanup, like a crashed agent).

    python -m tests.e2e.agent_child oci STATE_DIR IMAGE_DIR TASK_ID COMMAND...
    python -m tests.e2e.agent_child oci-tty STATE_DIR IMAGE_DIR TASK_ID COMMAND...   (stdin and a terminal)
    python -m tests.e2e.agent_child pod STATE_DIR IMAGE_DIR NODE_NETNS POD_CIDR TASK_ID COMMAND...
    python -m tests.e2e.agent_child qemu STATE_DIR TASK_ID KERNEL INITRD FLAG...
    python -m tests.e2e.agent_child qemu-net NODE_NETNS IPAM_DIR POD_CIDR STATE_DIR TASK_ID KERNEL INITRD FLAG...

``pod`` makes the pod's sandbox on a CNI network (node_sandboxes(STATE_DIR, node_netns=NODE_NETNS))
first, then starts the container in it.
``qemu-net`` puts the VM on the pod network (bridge atoll0 of the namespace pinned at NODE_NETNS).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent.drivers.abilities import SandboxConfig
from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.protocol import Driver, TaskConfig
from agent.drivers.qemu import QemuDriver, QemuSettings
from agent.drivers.qemu.network import VmNetworkSettings
from agent.drivers.real import node_sandboxes
from tests.e2e.artifacts import Kernel
from tests.e2e.conftest import cgroup_parent_of_this_process, container, vm


def _driver_and_config(argv: list[str]) -> tuple[Driver, TaskConfig]:
    if argv[0] in ("oci", "oci-tty"):
        driver = OciDriver(OciSettings(state_dir=Path(argv[1]), image_dir=Path(argv[2]),
                                       cgroup_parent=cgroup_parent_of_this_process()))
        terminal = argv[0] == "oci-tty"
        return driver, container(argv[3], *argv[4:], stdin=terminal, tty=terminal)
    network, cidr = None, ""
    if argv[0] == "qemu-net":
        network, cidr = VmNetworkSettings(ipam_data_dir=Path(argv[2]), node_netns=Path(argv[1])), argv[3]
        argv = argv[3:]  # the rest as for ``qemu``
    state_dir, task_id, kernel, initrd = Path(argv[1]), argv[2], Path(argv[3]), Path(argv[4])
    config = vm(task_id, Kernel(kernel, kernel, kernel, ""), initrd, *argv[5:])
    driver = QemuDriver(QemuSettings(state_dir=state_dir, vm_image_dirs=(kernel.parent, initrd.parent),
                                     network=network))
    driver.set_pod_cidr(cidr)
    return driver, config


def _pod_driver_and_config(argv: list[str]) -> tuple[OciDriver, TaskConfig]:
    state_dir, image_dir, node_netns, pod_cidr = Path(argv[1]), Path(argv[2]), Path(argv[3]), argv[4]
    sandboxes = node_sandboxes(state_dir, "child", node_netns=node_netns)
    sandboxes.network.set_pod_cidr(pod_cidr)
    driver = OciDriver(OciSettings(state_dir=state_dir / "oci", image_dir=image_dir, sandboxes=sandboxes,
                                   cgroup_parent=cgroup_parent_of_this_process()))
    return driver, container(argv[5], *argv[6:])


async def main(argv: list[str]) -> None:
    if argv[0] == "pod":
        pod_driver, config = _pod_driver_and_config(argv)
        await pod_driver.run_sandbox(SandboxConfig(config.workload_uid, config.namespace, config.workload))
        await pod_driver.start(config)
        print("started", flush=True)
        await asyncio.Event().wait()
    driver, config = _driver_and_config(argv)
    await driver.start(config)
    print("started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

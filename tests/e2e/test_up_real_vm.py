"""`atoll up --real` with a real QEMU VM: its cloud-init user-data script runs in the guest (read
from the NoCloud seed disk, output in `atoll logs vm/NAME`), and `atoll vm restart`, then `stop`
and `start`, boot the next runs, each with its seed, while the VirtualMachine keeps its name,
UID and Events. The node's pod network lives in a namespace of the test's own (``--node-netns``):
the VM gets an address there."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e import artifacts
from tests.e2e.conftest import BASE_CMDLINE, _require_root
from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.netns import NETNS_DIR, scratch_netns
from tests.support.system import require_binary
from tests.support.up_process import UpProcess, start_up

BOOT_TIMEOUT = 120.0
GREETING = "user-data says hello"
VM = """
apiVersion: atoll.dev/v1
kind: VirtualMachine
metadata:
  name: seeded
  annotations: {{qemu.atoll.dev/boot-marker: {marker}}}
spec:
  vcpus: 1
  memory: 256Mi
  runStrategy: Always
  boot: {{kernel: {kernel}, initrd: {initrd}, cmdline: "{cmdline}"}}
  cloudInit:
    userData: |
      #!/bin/sh
      echo "{greeting} from boot $(cat /proc/sys/kernel/random/boot_id)"
  scheduling:
    nodeSelector: {{atoll.dev/hostname: {node}}}
    tolerations: [{{key: atoll.dev/hypervisor, operator: Exists}}]
"""


def get_vm(up: UpProcess) -> Any:
    result = atoll(up, "get", "vm", "seeded", "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def running_run(up: UpProcess, number: int) -> Callable[[], Any]:
    def check() -> Any:
        vm = get_vm(up)
        status = vm.get("status", {})
        run = int(status.get("currentRun", {}).get("number", 0))
        return vm if status.get("phase") == "Running" and run == number else None

    return check


def greetings(up: UpProcess) -> list[str]:
    logs = atoll(up, "logs", "vm/seeded")
    assert logs.returncode == 0, logs.stderr
    return [line for line in logs.stdout.splitlines() if line.startswith(GREETING)]


def test_cloud_init_user_data_runs_in_a_real_guest_and_a_restart_keeps_the_vm(
    tmp_path: Path, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    require_binary("qemu-system-x86_64", "qemu-system-x86")
    require_binary("genisoimage", "genisoimage")
    _require_root()
    node = socket.gethostname()
    with scratch_netns() as name:  # the node's pod network (bridge, the VM's tap) lives there
        netns = NETNS_DIR / name
        up = start_up(tmp_path / "data", "--real", "--sim-nodes", "0", "--node-netns", str(netns),
                      "--vm-image-dir", str(artifacts.cache_root()), "--vm-image-dir", str(initramfs.parent))
        _restart_keeps_the_vm(up, node, kernel, initramfs)
        taps = subprocess.run(["ip", "-n", netns.name, "-j", "link", "show", "type", "tun"], check=True,
                              capture_output=True, text=True).stdout
        assert json.loads(taps or "[]") == []  # deleting the VM took its tap


def _restart_keeps_the_vm(up: UpProcess, node: str, kernel: artifacts.Kernel, initramfs: Path) -> None:
    try:
        manifest = VM.format(marker=artifacts.MARKER, kernel=kernel.image, initrd=initramfs, cmdline=BASE_CMDLINE,
                             greeting=GREETING, node=node)
        applied = atoll(up, "apply", "-f", "-", stdin=manifest)
        assert applied.returncode == 0, applied.stderr
        first = until(running_run(up, 1), BOOT_TIMEOUT)
        assert first["spec"]["nodeName"] == node
        assert first["status"]["ip"] in first["status"]["ips"]  # on the node's pod network
        first_greetings = greetings(up)
        assert len(first_greetings) == 1, first_greetings

        restarted = atoll(up, "vm", "restart", "seeded")
        assert restarted.returncode == 0, restarted.stderr
        second = until(running_run(up, 2), BOOT_TIMEOUT)
        assert second["metadata"]["uid"] == first["metadata"]["uid"]
        assert second["metadata"]["creationTimestamp"] == first["metadata"]["creationTimestamp"]
        second_greetings = greetings(up)  # the console of run 2: its own boot ran the user-data again
        assert len(second_greetings) == 1 and second_greetings != first_greetings, second_greetings

        assert atoll(up, "vm", "stop", "seeded").returncode == 0
        stopped = until(lambda: (vm := get_vm(up))["status"].get("phase") == "Stopped" and vm, BOOT_TIMEOUT)
        assert int(stopped["status"]["currentRun"]["number"]) == 2 and stopped["status"]["currentRun"].get("endTime")
        assert atoll(up, "vm", "start", "seeded").returncode == 0
        third = until(running_run(up, 3), BOOT_TIMEOUT)
        assert third["metadata"]["uid"] == first["metadata"]["uid"]
        assert len(greetings(up)) == 1
        described = atoll(up, "describe", "vm", "seeded").stdout
        assert described.count("Restarting") == 2 and "Started" in described, described
        runs = described[described.index("Runs:"):described.index("Events:")].splitlines()
        assert [line.split()[0] for line in runs[3:]] == ["3", "2", "1"], described
        deleted = atoll(up, "delete", "vm", "seeded", "--wait")
        assert deleted.returncode == 0, deleted.stderr
    finally:
        up.kill(signal.SIGTERM)

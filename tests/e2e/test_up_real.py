"""`atoll up --real`: this host as a real node beside the simulated fleet; a real container from a
manifest runs through the API, the scheduler and the agent to its exit code; stopping it removes
what its node programmed (the Service table, the bridge nothing uses any more)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e import artifacts
from tests.e2e.conftest import _require_root
from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.netns import NETNS_DIR, run_in, scratch_netns
from tests.support.system import require_binary
from tests.support.up_process import UpProcess, start_up

POD = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: real-hello}
spec:
  restartPolicy: Never
  scheduling: {nodeSelector: {atoll.dev/hostname: %s}}
  containers: [{name: main, image: busybox:real, command: [sh, -c, "echo hello from a real container; exit 3"]}]
"""


def test_a_manifest_runs_a_real_container_on_the_local_node(tmp_path: Path) -> None:
    require_binary("runc", "runc")
    busybox = Path(require_binary("busybox", "busybox-static"))
    _require_root()
    data_dir = tmp_path / "data"
    rootfs = artifacts.busybox_rootfs(tmp_path / "rootfs", busybox)
    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "allinone",
            "image",
            "import",
            "--data-dir",
            str(data_dir),
            str(rootfs),
            "--name",
            "busybox:real",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    with scratch_netns() as netns:  # the node's pod network lives there, not on the host's interfaces
        _run_the_pod(start_up(data_dir, "--real", "--sim-nodes", "2", "--node-netns", str(NETNS_DIR / netns)), netns)
        # The stop removed the node's Service table and its bridge (the pod, and so its veth, is gone).
        assert run_in(netns, "nft", "list", "table", "ip", "atoll").returncode != 0
        assert run_in(netns, "ip", "link", "show", "atoll0").returncode != 0


def _run_the_pod(up: UpProcess, netns: str) -> None:
    """Runs the pod to its end with ``up`` (whose node's network is in ``netns``), then stops up."""
    try:
        node = socket.gethostname()
        assert atoll(up, "apply", "-f", "-", stdin=POD % node).returncode == 0
        deadline = time.monotonic() + 60
        while True:
            pod = json.loads(atoll(up, "get", "pod", "real-hello", "-o", "json").stdout)
            state = pod.get("status", {}).get("containerStatuses", [{}])[0].get("state", {})
            if "terminated" in state:
                break
            assert time.monotonic() < deadline, pod.get("status")
            time.sleep(0.3)
        assert pod["spec"]["nodeName"] == node
        assert state["terminated"]["exitCode"] == 3
        assert pod["status"]["phase"] == "Failed"
        until(lambda: run_in(netns, "nft", "list", "table", "ip", "atoll").returncode == 0, 30,
              what="the node programmed its Service table")
        assert run_in(netns, "ip", "link", "show", "atoll0").returncode == 0, "the pod's sandbox made the bridge"
        logs = atoll(up, "logs", "pod/real-hello")
        assert logs.returncode == 0, logs.stderr
        assert "hello from a real container" in logs.stdout, "an ended container's logs stay readable"
        deleted = atoll(up, "delete", "pod", "real-hello", "--wait")
        assert deleted.returncode == 0, deleted.stderr  # the agent destroys the kept task: no mount left
    finally:
        up.kill(signal.SIGTERM)

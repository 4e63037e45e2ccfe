"""Through `atoll up --dev` and the real CLI: every node gets a pod CIDR from --cluster-cidr, a pod
gets an address inside its node's, `get nodes -o wide` and `get pods -o wide` show them, a second
start on the same data dir keeps every CIDR, and a bad CIDR flag is one line and exit code 2."""

from __future__ import annotations

import ipaddress
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.up_process import UpProcess, start_up

CLUSTER = "10.60.0.0/16"
POD = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: web, image: busybox}]}
"""


def items(up: UpProcess, kind: str) -> dict[str, Any]:
    result = atoll(up, "get", kind, "-o", "json")
    assert result.returncode == 0, result.stderr
    return {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}


def wait_for(check: Any, what: str, timeout: float = 30.0) -> Any:
    return until(check, timeout, what=what)


def node_cidrs(up: UpProcess) -> dict[str, str]:
    return {name: node.get("spec", {}).get("podCIDR", "") for name, node in items(up, "nodes").items()}


def test_nodes_get_cidrs_pods_get_addresses_in_them_and_a_restart_keeps_them(tmp_path: Path) -> None:
    extra = ("--sim-nodes", "3", "--cluster-cidr", CLUSTER, "--node-cidr-mask-size", "24")
    up = start_up(tmp_path, *extra)
    try:
        cidrs = wait_for(lambda: (found := node_cidrs(up)) and all(found.values()) and found, "node CIDRs")
        assert len(cidrs) == 3 and len(set(cidrs.values())) == 3
        for cidr in cidrs.values():
            assert ipaddress.ip_network(cidr).subnet_of(ipaddress.IPv4Network(CLUSTER))
        wide = atoll(up, "get", "nodes", "-o", "wide")
        assert wide.returncode == 0 and "POD-CIDR" in wide.stdout.splitlines()[0]
        for name, cidr in cidrs.items():
            (line,) = [line for line in wide.stdout.splitlines() if line.startswith(name + " ")]
            assert cidr in line.split()
        assert atoll(up, "apply", "-f", "-", stdin=POD).returncode == 0
        pod = wait_for(lambda: (p := items(up, "pods").get("web")) and p.get("status", {}).get("podIP") and p,
                       "a pod address")
        address, node = pod["status"]["podIP"], pod["spec"]["nodeName"]
        assert ipaddress.ip_address(address) in ipaddress.ip_network(cidrs[node])
        assert pod["status"]["podIPs"] == [address]
        pods_wide = atoll(up, "get", "pods", "-o", "wide").stdout
        assert address in pods_wide and node in pods_wide
        assert f"podCIDR: {cidrs[node]}" in atoll(up, "describe", "node", node).stdout
    finally:
        up.kill(signal.SIGTERM)
    again = start_up(tmp_path, *extra)
    try:
        assert wait_for(lambda: (found := node_cidrs(again)) and all(found.values()) and found, "CIDRs") == cidrs
        pod = wait_for(lambda: (p := items(again, "pods").get("web")) and p.get("status", {}).get("podIP") and p,
                       "the adopted pod's address")
        assert pod["status"]["podIP"] == address
    finally:
        again.kill(signal.SIGTERM)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--cluster-cidr", "10.60.0.0/33"), 'atoll up: --cluster-cidr "10.60.0.0/33" is not a CIDR'),
        (("--cluster-cidr", "10.60.0.0/24", "--node-cidr-mask-size", "16"), "atoll up: --node-cidr-mask-size 16"),
        (("--sim-nodes", "20", "--cluster-cidr", "10.60.0.0/20"), "atoll up: 20 simulated nodes need a pod CIDR"),
        (("--service-cidr", "10.70.0.0/33"), 'atoll up: --service-cidr "10.70.0.0/33" is not a CIDR'),
        (("--service-cidr", "10.0.0.0/8"), "atoll up: --service-cidr 10.0.0.0/8: the prefix length must be between"),
        (
            ("--cluster-cidr", "10.60.0.0/16", "--service-cidr", "10.60.128.0/20"),
            "atoll up: --cluster-cidr 10.60.0.0/16 overlaps --service-cidr 10.60.128.0/20",
        ),
    ],
    ids=[
        "a malformed CIDR",
        "a mask wider than the cluster",
        "a fleet bigger than the cluster CIDR",
        "a malformed service CIDR",
        "a service CIDR wider than a /12",
        "a service CIDR inside the cluster CIDR",
    ],
)
def test_a_bad_cluster_cidr_is_one_line_exit_code_2_and_creates_nothing(
    tmp_path: Path, flags: tuple[str, ...], message: str
) -> None:
    data_dir = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "allinone", "up", "--dev", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0",
         *flags],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)
    assert not data_dir.exists(), "nothing was created"

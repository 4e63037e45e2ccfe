"""The real `atoll` CLI against a real `atoll up`: every kind round-trips through apply, get, describe, delete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.atoll_cli import run_atoll
from tests.support.up_process import UpProcess, start_up

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("up"))
    yield process
    process.kill(signal.SIGTERM)


def atoll(up: UpProcess, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ATOLL_SERVER=up.address, ATOLL_CONFIG="/nonexistent/config.yaml")
    return run_atoll(args, env=env, stdin=stdin)


NODE = """apiVersion: atoll.dev/v1
kind: Node
metadata: {name: n1, labels: {zone: a}}
spec: {taints: [{key: dedicated, value: vms, effect: NoSchedule}]}
status: {capacity: {cpu: "8", memory: 32Gi, pods: "110"}, nodeInfo: {os: linux, arch: amd64}}
"""
EVENT = """apiVersion: atoll.dev/v1
kind: Event
metadata: {name: web.1, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: web}
reason: Scheduled
message: assigned to n1
type: Normal
count: 1
"""
LEASE = """apiVersion: atoll.dev/v1
kind: Lease
metadata: {name: n1, namespace: atoll-node-lease}
spec: {holderIdentity: n1, leaseDurationSeconds: 40}
"""


def test_apply_examples_then_reapply_is_unchanged(up: UpProcess) -> None:
    first = atoll(up, "apply", "-f", str(EXAMPLES))
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = atoll(up, "apply", "-f", str(EXAMPLES))
    assert second.returncode == 0, second.stderr
    lines = [line for line in second.stdout.splitlines() if line.strip()]
    assert lines and all(line.endswith("unchanged") for line in lines), second.stdout


@pytest.mark.parametrize(
    ("manifest", "kind", "name", "namespace"),
    [
        (NODE, "node", "n1", ""),
        (EVENT, "event", "web.1", "default"),
        (LEASE, "lease", "n1", "atoll-node-lease"),
    ],
    ids=["a node", "an event", "a lease"],
)
def test_kind_round_trips_through_apply_get_delete(
    up: UpProcess, manifest: str, kind: str, name: str, namespace: str
) -> None:
    applied = atoll(up, "apply", "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == f"{kind}/{name} created"
    ns_args = ["-n", namespace] if namespace else []
    got = atoll(up, "get", kind, name, *ns_args, "-o", "yaml")
    assert got.returncode == 0, got.stderr
    document = yaml.safe_load(got.stdout)
    wanted = yaml.safe_load(manifest)
    assert document["apiVersion"] == "atoll.dev/v1" and document["kind"] == wanted["kind"]
    for field, value in wanted.items():
        if field == "metadata":
            assert {k: document["metadata"][k] for k in value} == value
        elif field not in ("apiVersion", "kind"):
            assert _contains(document[field], value), (field, document[field], value)
    assert isinstance(document["metadata"]["resourceVersion"], int)
    again = atoll(up, "apply", "-f", "-", stdin=got.stdout)
    assert again.returncode == 0 and again.stdout.strip() == f"{kind}/{name} unchanged", again.stdout + again.stderr
    deleted = atoll(up, "delete", kind, name, *ns_args)
    assert deleted.returncode == 0 and f"{kind}/{name} deleted" in deleted.stdout
    gone = atoll(up, "get", kind, name, *ns_args)
    assert gone.returncode == 1 and "NotFound" in gone.stderr and "Traceback" not in gone.stderr


def _contains(actual: object, wanted: object) -> bool:
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(_contains(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(actual, list) and len(actual) == len(wanted) and all(map(_contains, actual, wanted))
    return actual == wanted


@pytest.mark.parametrize(
    ("kind", "name"),
    [("pod", "iis"), ("vm", "tiny"), ("deploy", "web")],
    ids=["a windows pod from the examples", "a vm from the examples", "a deployment from the examples"],
)
def test_example_objects_print_as_json_and_describe(up: UpProcess, kind: str, name: str) -> None:
    atoll(up, "apply", "-f", str(EXAMPLES))
    listed = atoll(up, "get", kind, "-A", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["kind"] == "List" and document["apiVersion"] == "atoll.dev/v1"
    names = {item["metadata"]["name"] for item in document["items"]}
    assert name in names, names
    item = next(i for i in document["items"] if i["metadata"]["name"] == name)
    described = atoll(up, "describe", kind, name, "-n", item["metadata"]["namespace"])
    assert described.returncode == 0, described.stderr
    assert name in described.stdout


def test_bad_manifest_stores_nothing_and_names_file_document_and_field(up: UpProcess, tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(
        "apiVersion: atoll.dev/v1\nkind: Pod\nmetadata: {name: ok-pod}\n"
        "spec: {containers: [{name: a, image: busybox}]}\n"
        "---\n"
        "apiVersion: atoll.dev/v1\nkind: Pod\nmetadata: {name: bad-pod}\n"
        "spec: {containers: [{name: a, image: busybox, resources: {requests: {memory: 12Gx}}}]}\n"
    )
    result = atoll(up, "apply", "-f", str(manifest))
    assert result.returncode != 0
    expected = f'{manifest} doc 2: spec.containers[0].resources.requests.memory: invalid quantity "12Gx"'
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert atoll(up, "get", "pod", "ok-pod").returncode == 1, "nothing from a rejected apply is stored"


def test_unreachable_server_is_one_line(up: UpProcess) -> None:
    env = dict(os.environ, ATOLL_SERVER="127.0.0.1:1", ATOLL_CONFIG="/nonexistent/config.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "allinone", "get", "pods"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_quick_start_pods_and_vms_end_up_running_on_the_default_simulated_fleet(tmp_path: Path) -> None:
    process = start_up(tmp_path)
    try:
        assert atoll(process, "apply", "-f", str(EXAMPLES)).returncode == 0
        deadline = time.monotonic() + 60
        while True:
            listed = [
                item
                for kind in ("pods", "vms")
                for item in json.loads(atoll(process, "get", kind, "-A", "-o", "json").stdout)["items"]
            ]
            phases = {item["metadata"]["name"]: item.get("status", {}).get("phase") for item in listed}
            if phases and all(phase == "Running" for phase in phases.values()):
                break
            assert time.monotonic() < deadline, phases
            time.sleep(0.5)
        nodes = json.loads(atoll(process, "get", "nodes", "-o", "json").stdout)["items"]
        assert len(nodes) >= 3
    finally:
        process.kill(signal.SIGTERM)


def test_up_with_an_unreachable_etcd_says_so_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "allinone", "up", "--dev", "--data-dir", str(tmp_path),
         "--store", "etcd://127.0.0.1:1", "--sim-nodes", "0", "--no-client-config"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("atoll up: --store etcd://127.0.0.1:1: no etcd endpoint answered")

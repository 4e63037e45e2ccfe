"""Live migration on simulated hypervisors through the real CLI against a real `atoll up`
(scheduler, controllers, a simulated fleet): `atoll vm migrate --wait` moves a running VM to
another node without a new run, `--to` a node, a second migration and bad targets are refused
in one line, a guest that never converges fails with the reason and keeps running on its
source, `--cancel` leaves it there (atoll/migrations.py)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.up_process import UpProcess, start_up

VM = """apiVersion: atoll.dev/v1
kind: VirtualMachine
metadata:
  name: {name}
  namespace: default
  annotations: {{sim.atoll.dev/script: "sleep infinity", sim.atoll.dev/dirty-rate: "{dirty}"}}
spec:
  vcpus: 1
  memory: {memory}
  boot: {{kernel: /var/lib/atoll/images/vmlinuz-6.1}}
  scheduling:
    tolerations: [{{key: atoll.dev/hypervisor, operator: Exists}}]
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("migration"), "--sim-nodes", "10")
    yield process
    process.kill(signal.SIGTERM)


@pytest.fixture(autouse=True)
def fresh_fleet(up: UpProcess) -> Iterator[None]:
    """Each test starts on an empty, schedulable fleet: what one test leaves behind (a 64 GiB VM
    still migrating for a minute, a cordoned node) must not slow down or steer the next one (a
    drain waited for such a VM to leave its node)."""
    yield
    for node in ("sim-kvm-0000", "sim-kvm-0001"):
        assert atoll(up, "node", "uncordon", node).returncode == 0
    for kind in ("deployment", "vm", "vmim"):
        deleted = atoll(up, "delete", kind, "--all", "--wait", "--timeout", "60")
        assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    until(lambda: not json.loads(atoll(up, "get", "pod", "-o", "json").stdout).get("items"), timeout=60)


def get(up: UpProcess, kind: str, name: str) -> Any:
    result = atoll(up, "get", kind, name, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def running(up: UpProcess, name: str, memory: str = "1Gi", dirty: str = "16Mi") -> Any:
    assert atoll(up, "apply", "-f", "-", stdin=VM.format(name=name, memory=memory, dirty=dirty)).returncode == 0
    return until(lambda: (vm := get(up, "vm", name))["status"].get("phase") == "Running" and vm, timeout=60)


def test_migrate_wait_moves_the_running_vm_to_another_node_in_the_same_run(up: UpProcess) -> None:
    before = running(up, "mover")
    source = before["spec"]["nodeName"]
    moved = atoll(up, "vm", "migrate", "mover", "--wait", "--timeout", "60")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    lines = moved.stdout.splitlines()
    assert lines[0].startswith("virtualmachinemigration/mover-migration-") and lines[0].endswith(" created")
    assert any(line.startswith("Running ") for line in lines), moved.stdout  # plain lines: not a terminal
    assert lines[-1].startswith(f"vm/mover moved from {source} to "), moved.stdout

    after = get(up, "vm", "mover")
    target = after["spec"]["nodeName"]
    assert target != source
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["status"]["currentRun"]["number"] == before["status"]["currentRun"]["number"], "no new run"
    assert after["status"]["currentRun"]["node"] == target
    assert int(after["status"].get("restartCount", 0)) == int(before["status"].get("restartCount", 0))
    state = after["status"]["migrationState"]
    assert (state["sourceNode"], state["targetNode"], state["phase"]) == (source, target, "Succeeded")
    until(lambda: get(up, "vm", "mover")["status"].get("phase") == "Running")

    name = lines[0].split()[0].split("/")[1]
    migration = get(up, "vmim", name)
    status = migration["status"]
    assert status["phase"] == "Succeeded" and status["completed"]
    progress = status["progress"]
    assert int(progress["bytesTransferred"]) >= 1024**3 and int(progress["iterations"]) >= 2
    assert int(progress["downtimeMs"]) > 0
    table = atoll(up, "get", "vmim", "-o", "wide")
    assert name in table.stdout and "Succeeded" in table.stdout and "100%" in table.stdout, table.stdout
    described = atoll(up, "describe", "vm", "mover").stdout
    assert "Migrated" in described and f"moved from node {source} to {target}" in described, described


def test_bad_migrations_are_refused_in_one_line_and_nothing_is_created(up: UpProcess) -> None:
    vm = running(up, "stay")
    node = vm["spec"]["nodeName"]
    cases = {
        ("vm", "migrate", "ghost"): "virtualmachine/ghost not found",
        ("vm", "migrate", "stay", "--to", node): f"already runs on node '{node}'",
        ("vm", "migrate", "stay", "--to", "no-such-node"): "node 'no-such-node' not found",
        ("vm", "migrate", "--cancel", "stay"): "vm/stay has no migration under way",
        ("vm", "stop", "stay", "--to", "x"): "--to, --wait and --cancel are options of `atoll vm migrate`",
    }
    for args, message in cases.items():
        result = atoll(up, *args)
        assert result.returncode == 1, (args, result.stdout)
        assert message in result.stderr and len(result.stderr.splitlines()) == 1, (args, result.stderr)
    listed = atoll(up, "get", "vmim", "--field-selector", "spec.vmName=stay", "-o", "name")
    assert listed.stdout == "", listed.stdout


def test_a_guest_that_dirties_memory_faster_than_the_link_converges_by_throttling(up: UpProcess) -> None:
    running(up, "busy", memory="512Mi", dirty="2Gi")  # dirties twice the 1 GiB/s link: auto-converge
    moved = atoll(up, "vm", "migrate", "busy", "--wait", "--timeout", "90")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    name = moved.stdout.split()[0].split("/")[1]
    progress = get(up, "vmim", name)["status"]["progress"]
    assert int(progress["iterations"]) > 3, progress  # passes while the throttle rose


def test_second_migration_is_refused_and_cancel_leaves_the_vm_on_its_source(up: UpProcess) -> None:
    vm = running(up, "slow", memory="64Gi", dirty="1Mi")  # about a minute of copying
    source = vm["spec"]["nodeName"]
    first = atoll(up, "vm", "migrate", "slow")
    assert first.returncode == 0, first.stderr
    second = atoll(up, "vm", "migrate", "slow")
    assert second.returncode == 1
    assert "one active migration per VM" in second.stderr, second.stderr
    name = first.stdout.split()[0].split("/")[1]
    until(lambda: get(up, "vmim", name)["status"].get("phase") == "Running", timeout=30)
    cancelled = atoll(up, "vm", "migrate", "--cancel", "slow", "--wait", "--timeout", "30")
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    status = get(up, "vmim", name)["status"]
    assert status["phase"] == "Cancelled", status
    after = get(up, "vm", "slow")
    assert after["spec"]["nodeName"] == source
    assert after["status"]["migrationState"]["phase"] == "Cancelled"
    until(lambda: get(up, "vm", "slow")["status"].get("phase") == "Running")
    # the target dropped what it received: a new migration can start and succeed later
    again = atoll(up, "vm", "migrate", "slow")
    assert again.returncode == 0, again.stderr


DRAINED_VM = """apiVersion: atoll.dev/v1
kind: VirtualMachine
metadata: {{name: {name}, namespace: default, annotations: {{sim.atoll.dev/script: "sleep infinity"}}}}
spec:
  vcpus: 1
  memory: 1Gi
  evictionStrategy: {strategy}
  boot: {{kernel: /var/lib/atoll/images/vmlinuz-6.1}}
  scheduling:
    nodeSelector: {{atoll.dev/memory-gib: "128"}}
    tolerations: [{{key: atoll.dev/hypervisor, operator: Exists}}]
"""
PODS = """apiVersion: atoll.dev/v1
kind: Deployment
metadata: {name: drained-web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: drained-web}}
  template:
    pod:
      metadata: {labels: {app: drained-web}}
      spec:
        containers: [{name: web, image: busybox, resources: {requests: {cpu: 100m, memory: 64Mi}}}]
        scheduling:
          nodeSelector: {atoll.dev/memory-gib: "128"}
          tolerations: [{key: atoll.dev/hypervisor, operator: Exists}]
"""


def on_node(up: UpProcess, kind: str, node: str) -> list[Any]:
    result = atoll(up, "get", kind, "--field-selector", f"spec.nodeName={node}", "-o", "json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout).get("items", []))


def cordon(up: UpProcess, node: str) -> None:
    """Cordon ``node`` once its agent registered it (a registration after the cordon would undo it)."""
    until(lambda: any(c["type"] == "Ready" and c["status"] == "True"
                      for c in get(up, "node", node).get("status", {}).get("conditions", [])), timeout=30)
    assert atoll(up, "node", "cordon", node).returncode == 0
    assert get(up, "node", node)["spec"]["unschedulable"]


def test_drain_live_migrates_the_vms_without_restarts_and_recreates_the_pods(up: UpProcess) -> None:
    cordon(up, "sim-kvm-0001")  # everything lands on sim-kvm-0000 first
    names = ("drain-a", "drain-b", "drain-c")
    for name in names:
        assert atoll(up, "apply", "-f", "-", stdin=DRAINED_VM.format(name=name, strategy="LiveMigrate")).returncode == 0
    assert atoll(up, "apply", "-f", "-", stdin=PODS).returncode == 0
    until(lambda: len([vm for vm in on_node(up, "vm", "sim-kvm-0000")
                       if vm["metadata"]["name"] in names and vm["status"].get("phase") == "Running"]) == 3, timeout=60)
    until(lambda: len([p for p in on_node(up, "pod", "sim-kvm-0000")
                       if p["metadata"]["name"].startswith("drained-web")]) == 2, timeout=60)
    before = {name: get(up, "vm", name) for name in names}
    assert atoll(up, "node", "uncordon", "sim-kvm-0001").returncode == 0

    drained = atoll(up, "node", "drain", "sim-kvm-0000", "--timeout", "120")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert drained.stdout.count("live-migrated to sim-kvm-0001") == 3, drained.stdout
    assert drained.stdout.rstrip().endswith("node/sim-kvm-0000 drained"), drained.stdout
    for name in names:
        after = get(up, "vm", name)
        assert after["spec"]["nodeName"] == "sim-kvm-0001"
        assert after["status"]["currentRun"]["number"] == before[name]["status"]["currentRun"]["number"]
        assert int(after["status"].get("restartCount", 0)) == 0
    until(lambda: len([p for p in on_node(up, "pod", "sim-kvm-0001")
                       if p["metadata"]["name"].startswith("drained-web")]) == 2, timeout=60)
    assert not [w for kind in ("vm", "pod") for w in on_node(up, kind, "sim-kvm-0000")]
    assert atoll(up, "node", "uncordon", "sim-kvm-0000").returncode == 0


def test_drain_fails_naming_a_vm_that_must_live_migrate_and_cannot(up: UpProcess) -> None:
    cordon(up, "sim-kvm-0000")  # no target for a VM on sim-kvm-0001
    strategy_of = {"must-move": "LiveMigrate", "may-move": "LiveMigrateIfPossible"}
    for name, strategy in strategy_of.items():
        assert atoll(up, "apply", "-f", "-", stdin=DRAINED_VM.format(name=name, strategy=strategy)).returncode == 0
    until(lambda: all(get(up, "vm", name)["status"].get("phase") == "Running" for name in strategy_of), timeout=60)
    assert all(get(up, "vm", name)["spec"]["nodeName"] == "sim-kvm-0001" for name in strategy_of)
    drained = atoll(up, "node", "drain", "sim-kvm-0001", "--timeout", "60")
    assert drained.returncode == 1, drained.stdout + drained.stderr
    assert "virtualmachine/may-move: migration failed (NoTargetNode" in drained.stdout, drained.stdout
    assert "stopping it here to start it elsewhere" in drained.stdout
    assert "error: virtualmachine/must-move (evictionStrategy LiveMigrate): migration failed: NoTargetNode: " \
           "0/10 nodes are available for migration" in drained.stderr, drained.stderr
    assert get(up, "vm", "must-move")["spec"]["nodeName"] == "sim-kvm-0001"
    assert get(up, "vm", "must-move")["status"]["phase"] == "Running"
    for node in ("sim-kvm-0000", "sim-kvm-0001"):
        atoll(up, "node", "uncordon", node)


def test_drain_waits_for_a_migration_already_under_way_instead_of_stopping_the_vm(up: UpProcess) -> None:
    cordon(up, "sim-kvm-0001")  # the VM lands on sim-kvm-0000
    before = running(up, "leaving", memory="8Gi", dirty="1Mi")  # some seconds of copying
    assert before["spec"]["nodeName"] == "sim-kvm-0000"
    assert atoll(up, "node", "uncordon", "sim-kvm-0001").returncode == 0
    started = atoll(up, "vm", "migrate", "leaving")
    assert started.returncode == 0, started.stderr
    migration = started.stdout.split()[0].split("/")[1]

    drained = atoll(up, "node", "drain", "sim-kvm-0000", "--timeout", "120")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert f"migrating virtualmachine/leaving (virtualmachinemigration/{migration}, already under way)" \
        in drained.stdout, drained.stdout
    assert "evicting virtualmachine/leaving" not in drained.stdout, drained.stdout
    assert "virtualmachine/leaving live-migrated to sim-kvm-0001" in drained.stdout, drained.stdout
    after = get(up, "vm", "leaving")
    assert after["spec"]["nodeName"] == "sim-kvm-0001"
    assert after["status"]["currentRun"]["number"] == before["status"]["currentRun"]["number"], "no new run"

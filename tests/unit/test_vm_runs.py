"""atoll/vm_runs.py and the agent's RunLog: run numbers, the archive of runs, the next run begun by
an unbind (API server) or by a guest booted again on its node (agent), and the Runs table."""

from __future__ import annotations

import pytest

from agent.workloads.vm_run_log import RunLog
from atoll import finalizers, kinds
from atoll.annotations import VM_ACTION_ANNOTATION, VM_EVICT_ANNOTATION
from atoll.cli.describe import render
from atoll.v1 import virtualmachine_pb2, vm_identity_pb2
from atoll.vm_runs import (
    MAX_PREVIOUS_RUNS,
    archive_run,
    may_unbind,
    run_end_requested,
    run_task_name,
)
from tests.support.objects import make_vm

VM_KIND = kinds.by_name("VirtualMachine")


def created_vm() -> virtualmachine_pb2.VirtualMachine:
    vm: virtualmachine_pb2.VirtualMachine = make_vm("db").virtual_machine
    VM_KIND.default(vm)
    return vm


def test_a_created_vm_is_at_run_1_and_an_update_keeps_the_stored_run() -> None:
    vm = created_vm()
    assert (vm.status.current_run.number, vm.status.current_run.phase) == (1, "")
    legacy = virtualmachine_pb2.VirtualMachine()
    legacy.CopyFrom(vm)
    legacy.status.current_run.number = 0  # stored before runs were numbered
    merged = virtualmachine_pb2.VirtualMachine()
    merged.CopyFrom(legacy)
    VM_KIND.default(merged)
    VM_KIND.keep_on_update(legacy, merged)
    assert merged.status.current_run.number == 0


@pytest.mark.parametrize(
    ("number", "name"),
    [(0, "vm"), (1, "vm-run1"), (12, "vm-run12")],
    ids=["a VM from before numbered runs keeps its old task name", "run 1", "run 12"],
)
def test_each_run_has_its_own_task_name(number: int, name: str) -> None:
    assert run_task_name(number) == name


def test_archive_keeps_the_newest_ten_and_never_adds_a_run_twice() -> None:
    status = virtualmachine_pb2.VirtualMachineStatus()
    for number in range(1, 14):
        archive_run(status, vm_identity_pb2.VirtualMachineRun(number=number))
    archive_run(status, vm_identity_pb2.VirtualMachineRun(number=13, phase="again"))
    assert [run.number for run in status.previous_runs] == list(range(13, 13 - MAX_PREVIOUS_RUNS, -1))
    assert status.previous_runs[0].phase == ""


def test_an_unbind_archives_the_run_and_begins_the_next_without_the_agent_finalizer() -> None:
    vm = created_vm()
    vm.spec.node_name = "n1"
    vm.metadata.finalizers.extend([finalizers.NODE_AGENT, "keep.me"])
    vm.status.phase, vm.status.reason, vm.status.ip, vm.status.restart_count = "Failed", "NodeLost", "10.0.0.5", 3
    stored = virtualmachine_pb2.VirtualMachine()
    stored.CopyFrom(VM_KIND.status_write(vm, vm))  # the mirror every status write makes
    unbound = virtualmachine_pb2.VirtualMachine()
    unbound.CopyFrom(stored)
    unbound.spec.node_name = ""
    assert may_unbind(stored, unbound)
    VM_KIND.keep_on_update(stored, unbound)
    assert (unbound.status.phase, unbound.status.restart_count, unbound.status.current_run.number) == ("Pending", 4, 2)
    assert unbound.status.current_run.phase == "Pending" and not unbound.status.ip
    ended = unbound.status.previous_runs[0]
    assert (ended.number, ended.node, ended.phase, ended.reason) == (1, "n1", "Failed", "NodeLost")
    assert ended.ip == "10.0.0.5"
    assert list(unbound.metadata.finalizers) == ["keep.me"]


def test_a_running_vm_may_not_be_unbound() -> None:
    vm = created_vm()
    vm.spec.node_name, vm.status.phase = "n1", "Running"
    unbound = virtualmachine_pb2.VirtualMachine()
    unbound.CopyFrom(vm)
    unbound.spec.node_name = ""
    assert not may_unbind(vm, unbound)


@pytest.mark.parametrize(
    ("node", "strategy", "annotations", "requested"),
    [
        ("n1", "Always", {VM_ACTION_ANNOTATION: "restart"}, True),
        ("n1", "Always", {VM_EVICT_ANNOTATION: "n1"}, True),
        ("n1", "Always", {VM_EVICT_ANNOTATION: "n0"}, False),
        ("n1", "Halted", {VM_ACTION_ANNOTATION: "restart"}, False),
        ("", "Always", {VM_ACTION_ANNOTATION: "restart"}, False),
        ("n1", "Always", {VM_ACTION_ANNOTATION: "start"}, False),
    ],
    ids=[
        "a restart ends the run",
        "a drain of its node ends the run",
        "a drain of another node does not",
        "a Halted VM ignores restart",
        "a VM not placed has no run to end",
        "a start never ends a run",
    ],
)
def test_which_requests_end_the_run_on_its_node(
    node: str, strategy: str, annotations: dict[str, str], requested: bool
) -> None:
    vm = created_vm()
    vm.spec.node_name, vm.spec.run_strategy = node, strategy
    vm.metadata.annotations.update(annotations)
    assert run_end_requested(vm) is requested


def test_the_agent_archives_a_run_it_ended_once_even_when_its_write_is_redone() -> None:
    vm = created_vm()
    log = RunLog.of(vm, "n1")
    log.started(100.0)
    log.end("Failed", "GuestCrashed", "panic", at=130.0, exit_code=1, ip="10.0.0.5", hypervisor="qemu-tcg")
    log.next()
    log.started(131.0)
    for _ in range(2):  # the first write was lost: the next one starts from the same stored status
        status = virtualmachine_pb2.VirtualMachineStatus()
        status.CopyFrom(vm.status)
        log.apply(status)
        assert (status.current_run.number, status.current_run.node) == (2, "n1")
        assert status.current_run.start_time.seconds == 131
        assert [run.number for run in status.previous_runs] == [1]
    crashed = status.previous_runs[0]
    assert (crashed.phase, crashed.reason, crashed.exit_code, crashed.ip) == ("Failed", "GuestCrashed", 1, "10.0.0.5")
    assert (crashed.start_time.seconds, crashed.end_time.seconds) == (100, 130)
    vm.status.CopyFrom(status)
    log.written()
    log.apply(status)
    assert [run.number for run in status.previous_runs] == [1]


def test_an_agent_restart_picks_up_the_run_the_status_names() -> None:
    vm = created_vm()
    vm.status.current_run.number = 4
    vm.status.current_run.phase = "Stopped"
    vm.status.current_run.start_time.seconds = 50
    log = RunLog.of(vm, "n1")
    assert (log.number, log.started_at, log.ended is not None) == (4, 50.0, True)


def test_describe_lists_the_current_run_then_the_previous_ones() -> None:
    vm = created_vm()
    vm.metadata.uid = "u-1"
    vm.status.phase = "Running"
    current = vm_identity_pb2.VirtualMachineRun(number=2, node="n2", phase="Running", ip="10.0.1.4")
    vm.status.current_run.CopyFrom(current)
    vm.status.current_run.start_time.seconds = 940
    ended = vm_identity_pb2.VirtualMachineRun(number=1, node="n1", phase="Failed", reason="GuestCrashed", exit_code=1)
    ended.start_time.seconds, ended.end_time.seconds = 400, 880
    vm.status.previous_runs.append(ended)
    text = render(VM_KIND.wrap(vm), [], now=1000.0)
    runs = text[text.index("Runs:"):].splitlines()
    assert runs[1].split() == ["Run", "Node", "Phase", "Reason", "Started", "Ended", "Exit", "IP"]
    assert runs[3].split() == ["2", "n2", "Running", "<none>", "60s", "ago", "<none>", "<none>", "10.0.1.4"]
    assert runs[4].split() == ["1", "n1", "Failed", "GuestCrashed", "10m", "ago", "2m", "ago", "1", "<none>"]
    assert "currentRun" not in text and "previousRuns" not in text

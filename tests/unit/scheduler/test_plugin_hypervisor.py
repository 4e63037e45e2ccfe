"""Hypervisor: VMs need a hypervisor of the right type booting their guest OS; type 1 preferred."""

from __future__ import annotations

import pytest

from tests.unit.scheduler.builders import NodeBuilder, VmBuilder, make_node, make_vm
from tests.unit.scheduler.harness import Harness, assert_single_node_decision

TYPE1 = make_node("t1").hypervisor("type1", ("linux", "windows"))
TYPE2 = make_node("t2").hypervisor("type2", ("linux",))


@pytest.mark.parametrize(
    ("node", "vm", "placed", "message"),
    [
        pytest.param(make_node(), make_vm(), False, "1 node(s) had no hypervisor", id="a VM needs a hypervisor"),
        pytest.param(TYPE1, make_vm(), True, "", id="any accepts type 1"),
        pytest.param(TYPE2, make_vm(), True, "", id="any accepts type 2"),
        pytest.param(
            TYPE2,
            make_vm().hypervisor("type1"),
            False,
            "1 node(s) didn't have a type1 hypervisor",
            id="type1 refuses a type 2 host",
        ),
        pytest.param(
            TYPE1,
            make_vm().hypervisor("type2"),
            False,
            "1 node(s) didn't have a type2 hypervisor",
            id="type2 refuses a type 1 host",
        ),
        pytest.param(
            TYPE2,
            make_vm().guest("windows"),
            False,
            "1 node(s) couldn't boot windows guests",
            id="the guest OS must be supported",
        ),
    ],
)
def test_hypervisor(node: NodeBuilder, vm: VmBuilder, placed: bool, message: str) -> None:
    assert_single_node_decision(node, vm, placed, message)


def test_type1_hosts_are_preferred_when_the_vm_states_no_requirement() -> None:
    harness = Harness(
        make_node("t2").hypervisor("type2").cpu("64").memory("256Gi"), make_node("t1").hypervisor("type1")
    )
    assert harness.decide(make_vm()).node == "t1"

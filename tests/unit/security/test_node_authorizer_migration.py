"""The node authorizer and live migration: a node reads and writes the status of migrations that
name it as source or target, and reads the VM an active migration brings to it; nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from atoll import kinds, migrations
from atoll.kinds import Kind
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.node import NodeAuthorizer
from tests.support.objects import make_migration, make_vm


async def read(kind: Kind, namespace: str, name: str) -> Any | None:
    if kind.name == "VirtualMachineMigration":
        migration = make_migration(name).virtual_machine_migration
        migration.status.source_node, migration.status.target_node = "n1", "n2"
        return migration
    vm = make_vm(name).virtual_machine
    vm.spec.node_name = "n1"
    state = vm.status.migration_state
    state.source_node, state.target_node = "n1", "n2"
    state.phase = migrations.SUCCEEDED if name == "moved" else migrations.RUNNING
    return vm


def attrs(verb: str, kind: str, name: str = "m", selector: str = "") -> RequestAttributes:
    return RequestAttributes(verb, kinds.by_name(kind), "default", name, field_selector=selector)


@pytest.mark.parametrize(
    ("node", "request_", "allowed"),
    [
        ("n1", attrs("watch", "VirtualMachineMigration", "", "status.sourceNode=n1"), True),
        ("n2", attrs("list", "VirtualMachineMigration", "", "status.targetNode=n2"), True),
        ("n3", attrs("watch", "VirtualMachineMigration", "", "status.sourceNode=n1"), False),
        ("n1", attrs("watch", "VirtualMachineMigration"), False),
        ("n1", attrs("updatestatus", "VirtualMachineMigration"), True),
        ("n2", attrs("get", "VirtualMachineMigration"), True),
        ("n3", attrs("updatestatus", "VirtualMachineMigration"), False),
        ("n1", attrs("update", "VirtualMachineMigration"), False),
        ("n1", attrs("create", "VirtualMachineMigration"), False),
        ("n2", attrs("get", "VirtualMachine", "db"), True),
        ("n2", attrs("updatestatus", "VirtualMachine", "db"), False),
        ("n2", attrs("get", "VirtualMachine", "moved"), False),
        ("n3", attrs("get", "VirtualMachine", "db"), False),
    ],
    ids=[
        "the source watches its migrations", "the target lists its migrations", "another node may not watch them",
        "nobody watches every migration", "the source writes the status", "the target reads one",
        "another node may not write the status", "no node changes a migration's spec", "no node creates one",
        "the target reads the VM coming to it", "the target may not write that VM's status yet",
        "not once the migration ended", "another node may not read the VM",
    ],
)
async def test_node_access_to_migrations(node: str, request_: RequestAttributes, allowed: bool) -> None:
    assert await NodeAuthorizer(read).allows(node, request_) is allowed

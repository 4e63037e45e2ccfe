"""A node registers the address its agent serves logs on, so the API server, which dials a log
endpoint only on the node's own addresses (atoll.node_restriction), can reach it."""

from __future__ import annotations

import pytest

from agent.drivers.sim.hypervisor import SimHypervisorDriver
from agent.hollow.fleet import NodeGroup
from agent.hollow.hollow_fleet import group_profile
from agent.host.facts import host_facts
from agent.registration import node_object
from agent.run import host_profile
from atoll import node_restriction


@pytest.mark.parametrize(
    ("listening", "address", "endpoint"),
    [
        ("127.0.0.1:10250", "127.0.0.1", "127.0.0.1:10250"),
        ("0.0.0.0:10250", "primary", "primary:10250"),
        ("", "primary", ""),
    ],
    ids=["a specific address is the node's", "a wildcard publishes the primary address", "no log service"],
)
async def test_a_real_node_registers_where_its_agent_listens(listening: str, address: str, endpoint: str) -> None:
    primary = host_facts().address
    profile = await host_profile("n1", [SimHypervisorDriver()], listening)
    assert profile.address == address.replace("primary", primary)
    assert profile.endpoint == endpoint.replace("primary", primary)
    assert node_restriction.create_problem(node_object(profile, [])) is None


def test_a_hollow_node_is_where_its_fleet_serves() -> None:
    group = NodeGroup(count=1, name_prefix="lnx-")
    served = group_profile(group, "lnx-0000", 0, "127.0.0.1:4321")
    assert served.address == "127.0.0.1"
    assert node_restriction.create_problem(node_object(served, [])) is None
    assert group_profile(group, "lnx-0000", 0, "").address.startswith("10."), "no log service: its simulated address"

"""What a pod's sandbox costs in plugin processes: the pod network's chain alone (bridge, which
calls its IPAM), portmap only for a pod with hostPorts, and no loopback plugin (``lo`` comes up
with the namespace, agent/network/netns.py), on ADD as on DEL."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.network.cni import CniInvoker
from agent.network.cni.conflist import NodeNetworkSettings, PortMapping
from agent.network.cni.network import NodeCniNetwork
from tests.unit.agent.network.fake_plugins import calls, install


@pytest.mark.parametrize(
    ("ports", "added", "deleted"),
    [((), ["bridge"], ["bridge"]),
     ((PortMapping(8080, 80),), ["bridge", "portmap"], ["portmap", "bridge"])],
    ids=["a pod without hostPorts runs the bridge alone", "a pod with hostPorts runs portmap after it"],
)
async def test_a_pod_attachment_runs_only_the_plugins_it_needs(
    tmp_path: Path, ports: tuple[PortMapping, ...], added: list[str], deleted: list[str]
) -> None:
    log = install(tmp_path / "bin", "bridge", "portmap", "loopback", "host-local")
    network = NodeCniNetwork(CniInvoker((tmp_path / "bin",)), NodeNetworkSettings(tmp_path / "ipam"),
                             tmp_path / "conf")
    network.set_pod_cidr("10.1.0.0/24")
    result = await network.attach_pod("uid-1", tmp_path / "netns", ports)
    assert [call["plugin"] for call in calls(log)] == added
    log.unlink()
    await network.detach_pod("uid-1", tmp_path / "netns", result, ports)
    assert [call["plugin"] for call in calls(log)] == deleted

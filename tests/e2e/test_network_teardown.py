"""Removing a stopped node's network (agent/network/teardown.py) in a namespace the test makes:
the Service table, our routes (others' are kept) and the bridge when nothing is on it; repeating
it on what it left succeeds. And the host guard (tests/support/host_network.py) sees a thread of
the test process left in another namespace."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator

import pytest

from agent.network.netns import CLONE_NEWNET
from agent.network.proxy.ruleset import render
from agent.network.teardown import remove_node_network
from tests.e2e.conftest import _require_root
from tests.support.host_network import HostNetwork, host_network
from tests.support.netns import NETNS_DIR, run_in, scratch_netns
from tests.support.system import require_binary


@pytest.fixture
def node() -> Iterator[str]:
    """A namespace holding what a real node programs: the table, a route of ours and one of
    someone else's, the bridge atoll0."""
    _require_root()
    for binary, package in (("nft", "nftables"), ("ip", "iproute2"), ("nsenter", "util-linux")):
        require_binary(binary, package)
    with scratch_netns() as name:
        for argv in (("ip", "link", "add", "peer0", "type", "veth", "peer", "name", "peer1"),
                     ("ip", "link", "set", "peer0", "up"),
                     ("ip", "addr", "add", "192.168.77.1/24", "dev", "peer0"),
                     ("ip", "route", "add", "10.244.9.0/24", "via", "192.168.77.2", "proto", "212"),
                     ("ip", "route", "add", "10.99.0.0/24", "via", "192.168.77.3"),
                     ("ip", "link", "add", "atoll0", "type", "bridge"), ("ip", "link", "set", "atoll0", "up")):
            done = run_in(name, *argv)
            assert done.returncode == 0, done.stderr
        done = run_in(name, "nft", "-f", "/dev/stdin", stdin=render([]))
        assert done.returncode == 0, done.stderr
        yield name


def prefixes(netns: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    enter = ("nsenter", f"--net={NETNS_DIR / netns}", "--")
    return (*enter, "nft"), (*enter, "ip")


async def test_a_stopped_node_removes_its_table_its_routes_and_its_unused_bridge_twice(node: str) -> None:
    nft, ip = prefixes(node)
    removed = await remove_node_network(nft, ip, "atoll0")
    assert removed == ["table ip atoll", "route 10.244.9.0/24 via 192.168.77.2", "bridge atoll0"]
    assert run_in(node, "nft", "list", "table", "ip", "atoll").returncode != 0
    routes = run_in(node, "ip", "route").stdout
    assert "10.244.9.0/24" not in routes and "10.99.0.0/24 via 192.168.77.3" in routes  # not ours: kept
    assert run_in(node, "ip", "link", "show", "atoll0").returncode != 0
    assert await remove_node_network(nft, ip, "atoll0") == ["table ip atoll"]  # nothing left: still fine


async def test_a_bridge_with_a_workload_on_it_is_kept(node: str) -> None:
    for argv in (("ip", "link", "add", "vethpod0", "type", "veth", "peer", "name", "vethpod1"),
                 ("ip", "link", "set", "vethpod0", "master", "atoll0")):
        assert run_in(node, *argv).returncode == 0
    nft, ip = prefixes(node)
    assert "bridge atoll0" not in await remove_node_network(nft, ip, "atoll0")
    assert run_in(node, "ip", "link", "show", "atoll0").returncode == 0


def test_the_host_guard_names_a_thread_left_in_another_namespace() -> None:
    _require_root()
    with scratch_netns() as name:
        entered, release = threading.Event(), threading.Event()

        def stray() -> None:
            fd = os.open(NETNS_DIR / name, os.O_RDONLY)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) == 0:
                    entered.set()
            finally:
                os.close(fd)
            release.wait(30)

        thread = threading.Thread(target=stray)
        thread.start()
        try:
            assert entered.wait(30)
            (stray,) = host_network().stray_threads
            assert stray.startswith(f"thread {thread.native_id} ")
        finally:
            release.set()
            thread.join()
    assert host_network().stray_threads == ()


@pytest.mark.parametrize(("before", "after", "blamed"), [
    pytest.param({}, {"table": True, "bridge": True}, ["table ip atoll", "bridge atoll0"],
                 id="a table and a bridge that appeared during the test are named"),
    pytest.param({"table": True, "bridge": True}, {"table": True, "bridge": True}, [],
                 id="what was there before the test is not blamed on it"),
    pytest.param({}, {"routes": "10.244.2.0/24 via 192.168.60.2 proto 212"}, ["proto 212"],
                 id="a route of ours in the host is named"),
    pytest.param({"namespaces": frozenset({"atoll-t1-a"})}, {"namespaces": frozenset({"atoll-t1-a", "atoll-t1-b"})},
                 ["atoll-t1-b"], id="only the namespace left by this test is named"),
])
def test_the_host_guard_names_what_a_test_left(before: dict[str, object], after: dict[str, object],
                                               blamed: list[str]) -> None:
    empty: dict[str, object] = {"table": False, "bridge": False, "routes": "", "namespaces": frozenset(),
                                "stray_threads": ()}
    leaks = HostNetwork(**{**empty, **after}).leaks_since(HostNetwork(**{**empty, **before}))  # type: ignore[arg-type]
    assert len(leaks) == len(blamed) and all(word in leak for word, leak in zip(blamed, leaks, strict=True)), leaks

"""The CNI invoker calls plugins as the CNI spec says: environment, stdin config, prevResult
chaining for a list, reverse-order DEL with the cached result, runtimeConfig only for declared
capabilities, and the plugin's own error object as a typed exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.network.cni import (
    Attachment,
    CniInvoker,
    CniPluginError,
    CniPluginNotFoundError,
    CniResultError,
    NetworkConfigList,
)
from tests.unit.agent.network.fake_plugins import calls, install

ATTACHMENT = Attachment("uid-1", "/run/netns/x", "eth0", args=(("K8S_POD_NAME", "web"),),
                        capability_args={"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]})


def network(*plugins: dict[str, Any]) -> NetworkConfigList:
    return NetworkConfigList("testnet", tuple(plugins))


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return tmp_path / "bin"


async def test_add_runs_the_plugins_in_order_each_with_the_previous_result(bin_dir: Path) -> None:
    log = install(bin_dir, "first", "second")
    result = await CniInvoker((bin_dir,)).add(
        network({"type": "first", "address": "10.1.0.5/24"}, {"type": "second"}), ATTACHMENT)
    assert [i.name for i in result.interfaces] == ["first", "second"]
    assert result.ip_in_sandbox() == "10.1.0.5"
    first, second = calls(log)
    assert first["plugin"] == "first" and "prevResult" not in first["config"]  # type: ignore[operator]
    assert second["config"]["prevResult"]["interfaces"] == [  # type: ignore[index]
        {"name": "first", "sandbox": "/run/netns/x"}]
    assert first["env"] == {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "uid-1", "CNI_NETNS": "/run/netns/x",
                            "CNI_IFNAME": "eth0", "CNI_ARGS": "K8S_POD_NAME=web", "CNI_PATH": str(bin_dir)}
    assert first["config"]["name"] == "testnet" and first["config"]["cniVersion"] == "1.0.0"  # type: ignore[index]


async def test_runtime_config_goes_only_to_plugins_that_declare_the_capability(bin_dir: Path) -> None:
    log = install(bin_dir, "plain", "ports")
    await CniInvoker((bin_dir,)).add(
        network({"type": "plain"}, {"type": "ports", "capabilities": {"portMappings": True}}), ATTACHMENT)
    plain, ports = calls(log)
    assert "runtimeConfig" not in plain["config"]  # type: ignore[operator]
    assert ports["config"]["runtimeConfig"] == {"portMappings": [  # type: ignore[index]
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}


@pytest.mark.parametrize(("command", "order"), [("DEL", ["second", "first"]), ("CHECK", ["first", "second"])],
                         ids=["del runs in reverse order", "check runs in order"])
async def test_del_and_check_pass_the_cached_add_result_to_every_plugin(
    bin_dir: Path, command: str, order: list[str]
) -> None:
    log = install(bin_dir, "first", "second")
    invoker = CniInvoker((bin_dir,))
    listed = network({"type": "first", "address": "10.1.0.5/24"}, {"type": "second"})
    result = await invoker.add(listed, ATTACHMENT)
    run = invoker.delete if command == "DEL" else invoker.check
    await run(listed, ATTACHMENT, result)
    called = [c for c in calls(log) if c["env"]["CNI_COMMAND"] == command]  # type: ignore[index]
    assert [c["plugin"] for c in called] == order
    assert all(c["config"]["prevResult"] == result.raw for c in called)  # type: ignore[index]


async def test_a_failed_add_raises_the_plugins_own_words_and_deletes_what_was_added(bin_dir: Path) -> None:
    log = install(bin_dir, "first", "second")
    with pytest.raises(CniPluginError) as caught:
        await CniInvoker((bin_dir,)).add(network({"type": "first"}, {"type": "second", "fail": "ADD"}), ATTACHMENT)
    assert (caught.value.plugin, caught.value.command, caught.value.code) == ("second", "ADD", 7)
    assert caught.value.msg == "no bridge for you" and caught.value.details == "details of second"
    assert str(caught.value) == "CNI ADD second: no bridge for you (details of second)"
    deletes = [c["plugin"] for c in calls(log) if c["env"]["CNI_COMMAND"] == "DEL"]  # type: ignore[index]
    assert deletes == ["second", "first"]


async def test_del_calls_every_plugin_even_after_one_fails_then_raises_the_first_error(bin_dir: Path) -> None:
    log = install(bin_dir, "first", "second")
    with pytest.raises(CniPluginError, match="CNI DEL second"):
        await CniInvoker((bin_dir,)).delete(network({"type": "first"}, {"type": "second", "fail": "DEL"}), ATTACHMENT)
    assert [c["plugin"] for c in calls(log)] == ["second", "first"]


@pytest.mark.parametrize("plugin", ["missing", "../first", ""], ids=["absent", "a path", "empty"])
async def test_a_plugin_not_in_the_bin_dir_is_one_line_naming_the_package(bin_dir: Path, plugin: str) -> None:
    install(bin_dir, "first")
    with pytest.raises(CniPluginNotFoundError) as caught:
        await CniInvoker((bin_dir,)).add(network({"type": plugin}), ATTACHMENT)
    assert "\n" not in str(caught.value)


async def test_a_result_that_is_not_json_is_a_result_error(bin_dir: Path) -> None:
    install(bin_dir, "first")
    with pytest.raises(CniResultError, match="first"):
        await CniInvoker((bin_dir,)).add(network({"type": "first", "garbage": True}), ATTACHMENT)


async def test_version_lists_what_the_plugin_supports(bin_dir: Path) -> None:
    install(bin_dir, "first")
    assert await CniInvoker((bin_dir,)).versions("first") == ["0.4.0", "1.0.0"]


async def test_an_overlong_plugin_message_is_bounded(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    noisy = bin_dir / "noisy"
    long_message = "$(head -c 20000 /dev/zero | tr '\\0' x)"
    noisy.write_text(f'#!/bin/sh\nprintf \'{{"code": 11, "msg": "%s"}}\' "{long_message}"\nexit 1\n')
    noisy.chmod(0o755)
    with pytest.raises(CniPluginError) as caught:
        await CniInvoker((bin_dir,)).add(network({"type": "noisy"}), ATTACHMENT)
    assert caught.value.code == 11 and len(str(caught.value)) < 1000

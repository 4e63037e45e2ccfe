"""Calling CNI plugins exactly as the CNI spec (1.0.0) says a runtime calls them.

One plugin call ("execution protocol"): the binary named by the config's ``type``, found in the
bin dirs (``CNI_PATH``), with ``CNI_COMMAND`` (ADD, DEL, CHECK, VERSION), ``CNI_CONTAINERID``,
``CNI_NETNS``, ``CNI_IFNAME``, ``CNI_ARGS`` and ``CNI_PATH`` in its environment and the plugin's
config on stdin; it prints a result (ADD), nothing (DEL, CHECK) or an error object (non-zero exit).

A network config list ("execution of network configurations"), as libcni runs it:

    ADD    plugins in order; each gets {cniVersion, name, its own fields, runtimeConfig for the
           capabilities it declares} plus, from the second on, the previous plugin's result as
           ``prevResult``; the last result is the attachment's result. When one fails, the
           plugins are DELeted (reverse order, nothing leaks) and the error is raised.
    DEL    plugins in reverse order, each with the ADD's final result as ``prevResult`` (when
           known); every plugin is called even after one failed, then the first error raised.
           DEL of something already gone succeeds (the plugins' own contract).
    CHECK  plugins in order, each with the ADD's final result as ``prevResult``.

Errors: CniPluginNotFoundError (no binary), CniPluginError (the plugin's own code/msg/details),
CniResultError (a result that is not the spec's JSON), CniError (timed out, not executable).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.drivers.proc import run_command
from agent.network.cni.errors import CniError, CniPluginError, CniPluginNotFoundError, CniResultError
from agent.network.cni.result import CniResult, parse_result
from atoll.user_text import bounded

DEFAULT_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
CNI_VERSION = "1.0.0"  # the newest version Debian's plugins (1.1.1) speak
PLUGIN_TIMEOUT = 60.0
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class NetworkConfigList:
    """A network configuration list: ``name`` (also host-local's pool name), ``plugins`` (each a
    plugin config object with at least ``type``)."""

    name: str
    plugins: tuple[Mapping[str, Any], ...]
    cni_version: str = CNI_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"cniVersion": self.cni_version, "name": self.name, "plugins": [dict(p) for p in self.plugins]}


@dataclass(frozen=True)
class Attachment:
    """The runtime parameters of one attachment: container id (letters, digits, ``_.-``), the
    network namespace path, the interface name inside it, ``CNI_ARGS`` pairs, and the values
    of capabilities (``portMappings``) handed to plugins that declare them."""

    container_id: str
    netns: str
    ifname: str
    args: tuple[tuple[str, str], ...] = ()
    capability_args: Mapping[str, Any] = field(default_factory=dict)


class CniInvoker:
    """Runs plugins found in ``bin_dirs`` (searched in order). ``node_netns``: the network
    namespace the node's network lives in (its bridge, host side veths, portmap rules), when it
    is not the agent's own: plugins then run there (``nsenter --net``), while the agent keeps
    its API connection where it is (two agents on one host, or a test's own namespace)."""

    def __init__(self, bin_dirs: Sequence[Path] = (DEFAULT_BIN_DIR,), timeout: float = PLUGIN_TIMEOUT,
                 node_netns: Path | None = None) -> None:
        self.bin_dirs = tuple(bin_dirs)
        self.timeout = timeout
        self.node_netns = node_netns

    def find(self, plugin: str) -> Path:
        """The binary of plugin type ``plugin``; CniPluginNotFoundError when no bin dir has it."""
        if "/" in plugin or plugin in ("", ".", ".."):
            raise CniPluginNotFoundError(f"CNI plugin type {bounded(plugin)!r} is not a plugin name")
        for directory in self.bin_dirs:
            candidate = directory / plugin
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        where = ", ".join(str(d) for d in self.bin_dirs)
        raise CniPluginNotFoundError(f"CNI plugin {plugin} not found in {where}: install the Debian package "
                                     f"containernetworking-plugins (or point --cni-bin-dir at the plugins)")

    # --- network config lists ----------------------------------------------------------------

    async def add(self, network: NetworkConfigList, attachment: Attachment) -> CniResult:
        """ADD every plugin of ``network`` (see the module docstring); the final result."""
        previous: dict[str, Any] | None = None
        try:
            for plugin in network.plugins:
                previous = await self._call("ADD", network, plugin, attachment, previous)
        except BaseException:
            await self._delete_quietly(network, attachment)
            raise
        if previous is None:
            raise CniResultError(f"network {network.name} has no plugins")
        return parse_result(previous, str(network.plugins[-1]["type"]))

    async def delete(self, network: NetworkConfigList, attachment: Attachment,
                     previous: CniResult | None = None) -> None:
        """DEL every plugin of ``network`` in reverse order with the ADD's result ``previous``."""
        first_error: CniError | None = None
        for plugin in reversed(network.plugins):
            try:
                await self._call("DEL", network, plugin, attachment, previous.raw if previous else None)
            except CniError as err:
                first_error = first_error or err
        if first_error is not None:
            raise first_error

    async def check(self, network: NetworkConfigList, attachment: Attachment, previous: CniResult) -> None:
        """CHECK every plugin of ``network`` in order against the ADD's result ``previous``;
        CniPluginError names the first plugin that finds the attachment not as it set it up."""
        for plugin in network.plugins:
            await self._call("CHECK", network, plugin, attachment, previous.raw)

    async def versions(self, plugin: str) -> list[str]:
        """The spec versions plugin type ``plugin`` supports (CNI_COMMAND=VERSION)."""
        done = await self._exec(plugin, "VERSION", {"cniVersion": CNI_VERSION}, {"CNI_COMMAND": "VERSION"})
        supported = done.get("supportedVersions") if isinstance(done, dict) else None
        if not isinstance(supported, list):
            raise CniResultError(f"CNI plugin {plugin} did not list its supported versions")
        return [str(version) for version in supported]

    # --- one plugin --------------------------------------------------------------------------

    async def _delete_quietly(self, network: NetworkConfigList, attachment: Attachment) -> None:
        with contextlib.suppress(CniError):  # the ADD's own error is the one to report
            await self.delete(network, attachment)

    async def _call(self, command: str, network: NetworkConfigList, plugin: Mapping[str, Any],
                    attachment: Attachment, previous: dict[str, Any] | None) -> dict[str, Any] | None:
        config = derived_config(network, plugin, attachment, previous)
        env = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": attachment.container_id,
            "CNI_NETNS": attachment.netns,
            "CNI_IFNAME": attachment.ifname,
            "CNI_ARGS": ";".join(f"{key}={value}" for key, value in attachment.args),
            "CNI_PATH": os.pathsep.join(str(d) for d in self.bin_dirs),
        }
        return await self._exec(str(plugin["type"]), command, config, env)

    async def _exec(self, plugin: str, command: str, config: Mapping[str, Any],
                    cni_env: Mapping[str, str]) -> dict[str, Any] | None:
        binary = self.find(plugin)
        env = {"PATH": os.environ.get("PATH") or DEFAULT_PATH, **cni_env}
        try:
            done = await run_command([*self._prefix(), str(binary)], timeout=self.timeout, env=env,
                                     stdin=json.dumps(config).encode())
        except TimeoutError:
            raise CniError(f"CNI {command} {plugin}: no answer within {self.timeout:g}s") from None
        except OSError as err:
            raise CniError(f"CNI {command} {plugin}: cannot run {binary}: {err.strerror}") from None
        printed = _json_or_none(done.stdout)
        if done.returncode != 0:
            raise plugin_error(plugin, command, printed, done.error_line)
        if command in ("ADD", "VERSION"):
            if not isinstance(printed, dict):
                raise CniResultError(f"CNI {command} {plugin}: printed no JSON result")
            return printed
        return None


    def _prefix(self) -> list[str]:
        return ["nsenter", f"--net={self.node_netns}", "--"] if self.node_netns is not None else []


def derived_config(network: NetworkConfigList, plugin: Mapping[str, Any], attachment: Attachment,
                   previous: dict[str, Any] | None) -> dict[str, Any]:
    """The config one plugin of ``network`` receives on stdin (spec: "Deriving execution
    configuration from plugin configuration")."""
    config: dict[str, Any] = {**plugin, "cniVersion": network.cni_version, "name": network.name}
    declared = plugin.get("capabilities") or {}
    runtime = {key: value for key, value in attachment.capability_args.items() if declared.get(key)}
    if runtime:
        config["runtimeConfig"] = runtime
    if previous is not None:
        config["prevResult"] = previous
    return config


def plugin_error(plugin: str, command: str, printed: Any, fallback: str) -> CniPluginError:
    """The plugin's own error object (spec: "Error"), or its last line of output when it printed
    none."""
    if isinstance(printed, dict) and ("msg" in printed or "code" in printed):
        try:
            code = int(printed.get("code") or 0)
        except (TypeError, ValueError):
            code = 0
        return CniPluginError(plugin, command, code, str(printed.get("msg", "")), str(printed.get("details", "")))
    return CniPluginError(plugin, command, 0, fallback)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None

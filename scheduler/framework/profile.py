"""Profiles: which plugins run, in which order, with which score weights; loaded from YAML.

    name: default
    percentageOfNodesToScore: 0  # feasible nodes scored: 1-100 %, 0 = adaptive (framework/sampling.py)
    plugins:
      - name: NodeResourcesFit
      - name: LeastAllocated
        weight: 1            # score weight; default 1, 0 keeps the plugin's filter only
        args: {}             # options, read by the plugin's from_args; unknown ones are refused

Filters run in the listed order (put cheap, selective ones first). Errors name the file and
the field path (and, for args, the plugin), in one line. Which plugins exist is not known here:
``build_framework`` is handed the registry (scheduler/plugins), so the framework never imports
the plugins it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from atoll.user_text import bounded, bounded_repr
from scheduler.framework.plugin_args import PluginArgs, PluginArgsError
from scheduler.framework.registry import PluginRegistry
from scheduler.framework.runtime import Framework
from scheduler.framework.sampling import ADAPTIVE

BUILT_IN = "<built-in profile>"


class ProfileError(ValueError):
    """A profile that cannot be used; the message says where and what to change."""


@dataclass(frozen=True, slots=True)
class PluginSpec:
    name: str
    weight: float = 1.0
    args: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """``source``: the file it came from, for error messages (not part of equality)."""

    name: str
    plugins: tuple[PluginSpec, ...]
    source: str = field(default=BUILT_IN, compare=False)
    percentage_of_nodes_to_score: int = ADAPTIVE


_FILTERS = (
    "MigrationTarget",
    "NodeReady",
    "NodeUnschedulable",
    "OS",
    "WindowsIsolation",
    "ImagePlatform",
    "Hypervisor",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "PodTopologySpread",
    "WorkloadAntiAffinity",
    "VolumeBinding",
)
_EQUAL_RESOURCES = {"resources": {"cpu": 1, "memory": 1}}
DEFAULT_PROFILE = Profile(
    "default",
    (
        *(PluginSpec(n) for n in _FILTERS),
        PluginSpec("LeastAllocated", args=_EQUAL_RESOURCES),
        PluginSpec("BalancedAllocation"),
    ),
)
BINPACK_PROFILE = Profile(
    "binpack", (*(PluginSpec(n) for n in _FILTERS), PluginSpec("MostAllocated", args=_EQUAL_RESOURCES))
)


def parse_profile(data: object, source: str = "<profile>") -> Profile:
    """Validate a decoded YAML document into a Profile."""
    if not isinstance(data, Mapping):
        raise ProfileError(f"{source}: expected a mapping with 'name' and 'plugins'")
    unknown_fields = set(data) - {"name", "plugins", "percentageOfNodesToScore"}
    if unknown_fields:
        raise ProfileError(f"{source}: unknown field(s) {', '.join(sorted(map(str, unknown_fields)))}")
    name = data.get("name", "default")
    plugins = data.get("plugins")
    percentage = data.get("percentageOfNodesToScore", ADAPTIVE)
    if isinstance(percentage, bool) or not isinstance(percentage, int) or not 0 <= percentage <= 100:
        raise ProfileError(
            f"{source}: percentageOfNodesToScore: expected a whole number 0-100 (0: adaptive), "
            f"got {bounded(repr(percentage))}"
        )
    if not isinstance(name, str) or not name:
        raise ProfileError(f"{source}: name: expected a non-empty string")
    if not isinstance(plugins, list) or not plugins:
        raise ProfileError(f"{source}: plugins: expected a non-empty list")
    specs: list[PluginSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(plugins):
        where = f"{source}: plugins[{index}]"
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, Mapping):
            raise ProfileError(f"{where}: expected a mapping with 'name'")
        unknown_keys = set(entry) - {"name", "weight", "args"}
        if unknown_keys:
            raise ProfileError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown_keys)))}")
        plugin = entry.get("name")
        if not isinstance(plugin, str) or not plugin:
            raise ProfileError(f"{where}.name: expected a plugin name")
        if plugin in seen:
            raise ProfileError(f"{where}.name: plugin {plugin!r} is listed twice")
        seen.add(plugin)
        weight = entry.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise ProfileError(f"{where}.weight: expected a number >= 0, got {weight!r}")
        args = entry.get("args") or {}
        if not isinstance(args, Mapping):
            raise ProfileError(f"{where}.args: expected a mapping")
        specs.append(PluginSpec(plugin, float(weight), dict(args) or None))
    return Profile(name, tuple(specs), source, percentage)


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ProfileError(f"{path}: cannot read profile: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ProfileError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from None
    return parse_profile(data, str(path))


def build_framework(profile: Profile, registry: PluginRegistry) -> Framework:
    """Instantiate the profile's plugins from ``registry``, each through its ``from_args``.

    ProfileError for a plugin the registry does not know or args its plugin refuses; the
    message names the profile's file and name, the plugin and the arg.
    """
    plugins = []
    for index, spec in enumerate(profile.plugins):
        plugin = registry.get(spec.name)
        if plugin is None:
            known = ", ".join(sorted(registry))
            raise ProfileError(
                f"{profile.source}: plugins[{index}].name: unknown plugin {bounded_repr(spec.name)} (known: {known})"
            )
        try:
            plugins.append((plugin.from_args(PluginArgs(spec.args)), spec.weight))
        except PluginArgsError as err:
            # err starts with "args", so this reads: plugins[3].args.resources: ...
            raise ProfileError(
                f"{profile.source}: profile {profile.name!r}, plugin {spec.name}: plugins[{index}].{err}"
            ) from None
    return Framework(profile.name, plugins, profile.percentage_of_nodes_to_score)

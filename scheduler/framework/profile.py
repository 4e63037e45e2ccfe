"""Profiles: which plugins run, in which order, with which score weights; loaded from YAML.

    name: default
    plugins:
      - name: NodeResourcesFit
      - name: LeastAllocated
        weight: 1            # score weight; default 1, 0 keeps the plugin's filter only
        args: {}             # passed to the plugin's factory

Filters run in the listed order (put cheap, selective ones first). Errors name the file and
the field path, in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from scheduler.framework.runtime import Framework
from scheduler.plugins import REGISTRY, PluginFactory


class ProfileError(ValueError):
    """A profile that cannot be used; the message says where and what to change."""


@dataclass(frozen=True, slots=True)
class PluginSpec:
    name: str
    weight: float = 1.0
    args: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    plugins: tuple[PluginSpec, ...]


_FILTERS = (
    "NodeReady",
    "NodeUnschedulable",
    "OS",
    "WindowsIsolation",
    "Hypervisor",
    "TaintToleration",
    "NodeAffinity",
    "NodeResourcesFit",
    "PodTopologySpread",
    "WorkloadAntiAffinity",
)
DEFAULT_PROFILE = Profile(
    "default",
    (*(PluginSpec(n) for n in _FILTERS), PluginSpec("LeastAllocated"), PluginSpec("BalancedAllocation")),
)
BINPACK_PROFILE = Profile("binpack", (*(PluginSpec(n) for n in _FILTERS), PluginSpec("MostAllocated")))


def parse_profile(data: object, source: str = "<profile>") -> Profile:
    """Validate a decoded YAML document into a Profile."""
    if not isinstance(data, Mapping):
        raise ProfileError(f"{source}: expected a mapping with 'name' and 'plugins'")
    name = data.get("name", "default")
    plugins = data.get("plugins")
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
        if plugin not in REGISTRY:
            raise ProfileError(f"{where}.name: unknown plugin {plugin!r} (known: {', '.join(sorted(REGISTRY))})")
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
    return Profile(name, tuple(specs))


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


def build_framework(profile: Profile, registry: Mapping[str, PluginFactory] = REGISTRY) -> Framework:
    """Instantiate the profile's plugins through ``registry``."""
    return Framework(profile.name, [(registry[s.name](s.args or {}), s.weight) for s in profile.plugins])

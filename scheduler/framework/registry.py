"""Plugin registration: one explicit name -> plugin class dict, checked when it is built.

A plugin class must name itself (``NAME``), subclass at least one extension point, implement
every method of the points it subclasses, and define no public method that belongs to a point it
did not declare or to no point at all (a misspelt ``scroe`` would otherwise be dead code, and
the plugin silently absent from Score). ``from_args`` is the factory the profile's args go to.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from scheduler.framework.interfaces import EXTENSION_POINTS, NoArgs, Plugin

PluginRegistry = dict[str, type[Plugin]]


class PluginRegistrationError(ValueError):
    """A plugin class that does not keep the extension-point contract, or a repeated name."""


def check_plugin(plugin: type[Plugin]) -> None:
    """Raise PluginRegistrationError naming the plugin and what it breaks; None when it is sound."""
    label = getattr(plugin, "__name__", repr(plugin))
    if not (inspect.isclass(plugin) and issubclass(plugin, Plugin)):
        raise PluginRegistrationError(f"{label} is not a Plugin subclass")
    name = getattr(plugin, "NAME", None)
    if not isinstance(name, str) or not name:
        raise PluginRegistrationError(f"plugin class {label} has no NAME")
    declared = [point for point in EXTENSION_POINTS if issubclass(plugin, point)]
    if not declared:
        points = ", ".join(p.__name__ for p in EXTENSION_POINTS)
        raise PluginRegistrationError(f"plugin {name} declares no extension point (subclass one of {points})")
    missing = sorted(getattr(plugin, "__abstractmethods__", ()))
    if missing:
        raise PluginRegistrationError(
            f"plugin {name} declares {_names(declared)} but does not implement {', '.join(missing)}"
        )
    allowed = {"from_args"} | {method for point in declared for method in _methods_of(point)}
    for point in EXTENSION_POINTS:
        if point in declared:
            continue
        stray = sorted(m for m in _methods_of(point) if callable(getattr(plugin, m, None)))
        if stray:
            raise PluginRegistrationError(
                f"plugin {name} implements {', '.join(stray)} but does not declare {point.__name__}"
            )
    framework_classes = {NoArgs, *EXTENSION_POINTS, *Plugin.__mro__}
    for klass in plugin.__mro__:
        if klass in framework_classes:
            continue
        for attribute, value in vars(klass).items():
            if attribute.startswith("_") or attribute in allowed:
                continue
            if inspect.isfunction(value) or isinstance(value, classmethod | staticmethod):
                raise PluginRegistrationError(
                    f"plugin {name}: public method {attribute} is no method of {_names(declared)} "
                    "(misspelt? a helper should be private or a module function)"
                )


def build_registry(*plugins: type[Plugin]) -> PluginRegistry:
    """NAME -> plugin class for each of ``plugins``, each checked by ``check_plugin``; a NAME
    that repeats is a PluginRegistrationError."""
    registry: PluginRegistry = {}
    for plugin in plugins:
        check_plugin(plugin)
        if plugin.NAME in registry:
            raise PluginRegistrationError(f"plugin {plugin.NAME!r} is registered twice")
        registry[plugin.NAME] = plugin
    return registry


def _names(points: Sequence[type]) -> str:
    return ", ".join(point.__name__ for point in points)


def _methods_of(point: type) -> list[str]:
    """The methods ``point`` itself adds (not those every Plugin has)."""
    return [name for name, value in vars(point).items() if getattr(value, "__isabstractmethod__", False)]

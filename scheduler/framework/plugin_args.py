"""PluginArgs: a plugin's ``args`` mapping from its profile, read through typed getters.

Every getter records the key it asked for; ``finish`` then refuses any key no getter asked for,
so a misspelt option is an error instead of a silent default. Messages name the arg
(``args.resources.gpu: ...``); the framework prefixes the profile and the plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from atoll.user_text import bounded, bounded_repr


class PluginArgsError(ValueError):
    """Args a plugin cannot use; the message names the arg and what to write instead."""


class PluginArgs:
    """Read-once view of ``raw``; not thread-safe (a plugin is built by one thread)."""

    def __init__(self, raw: Mapping[str, object] | None = None) -> None:
        self._raw = dict(raw or {})
        self._asked: list[str] = []

    def weights(self, key: str, names: Sequence[str], default: float = 1.0) -> dict[str, float]:
        """``key``: a mapping from some of ``names`` to a weight >= 0 (the others get ``default``);
        at least one weight must be above zero. Absent: every name gets ``default``."""
        self._asked.append(key)
        raw = self._raw.get(key)
        if raw is None:
            return dict.fromkeys(names, default)
        if not isinstance(raw, Mapping):
            raise PluginArgsError(f"args.{key}: expected a mapping such as {{{names[0]}: 1}}")
        weights = dict.fromkeys(names, default)
        for name, weight in raw.items():
            if name not in weights:
                raise PluginArgsError(f"args.{key}: unknown name {_shown(name)} (known: {', '.join(names)})")
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight < float("inf"):
                raise PluginArgsError(f"args.{key}.{name}: expected a number >= 0, got {_shown(weight)}")
            weights[name] = float(weight)
        if not any(weights.values()):
            raise PluginArgsError(f"args.{key}: at least one weight must be above 0")
        return weights

    def strings(self, key: str) -> tuple[str, ...]:
        """``key``: a list of non-empty strings; absent: empty."""
        self._asked.append(key)
        raw = self._raw.get(key)
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
            raise PluginArgsError(f"args.{key}: expected a list of non-empty strings")
        return tuple(raw)

    def finish(self) -> None:
        """Refuse every key no getter asked for. Call after the last getter."""
        unknown = sorted(str(key) for key in self._raw if key not in self._asked)
        if unknown:
            known = f"known: {', '.join(self._asked)}" if self._asked else "this plugin takes no args"
            raise PluginArgsError(f"args: unknown arg {_shown(unknown[0])} ({known})")


def _shown(value: object) -> str:
    """A key or value from the profile as an error message shows it, bounded."""
    return bounded_repr(value) if isinstance(value, str) else bounded(repr(value))

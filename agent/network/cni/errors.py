"""What can go wrong calling a CNI plugin, as typed exceptions with one-line messages.

A plugin reports its own failure on stdout as the CNI spec's error object (``code``, ``msg``,
``details``); ``CniPluginError`` carries those three unchanged (bounded), so an Event on the pod
can quote the plugin's own words.
"""

from __future__ import annotations

from atoll.user_text import bounded

# CNI spec error codes 1-99 are reserved by the spec (section "Error"); the ones a runtime acts on.
INCOMPATIBLE_VERSION = 1
TRY_AGAIN_LATER = 11


class CniError(Exception):
    """Base of every CNI failure; ``str()`` is one line for people."""


class CniPluginNotFoundError(CniError):
    """The plugin binary is not in the CNI bin dir (install containernetworking-plugins)."""


class CniPluginError(CniError):
    """The plugin ran and failed. ``plugin``: its type; ``command``: ADD, DEL, CHECK or VERSION;
    ``code``: the spec's error code (0 when the plugin printed none); ``msg`` and ``details``: its
    own words, bounded."""

    def __init__(self, plugin: str, command: str, code: int, msg: str, details: str = "") -> None:
        self.plugin, self.command, self.code = plugin, command, code
        self.msg, self.details = bounded(msg), bounded(details)
        detail = f" ({self.details})" if self.details else ""
        super().__init__(f"CNI {command} {plugin}: {self.msg}{detail}")


class CniResultError(CniError):
    """The plugin succeeded but its result is not the JSON the spec describes."""

"""What a VM's serial console says about its guest (pure): booted, or crashed.

``guest booted`` is the first line matching the VM's boot marker (annotation
``qemu.atoll.dev/boot-marker``, a regular expression) or, without one, a line the usual guests
print when userspace starts. A Linux ``Kernel panic - not syncing`` line is a crash even when the
guest has no pvpanic driver to tell QEMU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.drivers.protocol import CannotRunError, TaskConfig
from atoll.user_text import bounded_repr

BOOT_MARKER_ANNOTATION = "qemu.atoll.dev/boot-marker"
DEFAULT_BOOT_MARKER = r"Run /\S* as init process|Welcome to |login: ?$"
PANIC = re.compile(r"Kernel panic - not syncing")


@dataclass(frozen=True)
class ConsoleWatch:
    marker: re.Pattern[str]

    @classmethod
    def for_config(cls, config: TaskConfig) -> ConsoleWatch:
        """CannotRunError when the annotation is not a valid regular expression."""
        text = config.annotation(BOOT_MARKER_ANNOTATION) or DEFAULT_BOOT_MARKER
        try:
            return cls(re.compile(text))
        except re.error as err:
            shown = bounded_repr(text)
            raise CannotRunError(f"annotation {BOOT_MARKER_ANNOTATION}={shown} is not a regex: {err}") from None

    def booted(self, line: str) -> bool:
        return self.marker.search(line) is not None

    @staticmethod
    def panicked(line: str) -> bool:
        return PANIC.search(line) is not None

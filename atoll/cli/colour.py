"""Colour for people at a terminal: only when the stream is a terminal, ``NO_COLOR`` is unset or
empty (no-color.org) and ``TERM`` is not ``dumb``; piped output is never coloured."""

from __future__ import annotations

import os
from typing import TextIO

RESET = "\033[0m"
GREEN = "\033[32m"
YELLOW = "\033[33m"
RED = "\033[31m"

# A status cell (or the first comma-separated part of one: "Ready,SchedulingDisabled") -> colour.
STATUS_COLOURS = {
    **dict.fromkeys(("Running", "Ready", "Succeeded", "Completed", "Bound", "Active", "True", "Available"), GREEN),
    **dict.fromkeys(("Pending", "ContainerCreating", "Terminating", "Paused", "Stopped", "Unknown"), YELLOW),
    **dict.fromkeys(
        ("Failed", "Error", "CrashLoopBackOff", "NotReady", "ErrImagePull", "ImagePullBackOff", "Lost", "False"), RED
    ),
}


def enabled(stream: TextIO) -> bool:
    """Whether to colour what goes to ``stream``."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that can rewrite a line (not ``TERM=dumb``)."""
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def status_colour(cell: str) -> str | None:
    """The colour of a status-like cell, or None for any other text."""
    return STATUS_COLOURS.get(cell.split(",", 1)[0].strip())


def paint(text: str, colour: str | None) -> str:
    return f"{colour}{text}{RESET}" if colour else text

"""Durations as kubectl's flags take them: ``30s``, ``2m``, ``1h30m``, ``500ms``, a bare number of
seconds, ``0``."""

from __future__ import annotations

import argparse
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds; argparse.ArgumentTypeError (one line) for anything else."""
    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        parts = _PART.findall(stripped)
        if not parts or "".join(number + unit for number, unit in parts) != stripped:
            raise argparse.ArgumentTypeError(f"invalid duration {stripped[:50]!r}: use e.g. 30s, 2m, 1h30m") from None
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"invalid duration {stripped[:50]!r}: must not be negative")
    return seconds

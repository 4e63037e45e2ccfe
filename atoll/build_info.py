"""What this build of atoll is: its version and the runtime under it, for ``atoll version`` on
the client and the API server's Version service (one definition for both sides)."""

from __future__ import annotations

import os
import sys

from atoll import __version__


def atoll_version() -> str:
    """The distribution's version (atoll/__init__.py, which pyproject.toml reads)."""
    return __version__


def build_info() -> dict[str, str]:
    """``atollVersion``, ``pythonVersion``, ``platform`` (and ``grpcVersion`` when grpc is loaded)."""
    info = {
        "atollVersion": atoll_version(),
        "pythonVersion": ".".join(str(part) for part in sys.version_info[:3]),
        "platform": f"{sys.platform}/{os.uname().machine if hasattr(os, 'uname') else 'unknown'}",
    }
    grpc = sys.modules.get("grpc")
    if grpc is not None:
        info["grpcVersion"] = str(grpc.__version__)
    return info

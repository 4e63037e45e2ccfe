"""What this build of atoll is: its version and the runtime under it, for ``atoll version`` on
the client and the API server's Version service (one definition for both sides)."""

from __future__ import annotations

import platform
import sys

UNKNOWN = "unknown"


def atoll_version() -> str:
    """The installed distribution's version ("unknown" when run from an uninstalled tree)."""
    from importlib import metadata  # deferred: a few milliseconds of `atoll --help` otherwise

    try:
        return metadata.version("atoll")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def build_info() -> dict[str, str]:
    """``atollVersion``, ``pythonVersion``, ``platform`` (and ``grpcVersion`` when grpc is loaded)."""
    info = {
        "atollVersion": atoll_version(),
        "pythonVersion": platform.python_version(),
        "platform": f"{sys.platform}/{platform.machine()}",
    }
    grpc = sys.modules.get("grpc")
    if grpc is not None:
        info["grpcVersion"] = str(grpc.__version__)
    return info

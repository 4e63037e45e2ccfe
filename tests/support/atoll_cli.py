"""The real `atoll` CLI as a child process, for integration and end-to-end tests.

One rule lives here: the test's wall-clock limit on the child outlives the command's own
``--timeout``, so a slow run fails with the command's own message (what it waited for) instead of
``subprocess.TimeoutExpired`` cutting it off mid-wait with nothing said."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Mapping, Sequence

from atoll.cli.duration import parse_duration

# Seconds a command without its own --timeout gets (every such command answers in far less).
DEFAULT_LIMIT = 60.0
# Seconds beyond the command's own --timeout: its start-up, its last request and its message.
MARGIN = 30.0


def own_timeout(args: Sequence[str]) -> float | None:
    """The command's own ``--timeout`` in seconds (``--timeout X`` or ``--timeout=X``, the last
    one given wins as argparse takes it); None when absent or not a duration (the command then
    refuses it in one line, quickly)."""
    found: float | None = None
    for index, arg in enumerate(args):
        if arg == "--timeout" and index + 1 < len(args):
            text = args[index + 1]
        elif arg.startswith("--timeout="):
            text = arg.partition("=")[2]
        else:
            continue
        try:
            found = parse_duration(text)
        except argparse.ArgumentTypeError:
            found = None
    return found


def wall_limit(args: Sequence[str], default: float = DEFAULT_LIMIT) -> float:
    """How long the test lets ``atoll ARGS`` run: ``default``, or the command's own timeout plus
    ``MARGIN`` when that is longer (``--timeout 0``, never give up, gets ``default``)."""
    own = own_timeout(args)
    return default if own is None else max(default, own + MARGIN)


def run_atoll(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None,
    prefix: Sequence[str] = (), cwd: str | None = None, default: float = DEFAULT_LIMIT,
) -> subprocess.CompletedProcess[str]:
    """``atoll ARGS`` (``python -m allinone``, under ``prefix`` such as ``nsenter ...``) with
    ``stdin`` as its input; its output as text. The limit is ``wall_limit(args, default)``."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "allinone", *args],
        input=stdin, capture_output=True, text=True, env=None if env is None else dict(env), cwd=cwd,
        timeout=wall_limit(args, default), check=False,
    )

"""Where `atoll up` serves the HTTP/JSON API and web console: ``--http-listen`` as given, else the
default port when it is free (a taken default is skipped with a warning, as metrics ports are)."""

from __future__ import annotations

import socket

DEFAULT_HTTP_LISTEN = "127.0.0.1:7480"


def choose(explicit: str | None, disabled: bool) -> tuple[str | None, str]:
    """(the address to serve on or None, a warning to print or "")."""
    if disabled:
        return None, ""
    if explicit is not None:
        return explicit, ""
    host, _, port = DEFAULT_HTTP_LISTEN.rpartition(":")
    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            taken = f"{DEFAULT_HTTP_LISTEN} is taken ({exc.strerror})"
            return None, f"{taken}; no HTTP API (choose --http-listen HOST:PORT)"
    return DEFAULT_HTTP_LISTEN, ""

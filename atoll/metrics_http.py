"""Serving one component's Prometheus registry on its own /metrics port.

Several components share a process under `atoll up`; each keeps its metrics in its own
CollectorRegistry (declared in that component's metrics.py) and serves it here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server


class MetricsListenError(RuntimeError):
    """The metrics address is malformed or cannot be bound; the message is one line."""


def serve_metrics(listen: str, registry: CollectorRegistry) -> int:
    """Serves ``registry`` at http://HOST:PORT/metrics from a daemon thread; returns the bound port
    (useful with port 0)."""
    host, _, port_text = listen.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise MetricsListenError(f"metrics address {listen!r}: expected HOST:PORT") from None
    try:
        server, _thread = start_http_server(port, addr=host or "127.0.0.1", registry=registry)
    except OSError as exc:
        raise MetricsListenError(f"cannot serve metrics on {listen}: {exc.strerror or exc}") from None
    return int(server.server_address[1])

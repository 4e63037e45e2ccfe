"""Where `atoll up` serves each in-process component's /metrics: one port each, counted up from a
base address (API server BASE, scheduler BASE+1, controllers BASE+2, simulated nodes BASE+3).

With port 0 every component gets any free port. The default base is best effort: a taken port is
skipped with a warning, so a second `atoll up` on one machine still starts; an explicit base must
work completely.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from atoll.metrics_http import MetricsListenError, serve_metrics

# Fixed offsets, so that deploy/prometheus/prometheus.yml can name every target.
OFFSETS = {"api-server": 0, "scheduler": 1, "controllers": 2, "sim-nodes": 3}


@dataclass
class ServedMetrics:
    urls: dict[str, str] = field(default_factory=dict)  # component -> http://HOST:PORT/metrics
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What `atoll up` prints, one component per line."""
        rows = [f"{name} {url}" for name, url in self.urls.items()]
        return [f"  {'metrics:' if i == 0 else '':<14} {row}" for i, row in enumerate(rows)]


def serve_component_metrics(
    base: str, registries: Mapping[str, CollectorRegistry], *, explicit: bool
) -> ServedMetrics:
    """Serves each registry (keys from OFFSETS) on its port. Raises MetricsListenError for a
    malformed base, and for a port that cannot be bound when ``explicit``."""
    host, _, port_text = base.rpartition(":")
    try:
        base_port = int(port_text)
    except ValueError:
        raise MetricsListenError(f"metrics base address {base!r}: expected HOST:PORT") from None
    served = ServedMetrics()
    for name, registry in registries.items():
        port = base_port + OFFSETS[name] if base_port else 0
        listen = f"{host}:{port}"
        try:
            bound = serve_metrics(listen, registry)
        except MetricsListenError as err:
            if explicit:
                raise
            served.warnings.append(f"{err}; {name} runs without /metrics")
            continue
        served.urls[name] = f"http://{host or '127.0.0.1'}:{bound}/metrics"
    return served

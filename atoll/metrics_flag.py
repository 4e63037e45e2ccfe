"""The ``--metrics-listen`` flag every standalone component (scheduler, controller, agent) shares.

Each component has a default port (9441 scheduler, 9442 controller, 9443 agent, as `atoll up`
uses them). The default is best effort: when it is taken (say, a second replica on one host) the
component runs on without /metrics and says so on stderr. An address given explicitly must work;
an empty one turns /metrics off.
"""

from __future__ import annotations

import argparse
import sys

from prometheus_client import CollectorRegistry

from atoll.metrics_http import MetricsListenError, serve_metrics


def add_metrics_flag(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--metrics-listen",
        default=None,
        metavar="HOST:PORT",
        help=f"where to serve Prometheus /metrics (default {default}, skipped when taken; empty: none; port 0: any)",
    )


def start_metrics(flag: str | None, default: str, registry: CollectorRegistry, program: str) -> str | None:
    """Serve ``registry`` per the flag's rules; the URL served, or None. Raises MetricsListenError
    (one line) only for an explicit address that cannot be served."""
    if flag == "":
        return None
    listen = default if flag is None else flag
    try:
        port = serve_metrics(listen, registry)
    except MetricsListenError as err:
        if flag is not None:
            raise
        print(f"{program}: warning: {err}; running without /metrics (see --metrics-listen)", file=sys.stderr)
        return None
    return f"http://{listen.rpartition(':')[0] or '127.0.0.1'}:{port}/metrics"

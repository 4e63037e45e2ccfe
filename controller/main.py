"""``atoll-controller``: runs the controllers against an API server. ``run_controllers`` is the same
thing for in-process use (`atoll up`).

    atoll-controller --server HOST:PORT [--no-leader-elect] [--controllers deployment,node-lifecycle,...]
                     [--metrics-listen HOST:PORT]

It elects a leader by default (as kube-controller-manager does): it runs the controllers only
while it holds the Lease atoll-system/atoll-controller, the one `atoll up`'s in-process
controllers hold too, so a second manager (another replica, or one started beside `atoll up`)
stands by instead of fighting the first over every object. Alone, the first acquire is
immediate (no Lease yet, or a released one); after kill -9 a restart on the same host takes the
Lease back at once (the default identity names the process: atoll/process_identity.py).
``--no-leader-elect`` runs at once without a Lease: only for a manager known to be the only one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

from atoll.cidrs import CidrError, check_cluster_cidr
from atoll.client import Client
from atoll.client_flags import add_client_flags, client_flags
from atoll.clock import Clock, SystemClock
from atoll.config import ClientConfig, ConfigError, resolve_client_config
from atoll.gc_tuning import tune_gc
from atoll.leaderelection import ElectionConfig, LeaderElector, default_identity
from atoll.metrics_flag import add_metrics_flag, start_metrics
from atoll.metrics_http import MetricsListenError
from controller.controllers.migration.policy import add_migration_flags, policy_from
from controller.manager import CONTROLLERS, ControllerOptions, check_names, run_all
from controller.runtime import metrics

log = logging.getLogger("atoll.controller")
DEFAULT_METRICS_LISTEN = "127.0.0.1:9442"


async def run_controllers(
    server: str | ClientConfig,
    stop: asyncio.Event,
    *,
    options: ControllerOptions | None = None,
    clock: Clock | None = None,
) -> None:
    """Run the controllers until ``stop`` is set, then stop them and return.

    With ``options.leader_elect`` the controllers run only while this process holds the Lease
    ``options.lease_namespace/options.lease_name``; losing it stops them, and the process campaigns
    again. Raises ValueError for an unknown controller name before connecting.
    """
    options = options or ControllerOptions()
    check_names(options.controllers)
    check_cluster_cidr(options.cluster_cidr, options.node_cidr_mask_size)
    clock = clock or SystemClock()
    async with Client.connect(server) as client:
        if options.leader_elect:
            election = ElectionConfig(
                options.lease_name,
                options.lease_namespace,
                options.identity or default_identity(),
                options.lease_duration,
                options.renew_deadline,
                options.retry_period,
            )
            elector = LeaderElector(client, election, clock, on_change=_leadership_metrics(options.lease_name))
            work = asyncio.create_task(elector.run(lambda: run_all(client, clock, options)), name="leader-election")
        else:
            metrics.LEADER.labels(options.lease_name).set(1)  # the only manager: it leads
            work = asyncio.create_task(run_all(client, clock, options), name="controllers")
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, stopping):
                task.cancel()
            await asyncio.gather(work, stopping, return_exceptions=True)
            metrics.LEADER.labels(options.lease_name).set(0)
        if work.done() and not work.cancelled() and work.exception() is not None:
            raise work.exception()  # type: ignore[misc]


def build_parser() -> argparse.ArgumentParser:
    defaults = ControllerOptions()
    parser = argparse.ArgumentParser(prog="atoll-controller", description="Run the atoll controllers.")
    add_client_flags(parser)
    parser.add_argument(
        "--controllers",
        default=",".join(CONTROLLERS),
        help=f"comma-separated controllers to run (default: all: {','.join(CONTROLLERS)})",
    )
    parser.add_argument(
        "--workers", type=int, default=defaults.workers, help="workers per controller (default %(default)d)"
    )
    parser.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"run only while holding the Lease {defaults.lease_namespace}/{defaults.lease_name}, as `atoll up` "
        "does (default); --no-leader-elect: run at once, only when no other controller manager runs",
    )
    parser.add_argument(
        "--identity",
        default="",
        help="leader election identity (default HOST_SPACE_PID_START_NONCE: names this process, so a successor "
        "on this host takes over at once when it is gone)",
    )
    parser.add_argument("--lease-duration", type=float, default=defaults.lease_duration, metavar="SECONDS")
    parser.add_argument("--renew-deadline", type=float, default=defaults.renew_deadline, metavar="SECONDS")
    parser.add_argument("--retry-period", type=float, default=defaults.retry_period, metavar="SECONDS")
    parser.add_argument(
        "--node-grace-period",
        type=float,
        default=defaults.node_grace_period,
        metavar="SECONDS",
        help="lease silence before a node is Unknown and tainted (default %(default)g)",
    )
    parser.add_argument(
        "--default-toleration-seconds",
        type=float,
        default=defaults.default_toleration_seconds,
        metavar="SECONDS",
        help="eviction delay for workloads without a matching toleration (default %(default)g)",
    )
    parser.add_argument(
        "--cluster-cidr",
        default=defaults.cluster_cidr,
        metavar="CIDR",
        help="range the node-ipam controller gives node pod CIDRs from (default %(default)s)",
    )
    parser.add_argument(
        "--node-cidr-mask-size",
        type=int,
        default=defaults.node_cidr_mask_size,
        metavar="BITS",
        help="prefix length of each node's pod CIDR (default %(default)d)",
    )
    parser.add_argument(
        "--shared-storage-dir",
        default=defaults.shared_storage_dir,
        metavar="DIR",
        help="the shared volume dir as mounted here (NFS): the volume-binding controller then removes deleted "
        "shared volumes' data itself (default: nodes with the dir do)",
    )
    add_migration_flags(parser)
    add_metrics_flag(parser, DEFAULT_METRICS_LISTEN)
    parser.add_argument("--log-level", default="INFO", help="Python log level (default INFO)")
    return parser


def options_from(args: argparse.Namespace) -> ControllerOptions:
    names = tuple(name.strip() for name in args.controllers.split(",") if name.strip())
    return replace(
        ControllerOptions(),
        controllers=check_names(names),
        workers=args.workers,
        leader_elect=args.leader_elect,
        identity=args.identity,
        lease_duration=args.lease_duration,
        renew_deadline=args.renew_deadline,
        retry_period=args.retry_period,
        node_grace_period=args.node_grace_period,
        default_toleration_seconds=args.default_toleration_seconds,
        cluster_cidr=args.cluster_cidr,
        node_cidr_mask_size=args.node_cidr_mask_size,
        shared_storage_dir=args.shared_storage_dir,
        migration_policy=policy_from(args),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``atoll-controller`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tune_gc()
    try:
        check_cluster_cidr(args.cluster_cidr, args.node_cidr_mask_size)
    except CidrError as err:
        sys.stderr.write(f"atoll-controller: {err}\n")
        return 2
    try:
        config = resolve_client_config(
            client_flags(args), notice=lambda line: sys.stderr.write(f"atoll-controller: {line}\n")
        )
        options = options_from(args)
        if options.leader_elect:
            ElectionConfig(
                "check",
                lease_duration=options.lease_duration,
                renew_deadline=options.renew_deadline,
                retry_period=options.retry_period,
            )
    except (ConfigError, ValueError) as err:
        sys.stderr.write(f"atoll-controller: {err}\n")
        return 1
    try:
        url = start_metrics(args.metrics_listen, DEFAULT_METRICS_LISTEN, metrics.REGISTRY, "atoll-controller")
    except MetricsListenError as err:
        sys.stderr.write(f"atoll-controller: {err}\n")
        return 1
    if url:
        log.info("atoll-controller: metrics on %s", url)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        log.info("atoll-controller: talking to %s", config.server)
        await run_controllers(config, stop, options=options)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def _leadership_metrics(lease_name: str) -> Callable[[bool], None]:
    """Keeps the leader gauge and transition counter of ``lease_name`` current."""
    gauge = metrics.LEADER.labels(lease_name)
    transitions = metrics.LEADER_TRANSITIONS.labels(lease_name)

    def changed(leading: bool) -> None:
        gauge.set(1 if leading else 0)
        if leading:
            transitions.inc()

    return changed


if __name__ == "__main__":
    sys.exit(main())

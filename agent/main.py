"""``atoll-agent``: run one node agent, or a hollow fleet of simulated nodes.

    atoll-agent --server HOST:PORT [--node-name NAME] [--driver NAME...] [--state-dir DIR]
                [--real [--vm-image-dir DIR]...]
    atoll-agent hollow --server HOST:PORT (--fleet FILE | --nodes N) [--no-events]
    (both: [--metrics-listen HOST:PORT], default 127.0.0.1:9443)

Stops cleanly on SIGINT/SIGTERM, leaving workloads running (a restart adopts them). Mistakes
(unknown driver, bad fleet file, no server) are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path

from agent import metrics
from agent.config import AgentConfig
from agent.drivers import DRIVERS, UnknownDriverError
from agent.drivers.protocol import Driver
from agent.drivers.real import real_drivers
from agent.hollow.fleet import FleetError, default_fleet, load_fleet
from agent.hollow.hollow_fleet import run_hollow_fleet
from agent.host.devices import ExtendedResourceFlagError, parse_flags
from agent.network.cni import DEFAULT_BIN_DIR
from agent.network.node_network import NodeNetworkConfig
from agent.run import run_agent
from agent.volumes.claims import VolumeDirs
from atoll.client_flags import add_client_flags, client_flags
from atoll.config import ConfigError, resolve_client_config
from atoll.gc_tuning import tune_gc
from atoll.image_flags import add_registry_flags, registry_config
from atoll.metrics_flag import add_metrics_flag, start_metrics
from atoll.metrics_http import MetricsListenError
from atoll.private_files import make_process_private

EXIT_USAGE = 2
DEFAULT_DRIVERS = ("sim-linux",)
DEFAULT_METRICS_LISTEN = "127.0.0.1:9443"
DEFAULT_REAL_STATE = Path("/var/lib/atoll/nodes")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"atoll-agent: {message} (see --help)\n")


def _common(parser: argparse.ArgumentParser) -> None:
    add_client_flags(parser)
    parser.add_argument("--lease-interval", type=float, default=10.0, metavar="SECONDS",
                        help="seconds between Lease renewals (default 10)")
    parser.add_argument("--logs-listen", default="127.0.0.1:0", metavar="HOST:PORT",
                        help="where to serve `atoll logs` (default 127.0.0.1, any free port)")
    parser.add_argument("--no-events", action="store_true", help="record no Events")
    add_metrics_flag(parser, DEFAULT_METRICS_LISTEN)
    parser.add_argument("--log-level", default="WARNING", help="Python log level (default WARNING)")


def agent_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="atoll-agent", description="Run the atoll node agent for this host.")
    _common(parser)
    parser.add_argument("--node-name", help="name of the Node to register (default: the hostname)")
    parser.add_argument("--driver", action="append", dest="drivers", metavar="NAME",
                        help=f"a driver to run workloads with, repeatable: {', '.join(sorted(DRIVERS))} "
                             f"(default {', '.join(DEFAULT_DRIVERS)})")
    parser.add_argument("--state-dir", type=Path,
                        help="where runtimes keep tasks across restarts (with --real, default "
                             f"{DEFAULT_REAL_STATE}/NODE)")
    parser.add_argument("--real", action="store_true",
                        help="run real workloads: OCI containers (runc, crun) and QEMU VMs, and program this host's "
                             "network (routes to other nodes' pod CIDRs, Service virtual IPs in nftables)")
    parser.add_argument("--vm-image-dir", action="append", type=Path, default=[], dest="vm_image_dirs",
                        metavar="DIR", help="with --real: a directory whose files VMs may use as kernel, initrd or "
                                            "disk image, repeatable")
    parser.add_argument("--cni-bin-dir", type=Path, default=DEFAULT_BIN_DIR, metavar="DIR",
                        help=f"with --real: where the CNI plugins are (default {DEFAULT_BIN_DIR}: "
                             "containernetworking-plugins)")
    parser.add_argument("--local-volume-dir", type=Path, metavar="DIR",
                        help="where this node keeps local persistent volumes (default STATE_DIR/volumes with "
                             "--state-dir; without either the node runs no workload that uses a claim)")
    parser.add_argument("--shared-storage-dir", type=Path, metavar="DIR",
                        help="the directory every node mounts at the same path (NFS) for shared volumes")
    parser.add_argument("--extended-resource", action="append", default=[], dest="extended_resources",
                        metavar="NAME=COUNT",
                        help="an extended resource this node offers, in whole units, repeatable (e.g. "
                             "nvidia.com/gpu=2); replaces what device discovery finds for NAME (/dev/nvidia[0-9]*)")
    add_registry_flags(parser, resolution=False)  # with --real: how the node pulls images
    return parser


def hollow_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="atoll-agent hollow", description="Run many simulated nodes in one process.")
    _common(parser)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--fleet", type=Path, help="fleet file (YAML, see deploy/fleets/default.yaml)")
    group.add_argument("--nodes", type=int, help="a default mixed fleet of N nodes")
    parser.add_argument("--volume-attach-seconds", type=float, default=0.0, metavar="SECONDS",
                        help="how long a simulated node takes to attach a workload's persistent volumes (default 0)")
    return parser


def _serve(body: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await body(stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``atoll-agent`` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    hollow = bool(args_list) and args_list[0] == "hollow"
    args = (hollow_parser() if hollow else agent_parser()).parse_args(args_list[1:] if hollow else args_list)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tune_gc()
    make_process_private()  # state dir, task records, workloads' logs (atoll.private_files)
    config = AgentConfig(lease_interval=args.lease_interval, events=not args.no_events)
    try:
        server = resolve_client_config(client_flags(args),
                                       notice=lambda line: sys.stderr.write(f"atoll-agent: {line}\n"))
        if hollow:
            config = replace(config, sim_volume_attach_seconds=args.volume_attach_seconds)
            fleet = load_fleet(args.fleet) if args.fleet else default_fleet(args.nodes)
            start_metrics(args.metrics_listen, DEFAULT_METRICS_LISTEN, metrics.REGISTRY, "atoll-agent")
            return _serve(lambda stop: run_hollow_fleet(server, fleet, stop, config=config,
                                                        logs_listen=args.logs_listen))
        names = args.drivers or ([] if args.real else list(DEFAULT_DRIVERS))
        unknown = [name for name in names if name not in DRIVERS]
        if unknown:
            raise UnknownDriverError(f"unknown driver {unknown[0]!r}; known drivers: {', '.join(sorted(DRIVERS))}")
        extended = parse_flags(args.extended_resources)
        drivers: list[str | Driver] = list(names)
        state_dir, network = args.state_dir, None
        if args.real:
            node_name = args.node_name or socket.gethostname()
            state_dir = state_dir or DEFAULT_REAL_STATE / node_name
            drivers[:0] = real_drivers(state_dir, vm_image_dirs=tuple(path.resolve() for path in args.vm_image_dirs),
                                       node_name=node_name, cni_bin_dir=args.cni_bin_dir,
                                       registry=registry_config(args))
            network = NodeNetworkConfig()
        local = args.local_volume_dir or (state_dir / "volumes" if state_dir else None)
        if local is not None:
            dirs = VolumeDirs(local.resolve(), args.shared_storage_dir.resolve() if args.shared_storage_dir else None)
            config = replace(config, volume_dirs=dirs)
        start_metrics(args.metrics_listen, DEFAULT_METRICS_LISTEN, metrics.REGISTRY, "atoll-agent")
        return _serve(lambda stop: run_agent(server, args.node_name, drivers, stop, state_dir=state_dir,
                                             config=config, logs_listen=args.logs_listen,
                                             extended_resources=extended, node_network=network))
    except (ConfigError, FleetError, UnknownDriverError, MetricsListenError, ExtendedResourceFlagError,
            RuntimeError, ValueError) as err:
        sys.stderr.write(f"atoll-agent: {err}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

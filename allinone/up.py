"""`atoll up`: the composition root. Runs the control plane in the foreground on one machine.

It opens the store, starts the API server, the scheduler, the controllers, simulated nodes (and
with ``--real`` this host as a real node), each meeting the API server only through gRPC; writes
the client config so `atoll` finds the server, and stops cleanly on SIGINT/SIGTERM. Restarting
with the same data dir shows everything it had.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import logging
import os
import signal
import socket
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from agent import metrics as agent_metrics
from agent.config import AgentConfig
from agent.drivers.real import real_drivers
from agent.hollow.fleet import FleetError, FleetSpec, default_fleet, load_fleet
from agent.hollow.hollow_fleet import run_hollow_fleet
from agent.network.cni import DEFAULT_BIN_DIR
from agent.network.node_network import NodeNetworkConfig
from agent.run import run_agent
from agent.volumes.claims import VolumeDirs
from allinone import console_charts, http_listen
from allinone.metrics_ports import serve_component_metrics
from allinone.scheduled_snapshots import snapshot_periodically
from allinone.storage_classes import ensure_storage_classes
from atoll.certs import CertificateError
from atoll.cidrs import (
    DEFAULT_CLUSTER_CIDR,
    DEFAULT_NODE_MASK_SIZE,
    DEFAULT_SERVICE_CIDR,
    CidrError,
    check_cluster_cidr,
    check_disjoint,
    check_service_cidr,
)
from atoll.cli.datadir import DATA_DIR_ENV, default_data_dir
from atoll.client import Client
from atoll.config import write_client_config
from atoll.gc_tuning import tune_gc
from atoll.image_flags import add_registry_flags, registry_config
from atoll.images import node_state_dir
from atoll.leaderelection import ElectionConfig
from atoll.metrics_http import MetricsListenError
from atoll.pki import PkiError, internal_client_config
from atoll.private_files import make_process_private, private_directory
from atoll.user_text import bounded_repr
from controller.apiserver import metrics as apiserver_metrics
from controller.apiserver.auth.config import SecurityConfig, secure_data_dir
from controller.apiserver.encryption import config as encryption_config
from controller.apiserver.event_ttl import DEFAULT_EVENT_TTL
from controller.apiserver.server import start_api_server
from controller.controllers.migration.policy import add_migration_flags, policy_from
from controller.main import run_controllers
from controller.manager import ControllerOptions
from controller.runtime import metrics as controller_metrics
from controller.store.factory import open_store
from controller.store.protocol import StoreUnavailableError
from scheduler import metrics as scheduler_metrics
from scheduler.main import LEASE_NAME as SCHEDULER_LEASE
from scheduler.main import resolution_config, run_scheduler

DEFAULT_LISTEN = "127.0.0.1:7443"
# API server, scheduler, controllers, simulated nodes: BASE, BASE+1, BASE+2, BASE+3.
DEFAULT_METRICS_BASE = "127.0.0.1:9440"
# A small mixed fleet (Linux, Windows Server 2022, type-1 hypervisor hosts) so the quick start's
# sample workloads run; --sim-nodes 0 for none.
DEFAULT_SIM_NODES = 10


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("up", help="run the control plane in the foreground")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"state directory (default: ${DATA_DIR_ENV} or ~/.local/share/atoll)",
    )
    parser.add_argument(
        "--listen", default=DEFAULT_LISTEN, help=f"HOST:PORT for the API server (default {DEFAULT_LISTEN})"
    )
    parser.add_argument(
        "--store",
        default="sqlite",
        help="sqlite (embedded, default), memory, or etcd://HOST:PORT[,HOST:PORT...]",
    )
    parser.add_argument(
        "--event-ttl",
        type=float,
        default=DEFAULT_EVENT_TTL,
        metavar="SECONDS",
        help=f"delete each Event this long after its last write (default {DEFAULT_EVENT_TTL:g}, as Kubernetes; "
        "0 keeps them)",
    )
    parser.add_argument("--no-client-config", action="store_true", help="do not write the client config file")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="plaintext, no authentication, loopback addresses only (default: mutual TLS with certificates "
        "generated in DATA_DIR/pki, tokens, roles and an audit log)",
    )
    parser.add_argument(
        "--san",
        action="append",
        default=[],
        metavar="NAME_OR_IP",
        help="extra DNS name or IP address for the API server certificate (repeatable)",
    )
    parser.add_argument(
        "--snapshot-interval", type=float, default=0, metavar="SECONDS",
        help="snapshot the store every SECONDS into --snapshot-dir (default: never; see `atoll store snapshot`)",
    )
    parser.add_argument("--snapshot-dir", type=Path, help="where scheduled snapshots go (default DATA_DIR/snapshots)")
    parser.add_argument(
        "--snapshot-keep", type=int, default=5, metavar="N", help="scheduled snapshots kept (default 5)"
    )
    parser.add_argument("--no-scheduler", action="store_true", help="do not start the scheduler in-process")
    parser.add_argument("--no-controllers", action="store_true", help="do not start the controllers in-process")
    parser.add_argument(
        "--sim-nodes",
        type=int,
        default=DEFAULT_SIM_NODES,
        help=f"simulated nodes to run in-process (default {DEFAULT_SIM_NODES})",
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="also run this host as a real node (OCI containers with runc/crun, QEMU VMs), named after its hostname",
    )
    parser.add_argument(
        "--vm-image-dir", dest="vm_image_dirs", type=Path, action="append", default=[], metavar="DIR",
        help="with --real: a directory whose files VMs may use as kernel, initrd or disk image, repeatable"
             " (besides the node's image store, DATA_DIR/nodes/NODE/images)",
    )
    parser.add_argument(
        "--cni-bin-dir", type=Path, default=DEFAULT_BIN_DIR, metavar="DIR",
        help=f"with --real: where the CNI plugins are (default {DEFAULT_BIN_DIR}: containernetworking-plugins)",
    )
    parser.add_argument(
        "--node-netns", type=Path, default=None, metavar="PATH",
        help="with --real: the network namespace the node's pod network (bridge atoll0, veths, hostPort rules) lives "
             "in, e.g. /run/netns/NAME (default: the host's own)",
    )
    parser.add_argument("--fleet", type=Path, default=None, help="fleet file of simulated nodes (see deploy/fleets/)")
    parser.add_argument(
        "--shared-storage-dir", type=Path, default=None, metavar="DIR",
        help="where volumes of the shared storage class live, for the --real node (default DATA_DIR/shared-volumes; "
             "on several hosts: one NFS mount at the same path everywhere)",
    )
    parser.add_argument(
        "--node-grace-period",
        type=float,
        default=40.0,
        help="seconds without a lease renewal before a node is NotReady",
    )
    parser.add_argument(
        "--cluster-cidr",
        default=DEFAULT_CLUSTER_CIDR,
        metavar="CIDR",
        help=f"range each node's pod CIDR is taken from (default {DEFAULT_CLUSTER_CIDR})",
    )
    parser.add_argument(
        "--node-cidr-mask-size",
        type=int,
        default=DEFAULT_NODE_MASK_SIZE,
        metavar="BITS",
        help=f"prefix length of each node's pod CIDR (default {DEFAULT_NODE_MASK_SIZE})",
    )
    add_migration_flags(parser)
    parser.add_argument(
        "--service-cidr",
        default=DEFAULT_SERVICE_CIDR,
        metavar="CIDR",
        help=f"range Services' cluster IPs are taken from, apart from --cluster-cidr (default {DEFAULT_SERVICE_CIDR})",
    )
    parser.add_argument(
        "--scheduler-profile", type=Path, default=None, help="scheduler profile YAML (default built in)"
    )
    parser.add_argument(
        "--metrics-listen-base",
        default=None,
        metavar="HOST:PORT",
        help=f"/metrics of the API server on PORT, scheduler PORT+1, controllers PORT+2, simulated nodes PORT+3 "
        f"(default {DEFAULT_METRICS_BASE}, a taken default port is skipped; port 0: any free ports)",
    )
    parser.add_argument("--no-metrics", action="store_true", help="serve no Prometheus /metrics")
    parser.add_argument(
        "--http-listen",
        default=None,
        metavar="HOST:PORT",
        help=f"HTTP/JSON API and web console (default {http_listen.DEFAULT_HTTP_LISTEN}, skipped when taken; "
        "HTTPS with the API server's certificates outside --dev)",
    )
    parser.add_argument("--no-http", action="store_true", help="serve no HTTP/JSON API or web console")
    console_charts.add_flags(parser)
    parser.add_argument("--log-level", default="WARNING", help="Python log level (default WARNING)")
    add_registry_flags(parser, resolution=True)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tune_gc()
    make_process_private()  # the store, its WAL/SHM, logs, task dirs: everything up and its drivers write
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace) -> int:
    if args.event_ttl < 0:
        print(f"atoll up: --event-ttl must be 0 (keep Events) or more seconds, got {args.event_ttl:g}", file=sys.stderr)
        return 2
    try:
        fleet = load_fleet(args.fleet) if args.fleet else default_fleet(args.sim_nodes)
    except FleetError as exc:
        print(f"atoll up: {exc}", file=sys.stderr)
        return 2
    try:
        cluster_cidr = check_cluster_cidr(args.cluster_cidr, args.node_cidr_mask_size)
        check_service_cidr(args.service_cidr)
        check_disjoint({"--cluster-cidr": args.cluster_cidr, "--service-cidr": args.service_cidr})
    except CidrError as exc:
        print(f"atoll up: {exc}", file=sys.stderr)
        return 2
    try:
        resolution_config(args)  # checked here, used by _start_components
        policy_from(args)  # likewise
    except ValueError as exc:
        print(f"atoll up: {exc}", file=sys.stderr)
        return 2
    ranges = 1 << (args.node_cidr_mask_size - cluster_cidr.prefixlen)
    if not args.no_controllers and fleet.total > ranges:
        print(f"atoll up: {fleet.total} simulated nodes need a pod CIDR each, but --cluster-cidr {cluster_cidr} "
              f"holds {ranges} /{args.node_cidr_mask_size} ranges: give a wider --cluster-cidr (10.0.0.0/8 holds "
              f"65536) or a larger --node-cidr-mask-size", file=sys.stderr)
        return 2
    if args.real and args.node_netns is not None and not args.node_netns.exists():
        print(f"atoll up: --node-netns {bounded_repr(str(args.node_netns))} does not exist "
              f"(make one with: ip netns add NAME)", file=sys.stderr)
        return 2
    data_dir = private_directory((args.data_dir or default_data_dir()).expanduser().resolve())
    security: SecurityConfig | None = None
    http_address, http_warning = http_listen.choose(args.http_listen, args.no_http)
    try:
        charts = console_charts.settings(args)
    except ValueError as exc:
        print(f"atoll up: {exc}", file=sys.stderr)
        return 2
    if args.dev:
        problem = _non_loopback(args.listen) or (_non_loopback(http_address) if http_address else None)
        if problem:
            print(f"atoll up: --dev serves plaintext, so it listens on loopback only: {problem}", file=sys.stderr)
            return 2
    else:
        try:
            security, report = secure_data_dir(data_dir, args.san)
        except (CertificateError, PkiError) as exc:
            print(f"atoll up: {exc} (or run with --dev for plaintext on loopback)", file=sys.stderr)
            return 2
        for warning in report.warnings:
            print(f"atoll up: warning: {warning}", file=sys.stderr)
    try:
        encryption = encryption_config.load(encryption_config.ensure_key_file(data_dir))
    except encryption_config.EncryptionConfigError as exc:
        print(f"atoll up: {exc}", file=sys.stderr)
        return 2
    try:
        store = await open_store(args.store, data_dir)
    except (ValueError, OSError, StoreUnavailableError) as exc:
        print(f"atoll up: --store {args.store}: {exc}", file=sys.stderr)
        return 2
    try:
        api = await start_api_server(
            store,
            args.listen,
            event_ttl=args.event_ttl,
            security=security,
            service_cidr=args.service_cidr,
            encryption=encryption,
            http_listen=http_address,
            charts=charts,
        )
    except RuntimeError as exc:
        await store.close()
        print(f"atoll up: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"atoll control plane is up (pid {os.getpid()})")
    transport = "plaintext, --dev" if security is None else f"mutual TLS, CA {security.client_ca}"
    print(f"  API server:    {api.address} (gRPC, {transport}; health and reflection on)")
    if api.http is not None:
        print(f"  HTTP API:      {api.http.url}/apis/atoll.dev/v1 (JSON; web console at {api.http.url}/)")
    if http_warning:
        print(f"atoll up: warning: {http_warning}", file=sys.stderr)
    if security is not None:
        print(f"  tokens:        {security.token_file} (atoll token create USER --group G)")
        print(f"  audit log:     {security.audit_log}")
    print(f"  store:         {_describe_store(args.store, data_dir)}")
    print(f"  data dir:      {data_dir}")
    print(f"  encryption:    {data_dir / encryption_config.KEY_FILE_NAME} (Secrets AES-GCM at rest)")
    try:
        _serve_metrics(args, fleet)
    except MetricsListenError as exc:
        await api.stop()
        await store.close()
        print(f"atoll up: {exc} (choose --metrics-listen-base HOST:PORT or --no-metrics)", file=sys.stderr)
        return 2
    if not args.no_client_config:
        admin = internal_client_config(data_dir, api.address, "admin", dev=args.dev)
        path = write_client_config(admin.server, ca=admin.ca, cert=admin.cert, key=admin.key)
        print(f"  client config: {path}")
    async with Client.connect(internal_client_config(data_dir, api.address, "admin", dev=args.dev)) as admin_client:
        created = await ensure_storage_classes(admin_client)
    if created:
        print(f"  storage:       created StorageClass {', '.join(created)}")
    components = _start_components(args, api.address, data_dir, fleet, stop)
    print("Stop with Ctrl-C.", flush=True)
    await stop.wait()
    print("atoll up: stopping", flush=True)
    await _stop_components(components)
    await api.stop()
    await store.close()
    return 1 if any(_failed(task) for task in components.values()) else 0


def _serve_metrics(args: argparse.Namespace, fleet: FleetSpec) -> None:
    """Serves each in-process component's registry on its own port and prints where."""
    if args.no_metrics:
        return
    registries = {"api-server": apiserver_metrics.REGISTRY}
    if not args.no_scheduler:
        registries["scheduler"] = scheduler_metrics.REGISTRY
    if not args.no_controllers:
        registries["controllers"] = controller_metrics.REGISTRY
    if fleet.total:
        registries["sim-nodes"] = agent_metrics.REGISTRY
    base = args.metrics_listen_base or DEFAULT_METRICS_BASE
    served = serve_component_metrics(base, registries, explicit=args.metrics_listen_base is not None)
    for line in served.lines():
        print(line)
    for warning in served.warnings:
        print(f"atoll up: warning: {warning}", file=sys.stderr)


def _election_identity(data_dir: Path) -> str:
    """The identity this `atoll up` campaigns with for the scheduler's and the controllers' Leases:
    stable per host and data dir, so that a restart (even after kill -9) takes its own Lease back
    at once, while a standalone `atoll-scheduler --leader-elect` or another `atoll up` on the same
    store waits its turn instead of acting beside it."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"atoll-up-{socket.gethostname()}-{digest}"


def _start_components(
    args: argparse.Namespace, server: str, data_dir: Path, fleet: FleetSpec, stop: asyncio.Event
) -> dict[str, asyncio.Task[bool]]:
    """Starts the in-process components that meet the API server only through gRPC at ``server``,
    each with its own identity (``internal_client_config``: plaintext in --dev, else its certificate)."""
    components: dict[str, Coroutine[Any, Any, None]] = {}
    if not args.no_scheduler:
        scheduler = internal_client_config(data_dir, server, "scheduler", dev=args.dev)
        election = ElectionConfig(SCHEDULER_LEASE, identity=_election_identity(data_dir))
        components["scheduler"] = run_scheduler(
            scheduler, args.scheduler_profile, stop, images=resolution_config(args), election=election
        )
    if not args.no_controllers:
        identity = internal_client_config(data_dir, server, "controller", dev=args.dev)
        options = ControllerOptions(node_grace_period=args.node_grace_period, cluster_cidr=args.cluster_cidr,
                                    node_cidr_mask_size=args.node_cidr_mask_size,
                                    shared_storage_dir=str(_shared_dir(args, data_dir)),
                                    migration_policy=policy_from(args),
                                    leader_elect=True, identity=_election_identity(data_dir))
        components["controllers"] = run_controllers(identity, stop, options=options)
    if args.snapshot_interval > 0 and args.store != "memory":
        directory = (args.snapshot_dir or data_dir / "snapshots").expanduser()
        components["snapshots"] = snapshot_periodically(
            args.store, data_dir, directory, args.snapshot_interval, max(1, args.snapshot_keep), stop
        )
    if fleet.total:
        identity = internal_client_config(data_dir, server, "fleet", dev=args.dev)
        components["sim-nodes"] = run_hollow_fleet(identity, fleet, stop)
    if args.real:
        node = socket.gethostname()
        identity = internal_client_config(data_dir, server, f"node:{node}", dev=args.dev)
        state_dir = node_state_dir(data_dir, node)
        drivers = real_drivers(state_dir, vm_image_dirs=tuple(path.resolve() for path in args.vm_image_dirs),
                               node_name=node, cni_bin_dir=args.cni_bin_dir, node_netns=args.node_netns,
                               registry=registry_config(args))
        config = AgentConfig(volume_dirs=VolumeDirs(state_dir / "volumes", _shared_dir(args, data_dir)))
        components[f"node {node}"] = run_agent(identity, node, drivers, stop, state_dir=state_dir,
                                               node_network=_node_network_config(args.node_netns), config=config)
    for name in components:
        print(f"  {name + ':':<14} running in-process")
    return {name: asyncio.create_task(_supervised(name, work, stop), name=name) for name, work in components.items()}


def _node_network_config(node_netns: Path | None) -> NodeNetworkConfig:
    """Routes and Service rules go where the node's pod network is (``--node-netns``); this host's
    node goes away with the cluster, so a stop removes them (and the bridge when unused)."""
    if node_netns is None:
        return NodeNetworkConfig(remove_on_stop=True)
    enter = ("nsenter", f"--net={node_netns}", "--")
    return NodeNetworkConfig(nft=(*enter, "nft"), ip=(*enter, "ip"), remove_on_stop=True)


def _shared_dir(args: argparse.Namespace, data_dir: Path) -> Path:
    """The shared volume dir: --shared-storage-dir, else DATA_DIR/shared-volumes."""
    return Path(args.shared_storage_dir or data_dir / "shared-volumes").expanduser().resolve()


async def _supervised(name: str, work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Runs one component; if it fails, says so on stderr, stops the whole control plane and
    answers False (`atoll up` then exits 1)."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logging.getLogger("atoll.up").exception("%s failed", name)
        print(f"atoll up: {name} failed: {exc}", file=sys.stderr, flush=True)
        stop.set()
        return False
    return True


def _failed(component: asyncio.Task[bool]) -> bool:
    return component.done() and not component.cancelled() and component.result() is False


async def _stop_components(components: dict[str, asyncio.Task[bool]], grace: float = 5.0) -> None:
    """Components watch the same ``stop`` event; give them ``grace`` seconds, then cancel."""
    if not components:
        return
    _, pending = await asyncio.wait(components.values(), timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _non_loopback(listen: str) -> str | None:
    """Why ``listen`` (HOST:PORT) is not a loopback address, or None when it is."""
    host = listen.rpartition(":")[0].strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return None if loopback else f"{listen!r} is not a loopback address; use 127.0.0.1:PORT or drop --dev"


def _describe_store(spec: str, data_dir: Path) -> str:
    if spec == "sqlite":
        return f"sqlite {data_dir / 'atoll.db'}"
    return spec

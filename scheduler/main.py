"""``atoll-scheduler --server HOST:PORT [--profile FILE] [--no-leader-elect] [--metrics-listen HOST:PORT]``,
and ``run_scheduler`` for ``atoll up``.

The command elects a leader by default (as kube-scheduler does): it schedules only while it holds
the Lease atoll-system/atoll-scheduler, the one `atoll up`'s in-process scheduler holds too, so a
second scheduler stands by instead of binding beside the first (two binders overcommit nodes).
Alone, the first acquire is immediate; after kill -9 a restart on the same host takes the Lease
back at once (the default identity names the process: atoll/process_identity.py).
``--no-leader-elect`` schedules at once without a Lease: only for a scheduler known to be the
only one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from atoll import namespaces
from atoll.client import Client
from atoll.client_flags import add_client_flags, client_flags
from atoll.clock import SystemClock
from atoll.config import SERVER_ENV, ClientConfig, ConfigError, default_config_path, resolve_client_config
from atoll.gc_tuning import tune_gc
from atoll.image_flags import add_registry_flags, registry_config, resolved_registries
from atoll.leaderelection import ElectionConfig, LeaderElector, default_identity
from atoll.metrics_flag import add_metrics_flag, start_metrics
from atoll.metrics_http import MetricsListenError
from scheduler import metrics
from scheduler.framework.profile import DEFAULT_PROFILE, Profile, ProfileError, build_framework, load_profile
from scheduler.framework.runtime import Framework
from scheduler.image_resolution import ImageResolution, ResolutionConfig
from scheduler.plugins import REGISTRY
from scheduler.scheduling_loop import SchedulingLoop

log = logging.getLogger("scheduler")
DEFAULT_SERVER = "127.0.0.1:7443"
DEFAULT_METRICS_LISTEN = "127.0.0.1:9441"
LEASE_NAME = "atoll-scheduler"


def framework_for(profile: Framework | Profile | str | Path | None) -> Framework:
    """The framework running ``profile`` (a Profile, a profile YAML path, None for the built-in
    default; a Framework is returned as is) with this scheduler's plugins (scheduler/plugins).
    ProfileError names the file, the plugin and the field."""
    if isinstance(profile, Framework):
        return profile
    if not isinstance(profile, Profile):
        profile = load_profile(profile) if profile is not None else DEFAULT_PROFILE
    return build_framework(profile, REGISTRY)


async def run_scheduler(
    server: str | ClientConfig,
    profile: Framework | Profile | str | Path | None = None,
    stop: asyncio.Event | None = None,
    *,
    batch_size: int = 500,
    election: ElectionConfig | None = None,
    images: ResolutionConfig | None = None,
) -> None:
    """Schedule against the API at ``server`` (an address, or a ClientConfig with TLS) until ``stop``
    is set (forever when None).

    ``profile``: as ``framework_for`` takes it.
    With ``election``, several replicas may run: only the holder of that Lease schedules (the
    scheduler is the only binder, so two active replicas could overcommit a node); a standby
    starts from a fresh snapshot when it takes over.
    ``images``: the registries to ask what images offer (scheduler/image_resolution.py); None
    places by tag rules only.
    Raises ProfileError for a bad profile before connecting.
    """
    framework = framework_for(profile)
    client = Client.connect(server)
    stop = stop or asyncio.Event()
    try:
        if election is None:
            metrics.LEADER.set(1)
            await _loop(client, framework, batch_size, images).run(stop)
            return
        elector = LeaderElector(client, election, SystemClock(), on_change=lambda leading: metrics.LEADER.set(leading))

        async def lead() -> None:
            await _loop(client, framework, batch_size, images).run(asyncio.Event())

        campaign = asyncio.create_task(elector.run(lead), name="scheduler-leader-election")
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({campaign, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (campaign, stopping):
                task.cancel()
            await asyncio.gather(campaign, stopping, return_exceptions=True)
    finally:
        metrics.LEADER.set(0)
        await client.close()


def _loop(client: Client, framework: Framework, batch_size: int, images: ResolutionConfig | None) -> SchedulingLoop:
    resolution = None if images is None or not images.registries else ImageResolution(images)
    return SchedulingLoop(client, framework, batch_size=batch_size, images=resolution)


def resolution_config(args: argparse.Namespace) -> ResolutionConfig | None:
    """The image resolution the registry flags ask for (atoll/image_flags.py); None for none.
    ValueError, one line, for a bad flag."""
    registries = resolved_registries(args)
    return ResolutionConfig(registries, registry_config(args)) if registries else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atoll-scheduler", description="Place pods and VMs on nodes.")
    add_client_flags(parser)  # default server, when none is configured anywhere: 127.0.0.1:7443
    parser.add_argument("--profile", help="scheduler profile YAML (default: built-in spread profile)")
    parser.add_argument("--batch-size", type=int, default=500, help="bindings per Bind call (default %(default)s)")
    parser.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"schedule only while holding the Lease {namespaces.SYSTEM}/{LEASE_NAME}, as `atoll up` does "
        "(default); --no-leader-elect: schedule at once, only when no other scheduler runs",
    )
    parser.add_argument(
        "--identity",
        default="",
        help="this replica's name in the Lease (default HOST_SPACE_PID_START_NONCE: names this process, so a "
        "successor on this host takes over at once when it is gone)",
    )
    parser.add_argument("--lease-duration", type=float, default=15.0, help="seconds (default %(default)s)")
    parser.add_argument("--renew-deadline", type=float, default=10.0, help="seconds (default %(default)s)")
    parser.add_argument("--retry-period", type=float, default=2.0, help="seconds (default %(default)s)")
    add_registry_flags(parser, resolution=True)
    add_metrics_flag(parser, DEFAULT_METRICS_LISTEN)
    parser.add_argument("--log-level", default="WARNING", help="Python log level (default %(default)s)")
    return parser


def election_from(args: argparse.Namespace) -> ElectionConfig | None:
    """The leader election the flags ask for (None with --no-leader-elect); ValueError, one line,
    for lease timings that cannot work."""
    if not args.leader_elect:
        return None
    return ElectionConfig(
        LEASE_NAME,
        identity=args.identity or default_identity(),
        lease_duration=args.lease_duration,
        renew_deadline=args.renew_deadline,
        retry_period=args.retry_period,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tune_gc()
    try:
        framework = framework_for(args.profile)
        images = resolution_config(args)
        election = election_from(args)
    except (ProfileError, ValueError) as err:
        print(f"atoll-scheduler: {err}", file=sys.stderr)
        return 2
    flags = client_flags(args)
    if not (flags.server or os.environ.get(SERVER_ENV) or default_config_path().exists()):
        flags = replace(flags, server=DEFAULT_SERVER)
    try:
        config = resolve_client_config(flags, notice=lambda line: print(f"atoll-scheduler: {line}", file=sys.stderr))
    except ConfigError as err:
        print(f"atoll-scheduler: {err}", file=sys.stderr)
        return 2
    try:
        url = start_metrics(args.metrics_listen, DEFAULT_METRICS_LISTEN, metrics.REGISTRY, "atoll-scheduler")
    except MetricsListenError as err:
        print(f"atoll-scheduler: {err}", file=sys.stderr)
        return 2
    if url:
        log.warning("metrics on %s", url)
    return asyncio.run(_serve(config, framework, args.batch_size, election, images))


async def _serve(
    server: ClientConfig,
    framework: Framework,
    batch_size: int,
    election: ElectionConfig | None,
    images: ResolutionConfig | None,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.warning("scheduling against %s with profile %s", server.server, framework.profile_name)
    await run_scheduler(server, framework, stop, batch_size=batch_size, election=election, images=images)
    return 0


if __name__ == "__main__":
    sys.exit(main())

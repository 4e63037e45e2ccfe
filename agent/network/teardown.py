"""Removing what a real node programmed into its network namespace, when the node goes away with
its cluster (``atoll up --real`` stopped: ``NodeNetworkConfig.remove_on_stop``).

    atoll's nftables table (``table ip atoll``)  -> deleted (one transaction; absent is fine)
    host-gw routes of our protocol (proto 212)   -> deleted, each
    the node bridge (atoll0)                     -> deleted when no pod veth or VM tap is on it

A standalone ``atoll-agent --real`` keeps all of it when it stops, as kube-proxy keeps its rules:
traffic to Services goes on while the agent restarts, and the next agent converges the same state.
Workloads still running keep the bridge (they need it; the next start adopts them). What a
``kill -9``'d run leaves is replaced by the next start (the proxier's first transaction replaces
the table whole, the route syncer converges our routes, the bridge is found) or removed by its stop.

Every step is idempotent and runs even when an earlier one failed; the first failure is raised
afterwards as TeardownError (one line).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from agent.drivers.proc import run_command
from agent.network.proxy.nft import Nft, NftError
from agent.network.proxy.ruleset import delete_transaction
from agent.network.routes import RouteError, RouteTable
from atoll.user_text import bounded

log = logging.getLogger(__name__)
IP_TIMEOUT = 15.0


class TeardownError(RuntimeError):
    """A step of the teardown failed; the message names it."""


async def remove_node_network(nft: Sequence[str], ip: Sequence[str], bridge: str) -> list[str]:
    """Remove the table, the routes and (when unused) ``bridge`` through the command prefixes
    ``nft`` and ``ip``; returns what was removed, for the log. TeardownError after every step
    ran when one failed."""
    removed: list[str] = []
    errors: list[str] = []
    try:
        await Nft(nft).apply(delete_transaction())
        removed.append("table ip atoll")
    except NftError as err:
        errors.append(f"cannot delete the Service table: {err}")
    table = RouteTable(ip)
    try:
        for route in sorted(await table.current()):
            await table.delete(route)
            removed.append(f"route {route}")
    except RouteError as err:
        errors.append(f"cannot delete the routes: {err}")
    try:
        if await _remove_unused_bridge(ip, bridge):
            removed.append(f"bridge {bridge}")
    except TeardownError as err:
        errors.append(str(err))
    if removed:
        log.info("node network removed: %s", ", ".join(removed))
    if errors:
        raise TeardownError(errors[0])
    return removed


async def _remove_unused_bridge(ip: Sequence[str], bridge: str) -> bool:
    """Delete ``bridge`` when it exists and nothing is attached to it; True when deleted."""
    if not (await _ip(ip, "link", "show", bridge, tolerate_missing=True)).strip():
        return False
    ports = json.loads(await _ip(ip, "-j", "link", "show", "master", bridge) or "[]")
    if ports:
        log.info("bridge %s kept: %d interfaces of running workloads are on it", bridge, len(ports))
        return False
    await _ip(ip, "link", "del", bridge, tolerate_missing=True)
    return True


async def _ip(ip: Sequence[str], *args: str, tolerate_missing: bool = False) -> str:
    argv = (*ip, *args)
    try:
        done = await run_command(argv, timeout=IP_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise TeardownError(f"{' '.join(args)}: {err}") from None
    if done.returncode != 0:
        if tolerate_missing and ("does not exist" in done.stderr or "Cannot find device" in done.stderr):
            return ""
        raise TeardownError(f"ip {' '.join(args)}: {bounded(done.error_line)}")
    return done.stdout

"""``atoll vm migrate NAME [--to NODE] [--wait]`` and ``atoll vm migrate --cancel NAME``.

migrate creates a VirtualMachineMigration named ``NAME-migration-XXXXX`` for the VM (the API
server refuses one for a VM that is not Running, or has a migration under way, with one line).
With ``--wait`` it follows the migration until it ends, a progress bar on a terminal and one plain
line per phase or 10 % otherwise, and exits 0 only when it Succeeded. ``--cancel`` marks the VM's
active migration cancelled (the VM keeps running on its source); with ``--wait`` it waits for it
to end.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from typing import TextIO

from atoll import kinds, migrations
from atoll.cli.common import EXIT_FAILED, EXIT_OK, CliError, Streams
from atoll.cli.duration import parse_duration
from atoll.cli.scale import modify
from atoll.client import Client
from atoll.v1 import migration_pb2
from atoll.watch_events import DELETED

KIND = kinds.by_name("VirtualMachineMigration")
Migration = migration_pb2.VirtualMachineMigration
BAR_WIDTH = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", metavar="NODE", default="", help="migrate: the target node (default: scheduler picks)")
    parser.add_argument("--wait", action="store_true", help="migrate: follow the migration until it ends")
    parser.add_argument("--cancel", action="store_true", help="migrate: cancel the VM's active migration")
    parser.add_argument("--timeout", type=parse_duration, default=0.0, metavar="DURATION",
                        help="migrate --wait: give up waiting after DURATION (30s, 2m; 0: never)")


async def migrate(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    namespace = str(args.namespace or "default")
    if args.cancel:
        if args.to:
            raise CliError("--cancel takes no --to")
        migration = await active_migration(client, namespace, args.name)
        if migration is None:
            raise CliError(f"vm/{args.name} has no migration under way")
        await modify(client, KIND, namespace, migration.metadata.name, _cancel)
        streams.out.write(f"virtualmachinemigration/{migration.metadata.name} cancelling\n")
    else:
        migration = Migration()
        migration.metadata.name = f"{args.name[:230]}-migration-{secrets.token_hex(3)[:5]}"
        migration.metadata.namespace = namespace
        migration.spec.vm_name = args.name
        migration.spec.target_node = args.to
        migration = (await client.create(migration)).virtual_machine_migration
        streams.out.write(f"virtualmachinemigration/{migration.metadata.name} created\n")
    streams.out.flush()
    if not args.wait:
        return EXIT_OK
    try:
        timeout = args.timeout if args.timeout > 0 else None
        async with asyncio.timeout(timeout):
            ended = await follow(client, migration, streams)
    except TimeoutError:
        streams.error(f"error: timed out after {args.timeout:g}s waiting for "
                      f"virtualmachinemigration/{migration.metadata.name}")
        return EXIT_FAILED
    return EXIT_OK if ended.status.phase == migrations.SUCCEEDED or args.cancel else EXIT_FAILED


def _cancel(migration: Migration) -> None:
    if not migrations.is_active(migration):
        raise CliError(f"virtualmachinemigration/{migration.metadata.name} already ended "
                       f"({migration.status.phase})")
    migration.spec.cancel = True


async def active_migration(client: Client, namespace: str, vm_name: str) -> Migration | None:
    """The VM's migration that has not ended, if any."""
    listing = await client.list(KIND.name, namespace, field_selector=f"spec.vmName={vm_name}")
    for obj in listing.items:
        if migrations.is_active(obj.virtual_machine_migration):
            return obj.virtual_machine_migration
    return None


async def follow(client: Client, migration: Migration, streams: Streams) -> Migration:
    """Show progress until the migration ends; returns it as it ended."""
    name, namespace = migration.metadata.name, migration.metadata.namespace
    printer = ProgressPrinter(streams.out)
    revision = migration.metadata.resource_version
    while True:
        printer.show(migration)
        if not migrations.is_active(migration):
            printer.finish(migration)
            return migration
        async for event in client.watch(KIND.name, namespace, field_selector=f"metadata.name={name}",
                                        resource_version=revision):
            revision = max(revision, event.resource_version)
            if event.type == DELETED:
                raise CliError(f"virtualmachinemigration/{name} was deleted while waiting for it")
            migration = event.object.virtual_machine_migration
            break


def percent(migration: Migration) -> int:
    progress = migration.status.progress
    if migration.status.completed or migration.status.phase == migrations.SUCCEEDED:
        return 100
    if not progress.bytes_total:
        return 0
    return int(100 * min(progress.bytes_transferred, progress.bytes_total) // progress.bytes_total)


class ProgressPrinter:
    """A bar redrawn in place on a terminal; elsewhere one line per phase change or 10 % step."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last: tuple[str, int] = ("", -1)

    def show(self, migration: Migration) -> None:
        phase, done = migration.status.phase or migrations.PENDING, percent(migration)
        if self.tty:
            filled = BAR_WIDTH * done // 100
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.out.write(f"\r{phase:<11} [{bar}] {done:3d}% {_detail(migration)}\x1b[K")
        else:
            step = done // 10
            if (phase, step) == self.last:
                return
            self.last = (phase, step)
            self.out.write(f"{phase} {done}% {_detail(migration)}".rstrip() + "\n")
        self.out.flush()

    def finish(self, migration: Migration) -> None:
        status = migration.status
        if self.tty:
            self.out.write("\n")
        if status.phase == migrations.SUCCEEDED:
            line = (f"vm/{migration.spec.vm_name} moved from {status.source_node} to {status.target_node}; "
                    f"downtime {status.progress.downtime_ms} ms")
        else:
            name = migration.metadata.name
            line = f"virtualmachinemigration/{name} {status.phase}: {status.reason}: {status.message}"
        self.out.write(line + "\n")
        self.out.flush()


def _detail(migration: Migration) -> str:
    status = migration.status
    parts = []
    if status.source_node:
        parts.append(f"{status.source_node} -> {migrations.target_of(migration) or '?'}")
    progress = status.progress
    if progress.bytes_total:
        parts.append(f"{progress.bytes_transferred >> 20}/{progress.bytes_total >> 20} MiB")
    if progress.iterations:
        parts.append(f"pass {progress.iterations}")
    return "  ".join(parts)

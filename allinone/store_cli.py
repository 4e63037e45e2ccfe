"""``atoll store``: whole-store operations, run beside (snapshot save) or instead of (restore,
migrate) the API servers.

    atoll store snapshot save FILE [--data-dir DIR | --store etcd://HOST:PORT[,...]]
    atoll store snapshot restore FILE --data-dir NEW_DIR                      (an sqlite snapshot)
    atoll store snapshot restore FILE --etcd-data-dir NEW_DIR [--name M --initial-cluster ...]
    atoll store snapshot inspect FILE
    atoll store migrate --from DATA_DIR --to etcd://HOST:PORT[,...] [--force]

Formats, checks and what each step guarantees: controller/storeops/. Every failure a user can
cause is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from atoll.cli.datadir import DATA_DIR_ENV, default_data_dir
from controller.store.factory import StoreSpecError, parse_etcd_endpoints
from controller.store.protocol import StoreError
from controller.storeops import migrate as migration
from controller.storeops import snapshot

EXIT_OK, EXIT_FAILED = 0, 1
EXAMPLES = """examples:
  atoll store snapshot save backup.snap --data-dir ~/.local/share/atoll
  atoll store snapshot save backup.snap --store etcd://10.0.0.21:2379,10.0.0.22:2379
  atoll store snapshot restore backup.snap --data-dir /var/lib/atoll-restored
  atoll store snapshot inspect backup.snap
  atoll store migrate --from ~/.local/share/atoll --to etcd://10.0.0.21:2379,10.0.0.22:2379
"""
_ETCD_RESTORE_FLAGS = ("name", "initial-cluster", "initial-cluster-token", "initial-advertise-peer-urls")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "store",
        help="snapshot, restore and migrate the cluster's store",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="store_action", metavar="ACTION", required=True)

    snapshots = actions.add_parser("snapshot", help="save, restore or inspect a snapshot file")
    verbs = snapshots.add_subparsers(dest="snapshot_action", metavar="ACTION", required=True)
    save = verbs.add_parser("save", help="write a snapshot of the store to FILE (the cluster may be running)")
    save.add_argument("file", type=Path, metavar="FILE")
    save.add_argument(
        "--data-dir", type=Path, help=f"sqlite: the data dir (default ${DATA_DIR_ENV} or ~/.local/share/atoll)"
    )
    save.add_argument("--store", default="sqlite", metavar="sqlite|etcd://HOST:PORT[,...]", help="the store to save")
    restore = verbs.add_parser("restore", help="restore FILE into a new data dir (the cluster stopped)")
    restore.add_argument("file", type=Path, metavar="FILE")
    target = restore.add_mutually_exclusive_group(required=True)
    target.add_argument("--data-dir", type=Path, help="sqlite: the data dir to create atoll.db in")
    target.add_argument("--etcd-data-dir", type=Path, help="etcd: a new member data dir (etcdctl snapshot restore)")
    for flag in _ETCD_RESTORE_FLAGS:
        restore.add_argument(f"--{flag}", help=f"etcd: passed to etcdctl snapshot restore as --{flag}")
    inspect = verbs.add_parser("inspect", help="check FILE and print its manifest")
    inspect.add_argument("file", type=Path, metavar="FILE")

    move = actions.add_parser("migrate", help="copy a stopped sqlite cluster's store onto etcd, verified")
    move.add_argument("--from", dest="source", type=Path, required=True, metavar="DATA_DIR")
    move.add_argument("--to", dest="target", required=True, metavar="etcd://HOST:PORT[,...]")
    move.add_argument("--force", action="store_true", help="copy even when the etcd cluster already holds keys")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.store_action == "migrate":
            return _migrate(args, out)
        return _snapshot(args, out)
    except (snapshot.SnapshotError, migration.MigrationError, StoreSpecError) as error:
        err.write(f"error: {error}\n")
    except StoreError as error:
        err.write(f"error: {' '.join(str(error).split())[:400]}\n")
    except OSError as error:
        err.write(f"error: {error.strerror or error}: {error.filename}\n")
    except KeyboardInterrupt:
        err.write("interrupted: nothing half-written is left in place; run it again\n")
        return 130
    return EXIT_FAILED


def _snapshot(args: argparse.Namespace, out: TextIO) -> int:
    file: Path = args.file
    if args.snapshot_action == "save":
        if args.store == "sqlite":
            manifest = asyncio.run(snapshot.save_sqlite(args.data_dir or default_data_dir(), file))
        elif args.store.startswith("etcd://"):
            manifest = asyncio.run(snapshot.save_etcd(parse_etcd_endpoints(args.store), file))
        else:
            raise StoreSpecError(f"--store {args.store[:200]!r}: a snapshot is of sqlite or etcd://HOST:PORT[,...]")
        out.write(f"saved {file}: {manifest.summary()}\n")
    elif args.snapshot_action == "inspect":
        out.write(json.dumps(asdict(snapshot.read_manifest(file)), indent=2, sort_keys=True) + "\n")
    elif args.data_dir is not None:
        manifest = asyncio.run(snapshot.restore_sqlite(file, args.data_dir))
        out.write(f"restored {manifest.summary()} into {args.data_dir}; verified {manifest.keys} keys\n")
    else:
        passed = [
            f"--{flag}={getattr(args, flag.replace('-', '_'))}"
            for flag in _ETCD_RESTORE_FLAGS
            if getattr(args, flag.replace("-", "_"))
        ]
        manifest = snapshot.restore_etcd(file, args.etcd_data_dir, passed)
        out.write(f"restored {manifest.summary()} into etcd member data dir {args.etcd_data_dir}\n")
    return EXIT_OK


def _migrate(args: argparse.Namespace, out: TextIO) -> int:
    if not args.target.startswith("etcd://"):
        raise StoreSpecError(f"--to {args.target[:200]!r}: the target is etcd://HOST:PORT[,...]")
    endpoints = parse_etcd_endpoints(args.target)

    def progress(line: str) -> None:
        out.write(f"{line}\n")
        out.flush()

    report = asyncio.run(migration.migrate(args.source, endpoints, force=args.force, progress=progress))
    kinds = ", ".join(f"{name} {count}" for name, count in sorted(report.by_kind.items()))
    out.write(
        f"migrated {report.keys} keys ({kinds}) from {args.source} at revision {report.source_revision} "
        f"to etcd at revision {report.target_revision}; verified counts and sha256 {report.sha256[:16]}...\n"
        f"start the API servers with --store {args.target} (and the data dir's encryption.yaml)\n"
    )
    return EXIT_OK

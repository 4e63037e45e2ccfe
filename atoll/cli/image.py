"""``atoll image import [NODE] FILE --name NAME:TAG`` and ``atoll image ls [NODE]``: the image store
of a real node run from this machine (``atoll up --real``). Import involves no registry (air-gapped
nodes): FILE is a rootfs directory, a rootfs tarball, or an OCI image layout (directory or
tarball). ``ls`` lists imported images and those the node pulled, the latter with their digest.

The store lives in ``DATA_DIR/nodes/NODE/images`` (DATA_DIR: ``--data-dir``, ``$ATOLL_DATA_DIR``,
else ``~/.local/share/atoll``; NODE defaults to this host's name), or exactly ``--image-dir``.
The agent's oci driver reads the same directory, so an imported image is usable at once.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from atoll.cli.common import EXIT_FAILED, EXIT_OK, Streams
from atoll.cli.datadir import default_data_dir
from atoll.cli.parser import examples
from atoll.images import ImageError, ImageStore, image_dir_for
from atoll.private_files import private_umask
from atoll.user_text import bounded_repr
from atoll.validation.base import dns_subdomain_problem


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "image",
        help="import and list container images on a real node",
        description="Manage the image store of a real node on this machine (no registry pulls).",
        **examples(
            "atoll image import ./rootfs.tar --name web:1",
            "atoll image import node-a ./layout --name web:2",
            "atoll image ls",
        ),
    )
    actions = parser.add_subparsers(dest="image_action", metavar="ACTION", required=True)
    importing = actions.add_parser("import", help="import a rootfs dir/tarball or an OCI image layout")
    importing.add_argument("operands", metavar="[NODE] FILE", nargs="+", help="node name (optional) and the file")
    importing.add_argument("--name", required=True, metavar="NAME:TAG", help="reference to store it under")
    listing = actions.add_parser("ls", help="list the images of a node")
    listing.add_argument("operands", metavar="NODE", nargs="?", help="node name (default: this host)")
    for sub in (importing, listing):
        sub.add_argument("--data-dir", type=Path, default=None, help="atoll's data dir (default $ATOLL_DATA_DIR)")
        sub.add_argument("--image-dir", type=Path, default=None, help="the image store itself (overrides NODE)")
    parser.set_defaults(run=run)


def _store(args: argparse.Namespace, node: str | None) -> ImageStore:
    if args.image_dir is not None:
        return ImageStore(args.image_dir.expanduser())
    data_dir = (args.data_dir or default_data_dir()).expanduser()
    node = node or socket.gethostname()
    problem = dns_subdomain_problem(node)  # a Node's name rule: never a path out of the data dir
    if problem:
        raise ImageError(f"node name {bounded_repr(node)}: {problem}")
    return ImageStore(image_dir_for(data_dir, node))


def run(args: argparse.Namespace, streams: Streams | None = None) -> int:
    streams = streams or Streams(out=sys.stdout, err=sys.stderr)
    try:
        if args.image_action == "import":
            return _import(args, streams)
        store = _store(args, args.operands)
        for reference in store.references():
            digest = store.resolve(reference).config.digest  # pulled images; imported ones have none
            streams.out.write(f"{reference}  {digest}\n" if digest else f"{reference}\n")
        return EXIT_OK
    except ImageError as err:
        streams.error(f"error: {err}")
    except OSError as err:  # e.g. a store directory that cannot be created
        streams.error(f"error: {err.strerror or err}: {err.filename}")
    return EXIT_FAILED


def _import(args: argparse.Namespace, streams: Streams) -> int:
    operands: list[str] = args.operands
    if len(operands) > 2:
        streams.error(f"error: image import takes [NODE] FILE, got {len(operands)} operands")
        return EXIT_FAILED
    node, source = (operands[0], operands[1]) if len(operands) == 2 else (None, operands[0])
    with private_umask():
        store = _store(args, node)
        image = store.import_path(Path(source).expanduser(), args.name)
    streams.out.write(f"imported {args.name} into {store.root} ({image.rootfs})\n")
    return EXIT_OK

"""``atoll certs init|node|check``: the cluster CA and the certificates it signs.

``init`` creates what is missing in the PKI directory (default: the data dir's ``pki``, which
`atoll up` uses) and keeps what exists; ``node NAME`` issues (or renews) one node certificate;
``check`` lists every certificate with its expiry and warns 30 days ahead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from atoll import certs, pki
from atoll.cli.common import EXIT_FAILED, EXIT_OK
from atoll.cli.datadir import DATA_DIR_ENV, default_data_dir
from atoll.cli.parser import examples


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "certs", help="create and check the cluster CA and certificates", description=__doc__.split("\n\n")[1],
        **examples(
            "atoll certs init --node n1",
            "atoll certs node n2",
            "atoll certs check",
        ),
    )
    actions = parser.add_subparsers(dest="certs_action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="create the CA and the API server, admin, component and node certificates")
    _add_dir_flag(init)
    init.add_argument(
        "--san", action="append", default=[], metavar="NAME_OR_IP", help="extra name for the API server certificate"
    )
    init.add_argument("--node", action="append", default=[], metavar="NAME", help="also issue a node certificate")
    _add_days_flag(init)
    node = actions.add_parser("node", help="issue (or renew) the certificate of one node")
    node.add_argument("name", metavar="NAME", help="node name (the certificate names user system:node:NAME)")
    _add_dir_flag(node)
    _add_days_flag(node)
    check = actions.add_parser("check", help="list certificates and warn about those expiring within 30 days")
    _add_dir_flag(check)
    parser.set_defaults(run=run)


def _add_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help=f"PKI directory (default: ${DATA_DIR_ENV}/pki or ~/.local/share/atoll/pki)",
    )


def _add_days_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days", type=int, default=certs.DEFAULT_VALID_DAYS, help="validity of new certificates (default 365)"
    )


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    directory: Path = (args.dir or pki.pki_dir(default_data_dir())).expanduser()
    try:
        if args.certs_action == "init":
            return _init(directory, args, out, err)
        if args.certs_action == "node":
            return _node(directory, args, out)
        return _check(directory, out, err)
    except (certs.CertificateError, pki.PkiError) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_FAILED
    except OSError as exc:
        err.write(f"error: {exc.strerror}: {exc.filename}\n")
        return EXIT_FAILED


def _init(directory: Path, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.days < 1:
        err.write(f"error: --days must be at least 1, got {args.days}\n")
        return EXIT_FAILED
    report = pki.ensure_pki(directory, sans=[*pki.default_sans(), *args.san], nodes=args.node, valid_days=args.days)
    written = [path for path in report.written if not path.name.endswith("-key.pem")]
    for path in written:
        out.write(f"created {path}\n")
    if not written:
        out.write(f"{directory}: every certificate exists; nothing to do\n")
    for warning in report.warnings:
        err.write(f"warning: {warning}\n")
    return EXIT_OK


def _node(directory: Path, args: argparse.Namespace, out: TextIO) -> int:
    if not pki.Pki(directory).ca_cert.exists():
        raise certs.CertificateError(f"no CA in {directory}; run `atoll certs init --dir {directory}` first")
    cert, key = pki.issue_component(directory, f"{pki.NODE_PREFIX}{args.name}", valid_days=args.days)
    out.write(f"issued {cert} (user {pki.node_user(args.name)}, group {pki.NODES_GROUP})\n")
    out.write(f"key    {key}\n")
    return EXIT_OK


def _check(directory: Path, out: TextIO, err: TextIO) -> int:
    paths = sorted(directory.glob("*.pem")) + sorted(directory.glob("nodes/*.pem"))
    paths = [path for path in paths if not path.name.endswith("-key.pem")]
    if not paths:
        err.write(f"error: no certificates in {directory}; run `atoll certs init`\n")
        return EXIT_FAILED
    now = certs.utc_now()
    expired = False
    for path in paths:
        cert = certs.load_cert(path)
        subject = certs.subject_of(cert)
        left = certs.days_left(cert, now)
        expired = expired or left < 0
        groups = f" groups={','.join(subject.organizations)}" if subject.organizations else ""
        out.write(f"{path}: user={subject.common_name}{groups} expires {cert.not_valid_after_utc:%Y-%m-%d}\n")
        warning = certs.expiry_warning(path, now)
        if warning:
            err.write(f"warning: {warning}\n")
    return EXIT_FAILED if expired else EXIT_OK

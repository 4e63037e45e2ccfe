"""The command-line flags every client of the API server shares (``atoll``, ``atoll-scheduler``,
``atoll-controller``, ``atoll-agent``): ``--server`` and the credentials, whose precedence over
``$ATOLL_SERVER`` and the client config file is atoll/config.py's."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # not typing's: see atoll/cli/main.py (start-up time)
if TYPE_CHECKING:  # at run time imported by client_flags(): `atoll --help` never loads the config module
    from atoll.config import ClientFlags

_CREDENTIAL_HELP = {
    "ca": "CA certificate (PEM) that signed the server's certificate: speak TLS",
    "cert": "client certificate (PEM) for mutual TLS (with --key and --ca)",
    "key": "private key (PEM) of --cert",
    "token": "bearer token sent with every call",
}


def add_client_flags(parser: argparse.ArgumentParser, *, repeated: bool = False) -> None:
    """``--server`` and ``--ca/--cert/--key/--token``. With ``repeated`` (a subcommand's copy of
    flags its parent parser has too) an absent flag leaves the parent's value alone."""
    default = argparse.SUPPRESS if repeated else None
    parser.add_argument(
        "--server",
        metavar="HOST:PORT[,HOST:PORT...]",
        default=default,
        help="API server address, or several to fail over between (port default 7443; "
        "default: $ATOLL_SERVER, then the client config file)",
    )
    for name, text in _CREDENTIAL_HELP.items():
        metavar = "TOKEN" if name == "token" else "FILE"
        parser.add_argument(
            f"--{name}",
            metavar=metavar,
            default=default,
            help=f"{text}; any of --ca/--cert/--key/--token replaces the config file's credentials",
        )


def client_flags(args: argparse.Namespace) -> ClientFlags:
    """The flags ``add_client_flags`` defined, as parsed (None for those not given)."""
    from atoll.config import ClientFlags

    return ClientFlags(**{name: getattr(args, name, None) for name in ("server", *_CREDENTIAL_HELP)})

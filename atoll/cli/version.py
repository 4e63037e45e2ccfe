"""``atoll version [--client] [-o json|yaml]``: this client's build and the API server's.

``--client`` never contacts a server and loads neither grpc nor protobuf, so it starts about as
fast as the interpreter (tests/bench/cli_startup.py).
"""

from __future__ import annotations

import argparse
import sys

from atoll.build_info import build_info
from atoll.client_flags import add_client_flags

TYPE_CHECKING = False  # not typing's: see atoll/cli/main.py (start-up time)
if TYPE_CHECKING:
    from typing import Any

FORMATS = ("text", "json", "yaml")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "version",
        help="print the client's and the API server's versions",
        description="Print the version of this client and of the API server it talks to.",
        epilog="examples:\n  atoll version\n  atoll version --client\n  atoll version -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--client", action="store_true", help="only the client's version (no server contacted)")
    parser.add_argument("-o", "--output", choices=FORMATS, default="text", help="text (default), json or yaml")
    add_client_flags(parser, repeated=True)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    versions: dict[str, Any] = {"clientVersion": build_info()}
    if args.client:
        _print(versions, args.output)
        return 0
    from atoll.cli.common import run_with_client  # deferred: grpc and the client only when asked

    async def body(client: Any, streams: Any) -> int:
        info = await client.server_version()
        versions["serverVersion"] = {
            "atollVersion": info.atoll_version,
            "pythonVersion": info.python_version,
            "grpcVersion": info.grpc_version,
            "platform": info.platform,
        }
        _print(versions, args.output)
        return 0

    return run_with_client(args, body)


def _print(versions: dict[str, Any], output: str) -> None:
    if output == "json":
        import json

        sys.stdout.write(json.dumps(versions, indent=2) + "\n")
    elif output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(versions, sort_keys=False))
    else:
        for label, key in (("Client", "clientVersion"), ("Server", "serverVersion")):
            if key in versions:
                info = versions[key]
                sys.stdout.write(f"{label} Version: {info['atollVersion']} (Python {info['pythonVersion']}, "
                                 f"{info['platform']})\n")
    sys.stdout.flush()

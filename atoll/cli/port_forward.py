"""``atoll port-forward pod/NAME|vm/NAME [LOCAL:]REMOTE...``: local TCP ports forwarded to a
workload's ports through the API server (kubectl port-forward). Each local connection is one
session; many run at once; until Ctrl-C. LOCAL 0 (or ``:REMOTE``) picks a free port, printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from atoll.cli.common import CliError, Streams, add_namespace_flags, add_server_flag, run_with_client
from atoll.cli.parser import examples
from atoll.client import ApiError, Client
from atoll.user_text import bounded_repr
from atoll.v1 import access_pb2

LISTEN_HOST = "127.0.0.1"
KINDS = {"pod": "Pod", "pods": "Pod", "po": "Pod", "vm": "VirtualMachine", "vms": "VirtualMachine",
         "virtualmachine": "VirtualMachine", "virtualmachines": "VirtualMachine"}


@dataclass(frozen=True)
class Mapping:
    local: int
    remote: int


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "port-forward",
        help="forward local ports to a pod's or VM's ports",
        description="Forward local TCP ports to pod/NAME or vm/NAME (127.0.0.1 only).",
        **examples(
            "atoll port-forward pod/web 8080:80",
            "atoll port-forward vm/db :5432 8443:443",
        ),
    )
    parser.add_argument("target", metavar="pod/NAME|vm/NAME", help="the workload")
    parser.add_argument("ports", nargs="+", metavar="[LOCAL:]REMOTE", help="ports to forward")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def parse_target(text: str) -> tuple[str, str]:
    kind, slash, name = text.partition("/")
    if not slash:
        return "Pod", text
    if kind.lower() not in KINDS or not name:
        raise CliError(f"cannot forward to {bounded_repr(text)}: give pod/NAME or vm/NAME")
    return KINDS[kind.lower()], name


def parse_mapping(text: str) -> Mapping:
    """``8080:80`` -> (8080, 80); ``80`` -> (80, 80); ``:80`` or ``0:80`` -> (0, 80)."""
    local_text, colon, remote_text = text.rpartition(":")
    if not colon:
        local_text = remote_text
    try:
        local, remote = int(local_text or "0"), int(remote_text)
    except ValueError:
        raise CliError(f"port mapping {bounded_repr(text)}: give [LOCAL:]REMOTE with numbers") from None
    if not 0 <= local < 65536 or not 0 < remote < 65536:
        raise CliError(f"port mapping {bounded_repr(text)}: ports are 1-65535 (LOCAL 0: any free port)")
    return Mapping(local, remote)


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: forward(client, args, streams))


async def forward(client: Client, args: argparse.Namespace, streams: Streams,
                  ready: asyncio.Event | None = None, bound: list[int] | None = None) -> int:
    """Listens until cancelled (Ctrl-C). ``bound`` receives the local ports, ``ready`` is set once
    all listen (for tests and embedding)."""
    kind, name = parse_target(args.target)
    mappings = [parse_mapping(text) for text in args.ports]
    namespace = args.namespace or "default"
    servers: list[asyncio.Server] = []
    try:
        for mapping in mappings:
            def handler(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, remote: int = mapping.remote
            ) -> Any:
                start = access_pb2.SessionStart(capability="port-forward", kind=kind, namespace=namespace, name=name,
                                                port=remote)
                return _carry(client, start, reader, writer, streams)
            try:
                server = await asyncio.start_server(handler, LISTEN_HOST, mapping.local)
            except OSError as err:
                raise CliError(f"cannot listen on {LISTEN_HOST}:{mapping.local}: {err.strerror or err}") from None
            servers.append(server)
            port = server.sockets[0].getsockname()[1]
            if bound is not None:
                bound.append(port)
            streams.out.write(f"Forwarding from {LISTEN_HOST}:{port} -> {mapping.remote}\n")
            streams.out.flush()
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        for server in servers:
            server.close()
    return 0


async def _carry(client: Client, start: access_pb2.SessionStart, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, streams: Streams) -> None:
    """One local connection <-> one session, until either side ends it."""
    try:
        session = await client.open_session(start)
    except ApiError as err:
        streams.error(f"port {start.port}: {err.message}")
        writer.close()
        return

    async def upstream() -> None:
        while data := await reader.read(32 * 1024):
            await session.send(data)
        await session.close_stdin()

    sending = asyncio.create_task(upstream())
    try:
        async for _, data in session.output():
            writer.write(data)
            await writer.drain()
    except (ApiError, OSError) as err:
        streams.error(f"port {start.port}: {getattr(err, 'message', err)}")
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ApiError, OSError):
            await sending
        session.cancel()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

"""Read-modify-write of one object, as ``scale``, ``label``, ``patch``, ``vm`` and others do it:
read, change a copy, write with the revision read; when someone else wrote in between (ABORTED)
read again and change again, so no concurrent write is lost and none is overwritten blindly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from atoll import kinds
from atoll.cli.common import EXIT_FAILED, EXIT_OK, CliError, Streams, server_error_line
from atoll.cli.printers import resource_name
from atoll.client import ApiError, Client
from atoll.v1 import object_pb2

CONFLICT_RETRIES = 5

Change = Callable[[object_pb2.Object], object_pb2.Object | None]


async def modify(client: Client, kind: kinds.Kind, namespace: str, name: str, change: Callable[[Any], None]) -> Any:
    """Read the object, apply ``change`` to its message in place and write it back with its
    revision as precondition (retried on conflict as ``modify_object``). Returns the written message."""

    def on_object(obj: object_pb2.Object) -> object_pb2.Object:
        change(kinds.unwrap(obj))
        return obj

    written, _ = await modify_object(client, kind, namespace, name, on_object)
    return kinds.unwrap(written)


async def modify_object(
    client: Client, kind: kinds.Kind, namespace: str, name: str, change: Change
) -> tuple[object_pb2.Object, bool]:
    """The object after ``change`` and whether it was written.

    ``change`` gets a copy of the current object and returns the object to write (its
    resource_version is the one read), or None when nothing is to change. It may raise to refuse
    (CliError); it is called again after a conflict. Server errors raise ApiError.
    """
    for attempt in range(CONFLICT_RETRIES):
        current = await client.get(kind.name, name, namespace)
        copy = object_pb2.Object()
        copy.CopyFrom(current)
        wanted = change(copy)
        if wanted is None:
            return current, False
        kinds.unwrap(wanted).metadata.resource_version = kinds.unwrap(current).metadata.resource_version
        try:
            return await client.update(wanted), True
        except ApiError as err:
            if err.code != grpc.StatusCode.ABORTED or attempt == CONFLICT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


async def modify_and_report(
    client: Client,
    kind: kinds.Kind,
    namespace: str,
    name: str,
    change: Change,
    streams: Streams,
    outcomes: tuple[str, str],
) -> int:
    """``modify_object``, then ``KIND/NAME OUTCOME`` on stdout (``outcomes``: when written, when
    not: ``("labeled", "not labeled")``); a server error or ``change``'s CliError is one line on
    stderr and makes the exit code EXIT_FAILED, for verbs that go on with their other objects."""
    try:
        obj, written = await modify_object(client, kind, namespace, name, change)
    except ApiError as err:
        streams.error(server_error_line(err, client.server))
        return EXIT_FAILED
    except CliError as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED
    streams.out.write(f"{resource_name(obj)} {outcomes[0] if written else outcomes[1]}\n")
    streams.out.flush()
    return EXIT_OK

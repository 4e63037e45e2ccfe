"""``atoll run -i [--rm]``: after the Pod is created (its container with ``stdin: true``), wait for
the container to start, then send this command's stdin to it (an attach session, as ``atoll
attach -i``) and print its log from the start, following it until the container ends or Ctrl-C.
Following the log rather than the attach's output means nothing a short container wrote before
the attach began is lost. With ``-t`` (the container has a terminal) the session is the terminal
itself, as ``atoll attach -it`` (raw mode, resizes); what the shell printed before it is the
prompt, so a line on stderr says to press enter (kubectl's words). With ``--restart=Never`` the
exit code is the container's (kubectl's).

- ``--rm`` deletes the Pod when the session ends, whatever ended it (the container, Ctrl-C, an
  error); the line saying so goes to stderr, so stdout holds only the container's output. After a
  kill -9 the Pod stays: a second run says AlreadyExists, ``atoll delete pod NAME`` removes it.
- A Pod that has not started within ``--pod-running-timeout`` is one line naming it (and ``--rm``
  still deletes it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

import grpc

from atoll import kinds
from atoll.cli.attach import PROMPT_HINT
from atoll.cli.common import EXIT_FAILED, EXIT_OK, CliError, Streams, server_error_line
from atoll.cli.follow import states
from atoll.cli.terminal import copy_stdin, run_session
from atoll.client import ApiError, Client
from atoll.sessions import ATTACH
from atoll.v1 import access_pb2, agent_pb2, object_pb2, pod_pb2

POD = kinds.by_name("Pod")
STARTED_PHASES = ("Running", "Succeeded", "Failed")
ENDED_PHASES = ("Succeeded", "Failed")
# After its log ends, how long a Pod may take to show its container's exit (a status write).
ENDED_SECONDS = 30.0


async def run_attached(
    client: Client, created: object_pb2.Object, args: argparse.Namespace, streams: Streams, stdin_fd: int | None = None
) -> int:
    """Attach to the created Pod's container until it ends; then ``--rm`` deletes the Pod.
    ``stdin_fd``: what is sent (default this process's stdin)."""
    meta = kinds.unwrap(created).metadata
    try:
        return await _attach_when_started(client, meta.namespace, meta.name, args, streams, stdin_fd)
    finally:
        if args.rm:
            await _delete(client, meta.namespace, meta.name, streams)


async def _attach_when_started(
    client: Client, namespace: str, name: str, args: argparse.Namespace, streams: Streams, stdin_fd: int | None
) -> int:
    pod = await reached(client, namespace, name, STARTED_PHASES, args.pod_running_timeout, "start")
    fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    running = pod.status.phase not in ENDED_PHASES
    if not (args.tty and running and await _attach_terminal(client, namespace, name, streams, fd)):
        await _follow_log(client, namespace, name, streams, fd if running else None)
    if args.restart != "Never":  # the container runs again: there is no last exit code to return
        return EXIT_OK
    ended = await reached(client, namespace, name, ENDED_PHASES, ENDED_SECONDS, "end")
    return exit_code(ended)


async def _attach_terminal(client: Client, namespace: str, name: str, streams: Streams, fd: int) -> bool:
    """``-t``: the container's terminal until it ends; False when it ended before the attach
    (then its log tells what it did)."""
    start = access_pb2.SessionStart(capability=ATTACH, kind=POD.name, namespace=namespace, name=name,
                                    stdin=True, tty=True)
    try:
        await run_session(client, start, streams, fd, hint=PROMPT_HINT)
    except ApiError as err:
        if err.code == grpc.StatusCode.FAILED_PRECONDITION:
            return False
        raise
    return True


async def _follow_log(client: Client, namespace: str, name: str, streams: Streams, fd: int | None) -> None:
    """The container's log from its start until it ends, while ``fd`` (None: nothing) goes to its
    stdin."""
    feeding = None if fd is None else await _feed_stdin(client, namespace, name, fd)
    try:
        request = agent_pb2.LogsRequest(kind=POD.name, namespace=namespace, name=name, follow=True)
        async for lines in client.logs(request):
            for line in lines:
                streams.out.write(line + "\n")
            streams.out.flush()
    finally:
        if feeding is not None:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding


async def _feed_stdin(client: Client, namespace: str, name: str, fd: int) -> asyncio.Task[None] | None:
    """A task copying ``fd`` to the container's stdin through an attach session (whose output, the
    log followed here already, is drained); None when the container is no longer running."""
    start = access_pb2.SessionStart(capability=ATTACH, kind=POD.name, namespace=namespace, name=name, stdin=True)
    try:
        session = await client.open_session(start)
    except ApiError as err:
        if err.code == grpc.StatusCode.FAILED_PRECONDITION:  # it ended meanwhile: its log says what it did
            return None
        raise

    async def feed() -> None:
        async def drain() -> None:
            async for _ in session.output():
                pass

        draining = asyncio.create_task(drain())
        try:
            await copy_stdin(session, fd)
            await draining
        finally:
            draining.cancel()
            session.cancel()

    return asyncio.create_task(feed())


async def reached(
    client: Client, namespace: str, name: str, phases: tuple[str, ...], timeout: float, what: str
) -> pod_pb2.Pod:
    """The Pod once its phase is one of ``phases``; CliError when it is deleted first or after
    ``timeout`` seconds (``what`` it was waited for to do: "start")."""
    try:
        async with asyncio.timeout(timeout):
            async for state in states(client, POD, namespace, name):
                if state is None:
                    raise CliError(f"pod/{name} was deleted before it could {what}")
                pod: pod_pb2.Pod = kinds.unwrap(state)
                if pod.status.phase in phases:
                    return pod
    except TimeoutError:
        raise CliError(
            f"timed out after {timeout:g}s waiting for pod/{name} to {what} (atoll describe pod/{name} says why)"
        ) from None
    raise CliError(f"stopped following pod/{name} before it could {what}")


def exit_code(pod: pod_pb2.Pod) -> int:
    """The ended container's exit code (1 for a failed Pod without one)."""
    for status in pod.status.container_statuses:
        if status.state.HasField("terminated"):
            return int(status.state.terminated.exit_code)
    return EXIT_FAILED if pod.status.phase == "Failed" else EXIT_OK


async def _delete(client: Client, namespace: str, name: str, streams: Streams) -> None:
    try:
        await client.delete(POD.name, name, namespace)
    except ApiError as err:
        streams.error(server_error_line(err, client.server))
        return
    streams.error(f"pod/{name} deleted")

"""``atoll rollout status|history|undo|restart deploy/NAME``: follow, list, revert and restart
Deployment rollouts.

- status: waits (watching the Deployment) until the rollout finishes, printing kubectl's
  progress lines; exits 1 when the Deployment reports ProgressDeadlineExceeded or ``--timeout``
  passes.
- history: the revisions the Deployment keeps (``atoll.revisions``), oldest first.
- undo: puts the template of the previous revision (or ``--to-revision N``) back into the spec;
  the Deployment controller then rolls it out like any other change.
- restart: stamps the template with the time (``RESTARTED_AT_ANNOTATION``, kubectl's restartedAt),
  a new revision, so every replica is replaced by the Deployment's rolling update; refused for a
  paused Deployment (nothing would roll out), as kubectl refuses it.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

import yaml

from atoll.annotations import CHANGE_CAUSE_ANNOTATION, RESTARTED_AT_ANNOTATION
from atoll.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Streams,
    add_namespace_flags,
    add_server_flag,
    run_with_client,
)
from atoll.cli.duration import parse_duration
from atoll.cli.parser import examples
from atoll.cli.scale import add_target_arguments, modify, target_of
from atoll.client import Client
from atoll.kinds.readiness import rollout_progress
from atoll.manifest_codec import encode
from atoll.revisions import Revision, RevisionError, current_revision, history, resolve_revision, template_hash
from atoll.v1 import deployment_pb2
from atoll.watch_events import DELETED


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rollout", help="follow, list, undo or restart deployment rollouts", description="Manage Deployment rollouts.",
        **examples(
            "atoll rollout status deploy/web",
            "atoll rollout history deploy/web",
            "atoll rollout undo deploy/web --to-revision 2",
            "atoll rollout restart deploy/web",
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="wait until the rollout finishes, showing progress")
    status.add_argument(
        "--timeout",
        type=parse_duration,
        default=0.0,
        metavar="DURATION",
        help="give up after DURATION (30s, 2m; 0: never)",
    )
    status.add_argument("--no-watch", dest="watch", action="store_false", help="print the state once and exit")
    history_parser = actions.add_parser("history", help="list the revisions kept")
    history_parser.add_argument("--revision", type=int, default=0, metavar="N", help="show revision N in detail")
    undo = actions.add_parser("undo", help="roll back to the previous revision")
    undo.add_argument("--to-revision", type=int, default=0, metavar="N", help="roll back to revision N")
    restart_parser = actions.add_parser("restart", help="replace every replica with a new one (a new revision)")
    for sub in (status, history_parser, undo, restart_parser):
        add_target_arguments(sub)
        add_namespace_flags(sub)
        add_server_flag(sub, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    body = {"status": status, "history": show_history, "undo": undo, "restart": restart}[args.action]
    return run_with_client(args, lambda client, streams: body(client, args, streams))


def progress(deployment: deployment_pb2.Deployment) -> tuple[str, bool, bool]:
    """(message, done, failed) for one observed state, with kubectl's wording."""
    return rollout_progress(deployment)


async def status(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    kind, namespace, name = target_of(args, "Deployment")

    async def follow() -> int:
        last = ""
        deployment = (await client.get(kind.name, name, namespace)).deployment
        revision = deployment.metadata.resource_version
        while True:
            message, done, failed = progress(deployment)
            if message != last:
                (streams.err if failed else streams.out).write(("error: " if failed else "") + message + "\n")
                streams.out.flush()
                last = message
            if done or failed or not args.watch:
                return EXIT_FAILED if failed else EXIT_OK
            async for event in client.watch(
                kind.name, namespace, field_selector=f"metadata.name={name}", resource_version=revision
            ):
                revision = max(revision, event.resource_version)
                if event.type == DELETED:
                    raise CliError(f"deployment/{name} was deleted while waiting for its rollout")
                deployment = event.object.deployment
                break

    try:
        async with asyncio.timeout(args.timeout if args.timeout > 0 else None):
            return await follow()
    except TimeoutError:
        streams.error(f"error: timed out after {args.timeout:g}s waiting for deployment/{name} to roll out")
        return EXIT_FAILED


def summary(revision: Revision) -> str:
    template = revision.template
    if template.WhichOneof("kind") == "virtual_machine":
        spec = template.virtual_machine.spec
        return f"VirtualMachine {spec.vcpus} vCPU {spec.memory}"
    return "Pod " + ",".join(container.image for container in template.pod.spec.containers)


async def show_history(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    kind, namespace, name = target_of(args, "Deployment")
    deployment = (await client.get(kind.name, name, namespace)).deployment
    revisions = history(deployment)
    if args.revision:
        try:
            found = resolve_revision(deployment, args.revision)
        except RevisionError as exc:
            raise CliError(str(exc)) from None
        streams.out.write(f"deployment/{name} revision {found.number} (hash {found.template_hash}):\n")
        streams.out.write(_indent(encode(found.template)))
        return EXIT_OK
    current = current_revision(deployment)
    cause = deployment.metadata.annotations.get(CHANGE_CAUSE_ANNOTATION, "<none>")
    rows = [["REVISION", "HASH", "TEMPLATE", "CHANGE-CAUSE"]]
    for revision in revisions:
        rows.append([str(revision.number), revision.template_hash, summary(revision),
                     cause if revision.number == current else "<none>"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    streams.out.write(f"deployment/{name}\n")
    for row in rows:
        streams.out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    return EXIT_OK


async def undo(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    kind, namespace, name = target_of(args, "Deployment")
    deployment = (await client.get(kind.name, name, namespace)).deployment
    try:
        target = resolve_revision(deployment, args.to_revision)
    except RevisionError as exc:
        raise CliError(str(exc)) from None
    if template_hash(deployment.spec.template) == target.template_hash:
        same = f"the template already equals revision {target.number}"
        streams.out.write(f"deployment/{name} skipped rollback ({same})\n")
        return EXIT_OK

    def restore(current: Any) -> None:
        current.spec.template.CopyFrom(target.template)

    await modify(client, kind, namespace, name, restore)
    streams.out.write(f"deployment/{name} rolled back to revision {target.number}\n")
    return EXIT_OK


async def restart(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    kind, namespace, name = target_of(args, "Deployment")
    stamp = datetime.fromtimestamp(streams.now(), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def stamped(current: Any) -> None:
        if current.spec.paused:
            raise CliError(f"deployment/{name} is paused: nothing would roll out (unpause it first)")
        template = current.spec.template
        field = template.WhichOneof("kind")
        if field is None:
            raise CliError(f"deployment/{name} has no template to restart")
        getattr(template, field).metadata.annotations[RESTARTED_AT_ANNOTATION] = stamp

    await modify(client, kind, namespace, name, stamped)
    streams.out.write(f"deployment/{name} restarted\n")
    return EXIT_OK


def _indent(value: Any) -> str:
    return "".join(f"  {line}\n" for line in yaml.safe_dump(value, sort_keys=False).splitlines())

"""``atoll run NAME --image=IMG [-- ARG...]``: create one Pod running IMG, as ``kubectl run`` does.

The Pod is labelled ``run=NAME`` (``--labels`` replaces that), its one container is called NAME;
words after ``--`` are the container's args, or its command and args with ``--command``.
``--restart`` is the Pod's restart policy (Always by default). ``--expose`` also creates a
ClusterIP Service NAME selecting the Pod on ``--port`` (created first, as kubectl does, and
deleted again when the Pod is refused). ``-i`` gives the container stdin
and attaches to it once it runs, ``--rm`` then deletes the Pod (run_attach.py). ``-t`` (with
``-i``, as kubectl requires) also gives it a terminal (``tty: true``) and attaches to that, as
``atoll attach -it`` does: ``atoll run -it --rm demo --image=busybox -- sh`` is a shell with a prompt.
"""

from __future__ import annotations

import argparse
from typing import Any

from atoll import kinds
from atoll.cli import builders, flag_values
from atoll.cli.common import CliError, Streams
from atoll.cli.creating import add_creation_flags, create_built, namespace_for
from atoll.cli.duration import parse_duration
from atoll.cli.parser import examples
from atoll.client import Client
from atoll.v1 import object_pb2, service_pb2
from atoll.validation.pod import IMAGE_PULL_POLICIES, RESTART_POLICIES

DEFAULT_RUNNING_TIMEOUT = 60.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="create a pod running one image",
        description="Create a Pod NAME with one container running IMAGE (labelled run=NAME).",
        **examples(
            "atoll run web --image=nginx --port=80",
            "atoll run web --image=nginx --port=80 --expose",
            "atoll run job --image=busybox --restart=Never -- sh -c 'echo hi'",
            "atoll run shell --image=busybox --command -- sleep 3600",
            "atoll run api --image=app:1.2 --env=MODE=prod --labels=app=api,tier=back -n prod",
            "atoll run web --image=nginx --dry-run=client -o yaml",
            "atoll run -i --rm --restart=Never shell --image=busybox --command -- sh",
            "atoll run -it --rm demo --image=busybox -- sh",
        ),
    )
    parser.add_argument("name", metavar="NAME", help="the pod's name")
    parser.add_argument(
        "container_args", metavar="ARG", nargs="*", help="after --: the container's args (command with --command)"
    )
    parser.add_argument(
        "--image", type=flag_values.image, required=True, metavar="IMAGE", help="the image the container runs"
    )
    parser.add_argument("--port", type=flag_values.port, default=0, metavar="N", help="the port the container exposes")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="an environment variable (repeatable)"
    )
    parser.add_argument("-l", "--labels", default="", metavar="K=V,...", help="the pod's labels (default run=NAME)")
    parser.add_argument(
        "--restart",
        choices=RESTART_POLICIES,
        default="Always",
        metavar="|".join(RESTART_POLICIES),
        help="the pod's restart policy (default Always)",
    )
    parser.add_argument("--command", action="store_true", help="the words after -- are the command, not args")
    parser.add_argument(
        "--expose", action="store_true", help="also create a ClusterIP Service NAME selecting the pod (needs --port)"
    )
    parser.add_argument(
        "--image-pull-policy",
        choices=IMAGE_PULL_POLICIES,
        default="",
        metavar="|".join(IMAGE_PULL_POLICIES),
        help="when the node pulls the image (default: the server's)",
    )
    parser.add_argument(
        "-i", "--stdin", action="store_true", help="attach once it runs: send stdin, print its output (atoll attach -i)"
    )
    parser.add_argument("--rm", action="store_true", help="with -i: delete the pod when the session ends")
    parser.add_argument(
        "--pod-running-timeout",
        type=parse_duration,
        default=DEFAULT_RUNNING_TIMEOUT,
        metavar="DURATION",
        help="with -i: how long to wait for the pod to start (default 1m)",
    )
    parser.add_argument(
        "-t", "--tty", action="store_true", help="with -i: give the container a terminal and attach to it (tty: true)"
    )
    add_creation_flags(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    async def attached(client: Client, created: object_pb2.Object, streams: Streams) -> int:
        from atoll.cli.run_attach import run_attached  # deferred: only -i needs sessions

        return await run_attached(client, created, args, streams)

    return create_built(args, lambda: build(args), then=attached if args.stdin else None)


def build(args: argparse.Namespace) -> list[object_pb2.Object]:
    """The Pod the flags describe, after the Service in front of it with ``--expose`` (kubectl's
    order); CliError for a flag that cannot make them."""
    pod = build_pod(args)
    if not args.expose:
        return [pod]
    if not args.port:
        raise CliError("--expose needs --port: the port the Service and the container share")
    if args.stdin:
        raise CliError("--expose does not go with -i: create the Service with atoll expose pod/NAME")
    labels = kinds.unwrap(pod).metadata.labels
    port = service_pb2.ServicePort(port=args.port)
    service = builders.service(
        args.name, namespace_for(args), [port], selector=labels, labels=labels, service_type="ClusterIP"
    )
    return [service, pod]


def build_pod(args: argparse.Namespace) -> object_pb2.Object:
    """The Pod the flags describe; CliError for a flag that cannot make one."""
    if args.tty and not args.stdin:
        raise CliError("-t gives the container a terminal to attach to: use it with -i (atoll run -it ...)")
    if args.rm and not args.stdin:
        raise CliError("--rm deletes the pod when an attached session ends: use it with -i")
    if args.stdin and (args.dry_run != "none" or args.output is not None):
        raise CliError("-i attaches to the pod it creates: it does not go with --dry-run or -o")
    words = tuple(args.container_args)
    if args.command and not words:
        raise CliError("--command needs the command after --, e.g. atoll run NAME --image=IMG --command -- sleep 60")
    container = builders.ContainerFlags(
        image=args.image,
        port=args.port,
        env=flag_values.env(args.env),
        command=words if args.command else (),
        args=() if args.command else words,
        image_pull_policy=args.image_pull_policy,
        stdin=args.stdin,
        tty=args.tty,
    )
    labels = flag_values.labels(args.labels, "--labels") if args.labels else {}
    return builders.run_pod(args.name, namespace_for(args), container, labels=labels, restart_policy=args.restart)

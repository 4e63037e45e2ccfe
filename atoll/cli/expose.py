"""``atoll expose deploy/NAME|pod/NAME|svc/NAME|vm/NAME [--port=N] [--target-port=M] [--name S]``:
create a Service in front of an existing object, as ``kubectl expose`` (and ``virtctl expose``) do.

- selector: a Deployment's ``spec.selector`` (only ``matchLabels``: a Service cannot select by
  expressions, so such a selector is refused unless ``--selector`` is given), a Pod's or a
  VirtualMachine's labels, a Service's selector (each kind's ``exposure``, atoll/kinds/);
- ports: ``--port`` (leading to ``--target-port``, default the same number), else every port the
  object declares (a pod's or the pod template's container ports, a Service's ports);
- labels: ``--labels``, else the exposed object's own; name: ``--name``, else the object's.
The object is read, the Service created through the normal Create; nothing else is written.
"""

from __future__ import annotations

import argparse
from typing import Any

from atoll import kinds
from atoll.cli import builders, flag_values
from atoll.cli.common import CliError
from atoll.cli.creating import add_creation_flags, create_read, namespace_for
from atoll.cli.parser import examples
from atoll.cli.targets import kind_requests
from atoll.client import Client
from atoll.kinds.exposure import Exposure
from atoll.service_ports import target_port_problem
from atoll.user_text import bounded, bounded_repr
from atoll.v1 import object_pb2, service_pb2
from atoll.validation.service import SERVICE_PROTOCOLS, SERVICE_TYPES


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "expose",
        help="create a service in front of a deployment, pod, service or VM",
        description="Create a Service selecting what a deployment selects, or a pod's or VM's labels.",
        **examples(
            "atoll expose deploy/web --port=80 --target-port=8080",
            "atoll expose deployment web --port=80 --name=web-front -n prod",
            "atoll expose pod/api --port=443 --target-port=https",
            "atoll expose vm/db --port=5432",
            "atoll expose deploy/web --dry-run=client -o yaml",
        ),
    )
    parser.add_argument(
        "target", metavar="KIND/NAME", help="deploy/NAME, pod/NAME, svc/NAME or vm/NAME (or: KIND NAME)"
    )
    parser.add_argument("target_name", metavar="NAME", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=flag_values.port, default=0, metavar="N", help="the Service's port")
    parser.add_argument(
        "--target-port", default="", metavar="PORT", help="the pods' port (a number or a port name; default --port)"
    )
    parser.add_argument(
        "--protocol", choices=SERVICE_PROTOCOLS, default="TCP", help="the port's protocol (default TCP)"
    )
    parser.add_argument("--name", default="", metavar="NAME", help="the Service's name (default: the object's)")
    parser.add_argument("--type", choices=SERVICE_TYPES, default="ClusterIP", help="the Service's type")
    parser.add_argument(
        "--cluster-ip", default="", metavar="IP|None", help="the cluster IP (default: allocated; None: headless)"
    )
    parser.add_argument("--selector", default="", metavar="K=V,...", help="select these labels instead")
    parser.add_argument(
        "-l", "--labels", default="", metavar="K=V,...", help="the Service's labels (default: the object's)"
    )
    add_creation_flags(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return create_read(args, lambda client: build(client, args))


def target_of(args: argparse.Namespace) -> tuple[kinds.Kind, str]:
    """The one object ``KIND/NAME`` or ``KIND NAME`` names (targets.py's rules); CliError otherwise."""
    names = [args.target_name] if args.target_name else []
    if "/" not in args.target and not names:
        raise CliError(f"give the object to expose as KIND/NAME, e.g. deploy/{bounded(args.target, 100)}")
    requests = kind_requests(args.target, names, "expose")
    if len(requests) != 1 or len(requests[0].names) != 1:
        raise CliError("expose one object at a time")
    return requests[0].kind, requests[0].names[0]


async def build(client: Client, args: argparse.Namespace) -> object_pb2.Object:
    """The Service for the object ``args`` names, read from the server (NotFound: ApiError)."""
    kind, name = target_of(args)
    namespace = namespace_for(args)
    exposed = kinds.unwrap(await client.get(kind.name, name, namespace))
    exposure = kind.exposure(exposed)
    if exposure is None:
        raise CliError(f"cannot expose a {kind.singular}: expose a deployment, pod, service or VM")
    what = f"{kind.singular}/{name}"
    selector = flag_values.labels(args.selector, "--selector") if args.selector else selector_of(exposure, what)
    labels = flag_values.labels(args.labels, "--labels") if args.labels else dict(exposed.metadata.labels)
    return builders.service(
        args.name or name,
        namespace,
        ports_for(args, exposure, what),
        selector=selector,
        labels=labels,
        service_type=args.type,
        cluster_ip=args.cluster_ip,
    )


def selector_of(exposure: Exposure, what: str) -> dict[str, str]:
    """The labels a Service selects to reach what the object runs (CliError when it cannot)."""
    if exposure.problem:
        raise CliError(f"{what}: {exposure.problem}; give --selector")
    if not exposure.selector:
        raise CliError(f"{what} has no labels a Service could select by; give --selector")
    return dict(exposure.selector)


def ports_for(args: argparse.Namespace, exposure: Exposure, what: str) -> list[service_pb2.ServicePort]:
    """``--port`` (to ``--target-port``), else the ports the object declares; CliError when none."""
    problem = target_port_problem(args.target_port)
    if problem:
        raise CliError(f"--target-port {bounded_repr(args.target_port)}: {problem}")
    if args.port:
        return [service_pb2.ServicePort(port=args.port, target_port=args.target_port, protocol=args.protocol)]
    if args.target_port:
        raise CliError("--target-port needs --port")
    if not exposure.ports:
        raise CliError(f"{what} declares no ports; give --port")
    return list(exposure.ports)

"""``atoll create deployment|namespace|configmap|secret ...|service clusterip NAME ...``: create
one object from flags, as ``kubectl create`` does (the objects: builders.py; ConfigMap and Secret
data: data_sources.py; Secrets: create_secret.py; the write and ``--dry-run``/``-o``: creating.py)."""

from __future__ import annotations

import argparse
from typing import Any

from atoll.cli import builders, data_sources, flag_values
from atoll.cli.common import CliError
from atoll.cli.create_secret import add_secret_parser
from atoll.cli.creating import add_creation_flags, create_built, namespace_for
from atoll.cli.parser import examples
from atoll.service_ports import target_port_problem
from atoll.user_text import bounded_repr
from atoll.v1 import object_pb2, service_pb2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "create",
        help="create a deployment, namespace, configmap, secret or service from flags",
        description="Create one object from flags (atoll apply -f creates from manifests).",
        **examples(
            "atoll create deployment web --image=nginx --replicas=3 --port=80",
            "atoll create namespace prod",
            "atoll create configmap app --from-file=conf/ --from-literal=mode=prod",
            "atoll create secret generic db --from-env-file=db.env",
            "atoll create service clusterip web --tcp=80:8080",
        ),
    )
    objects = parser.add_subparsers(dest="object_kind", metavar="KIND", required=True)
    _deployment(objects)
    _namespace(objects)
    _config_map(objects)
    add_secret_parser(objects)
    _service(objects)


def _deployment(objects: Any) -> None:
    parser = objects.add_parser(
        "deployment",
        aliases=["deploy"],
        help="a deployment of pods running one or more images",
        description="Create a Deployment NAME (labels and selector app=NAME), one container per --image.",
        **examples(
            "atoll create deployment web --image=nginx",
            "atoll create deployment web --image=nginx --image=redis --replicas=3 --port=80 -n prod",
            "atoll create deployment sleeper --image=busybox -- sleep 3600",
        ),
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("command", metavar="COMMAND", nargs="*", help="after --: the containers' command and args")
    parser.add_argument(
        "--image",
        type=flag_values.image,
        action="append",
        required=True,
        metavar="IMAGE",
        help="an image to run (repeatable: one container each)",
    )
    parser.add_argument("--replicas", type=int, default=1, metavar="N", help="the number of pods (default 1)")
    parser.add_argument(
        "--port", type=flag_values.port, default=0, metavar="N", help="the port the (first) container exposes"
    )
    add_creation_flags(parser)
    parser.set_defaults(run=lambda args: create_built(args, lambda: build_deployment(args)))


def build_deployment(args: argparse.Namespace) -> object_pb2.Object:
    if args.replicas < 0:
        raise CliError(f"--replicas must not be negative, got {args.replicas}")
    return builders.deployment(
        args.name, namespace_for(args), args.image, replicas=args.replicas, port=args.port, command=args.command
    )


def _namespace(objects: Any) -> None:
    parser = objects.add_parser(
        "namespace",
        aliases=["ns"],
        help="a namespace",
        description="Create a Namespace NAME.",
        **examples("atoll create namespace prod"),
    )
    parser.add_argument("name", metavar="NAME")
    add_creation_flags(parser)
    parser.set_defaults(run=lambda args: create_built(args, lambda: builders.namespace(args.name)))


def _config_map(objects: Any) -> None:
    parser = objects.add_parser(
        "configmap",
        aliases=["cm"],
        help="a configmap from literals, files, directories or env files",
        description="Create a ConfigMap NAME; UTF-8 values go to data, other bytes to binaryData.",
        **examples(
            "atoll create configmap app --from-literal=mode=prod --from-literal=level=debug",
            "atoll create configmap app --from-file=conf/ --from-file=main=app.ini",
            "atoll create configmap app --from-env-file=app.env -n prod",
        ),
    )
    data_sources.add_data_flags(parser, "configmap")
    add_creation_flags(parser)

    def build(args: argparse.Namespace) -> object_pb2.Object:
        entries = data_sources.gather(args.from_literal, args.from_file, args.from_env_file)
        return builders.config_map(args.name, namespace_for(args), entries)

    parser.set_defaults(run=lambda args: create_built(args, lambda: build(args)))


def _service(objects: Any) -> None:
    parser = objects.add_parser(
        "service",
        aliases=["svc"],
        help="a service (clusterip)",
        description="Create a Service; atoll create service clusterip NAME --tcp=PORT[:TARGET]",
        **examples("atoll create service clusterip web --tcp=80:8080"),
    )
    types = parser.add_subparsers(dest="service_kind", metavar="TYPE", required=True)
    cluster_ip = types.add_parser(
        "clusterip",
        help="a ClusterIP service selecting app=NAME",
        description="Create a ClusterIP Service NAME selecting the pods labelled app=NAME.",
        **examples(
            "atoll create service clusterip web --tcp=80:8080",
            "atoll create service clusterip web --tcp=80 --tcp=443:8443 -n prod",
            "atoll create service clusterip db --tcp=5432 --clusterip=None",
        ),
    )
    cluster_ip.add_argument("name", metavar="NAME")
    cluster_ip.add_argument(
        "--tcp",
        action="append",
        required=True,
        metavar="PORT[:TARGET]",
        help="a port and the pods' port it leads to (a number or a port name; repeatable)",
    )
    cluster_ip.add_argument(
        "--clusterip", default="", metavar="IP|None", help="the cluster IP (default: allocated; None: headless)"
    )
    add_creation_flags(cluster_ip)

    def build(args: argparse.Namespace) -> object_pb2.Object:
        ports = [tcp_port(text) for text in args.tcp]
        labels = {"app": args.name}
        return builders.service(
            args.name,
            namespace_for(args),
            ports,
            selector=labels,
            labels=labels,
            service_type="ClusterIP",
            cluster_ip=args.clusterip,
        )

    cluster_ip.set_defaults(run=lambda args: create_built(args, lambda: build(args)))


def tcp_port(text: str) -> service_pb2.ServicePort:
    """``PORT`` or ``PORT:TARGET`` (TARGET a number or a container port's name)."""
    port_text, _, target = text.partition(":")
    try:
        port = flag_values.port(port_text)
    except argparse.ArgumentTypeError as err:
        raise CliError(f"--tcp {bounded_repr(text)}: the port {err}") from None
    problem = target_port_problem(target)
    if problem:
        raise CliError(f"--tcp {bounded_repr(text)}: the target {problem}")
    return service_pb2.ServicePort(port=port, target_port=target, protocol="TCP")

"""The objects the imperative verbs (``run``, ``create``, ``expose``) build from their flags, shaped
as kubectl builds them for the same flags. Pure: values in (already parsed), one message out; the
API server validates and defaults them on Create like any manifest.

What kubectl does, and so what these do:
- ``run NAME``: a Pod labelled ``run=NAME`` (or the ``--labels`` given instead), one container
  called NAME; the words after ``--`` are the container's args, or its command with ``--command``.
- ``create deployment NAME``: labels, selector and template labels ``app=NAME``; one container
  per image, named after the image (its last path component, without tag or digest).
- ``create configmap``: text that is UTF-8 goes to ``data``, other bytes to ``binaryData``.
- ``create service clusterip NAME``: selector and labels ``app=NAME``.
- A Service port is named only when there are several (kubectl names them ``PORT-TARGET``, which
  atoll's port names, IANA service names with a letter, refuse; ``tcp-PORT`` is used instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from atoll import kinds
from atoll.v1 import (
    config_pb2,
    deployment_pb2,
    meta_pb2,
    namespace_pb2,
    object_pb2,
    pod_pb2,
    scheduling_pb2,
    service_pb2,
)


@dataclass(frozen=True)
class ContainerFlags:
    """What ``run`` and ``create deployment`` say about a container."""

    image: str
    port: int = 0
    env: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    image_pull_policy: str = ""
    stdin: bool = False
    tty: bool = False


def meta(name: str, namespace: str, labels: Mapping[str, str] | None = None) -> meta_pb2.ObjectMeta:
    return meta_pb2.ObjectMeta(name=name, namespace=namespace, labels=dict(labels or {}))


def container(name: str, flags: ContainerFlags) -> pod_pb2.Container:
    built = pod_pb2.Container(
        name=name,
        image=flags.image,
        command=list(flags.command),
        args=list(flags.args),
        env=[pod_pb2.EnvVar(name=key, value=value) for key, value in flags.env],
        image_pull_policy=flags.image_pull_policy,
        stdin=flags.stdin,
        tty=flags.tty,
    )
    if flags.port:
        built.ports.append(pod_pb2.ContainerPort(container_port=flags.port))
    return built


def run_pod(
    name: str, namespace: str, flags: ContainerFlags, *, labels: Mapping[str, str], restart_policy: str
) -> object_pb2.Object:
    """``atoll run``'s Pod; ``labels`` empty means kubectl's default ``run=NAME``."""
    pod = pod_pb2.Pod(
        metadata=meta(name, namespace, labels or {"run": name}),
        spec=pod_pb2.PodSpec(containers=[container(name, flags)], restart_policy=restart_policy),
    )
    return kinds.by_name("Pod").wrap(pod)


def container_name_for_image(image: str) -> str:
    """kubectl's container name for an image: the last path component without tag or digest
    (``registry:5000/team/web:1.2`` -> ``web``), ``_`` made ``-``, lowercase."""
    without_digest = image.partition("@")[0]
    last = without_digest.rsplit("/", 1)[-1]
    return last.partition(":")[0].replace("_", "-").lower()


def deployment(
    name: str, namespace: str, images: Sequence[str], *, replicas: int, port: int, command: Sequence[str] = ()
) -> object_pb2.Object:
    """``atoll create deployment``'s Deployment: ``app=NAME`` everywhere; ``command`` in every
    container, ``port`` on the first only (both as kubectl does); two images with one name get
    ``-2``, ``-3`` suffixes (kubectl: a random one)."""
    labels = {"app": name}
    containers = []
    taken: set[str] = set()
    for index, image in enumerate(images):
        base = container_name_for_image(image)
        container_name, suffix = base, 1
        while container_name in taken:
            suffix += 1
            container_name = f"{base}-{suffix}"
        taken.add(container_name)
        flags = ContainerFlags(image=image, port=port if index == 0 else 0, command=tuple(command))
        containers.append(container(container_name, flags))
    template = pod_pb2.PodTemplate(
        metadata=meta_pb2.ObjectMeta(labels=labels), spec=pod_pb2.PodSpec(containers=containers)
    )
    built = deployment_pb2.Deployment(
        metadata=meta(name, namespace, labels),
        spec=deployment_pb2.DeploymentSpec(
            replicas=replicas,
            selector=scheduling_pb2.LabelSelector(match_labels=labels),
            template=deployment_pb2.WorkloadTemplate(pod=template),
        ),
    )
    return kinds.by_name("Deployment").wrap(built)


def namespace(name: str) -> object_pb2.Object:
    return kinds.by_name("Namespace").wrap(namespace_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name=name)))


def config_map(name: str, namespace: str, entries: Mapping[str, bytes]) -> object_pb2.Object:
    """UTF-8 values as ``data``, the others as ``binaryData`` (kubectl's rule)."""
    built = config_pb2.ConfigMap(metadata=meta(name, namespace))
    for key, value in entries.items():
        try:
            built.data[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            built.binary_data[key] = value
    return kinds.by_name("ConfigMap").wrap(built)


def secret(name: str, namespace: str, entries: Mapping[str, bytes], *, secret_type: str) -> object_pb2.Object:
    """Values as bytes in ``data`` (a manifest shows them base64, as the API does)."""
    built = config_pb2.Secret(metadata=meta(name, namespace), type=secret_type, data=dict(entries))
    return kinds.by_name("Secret").wrap(built)


def service(
    name: str,
    namespace: str,
    ports: Sequence[service_pb2.ServicePort],
    *,
    selector: Mapping[str, str],
    labels: Mapping[str, str],
    service_type: str,
    cluster_ip: str = "",
) -> object_pb2.Object:
    """A Service of ``service_type`` (ClusterIP; ``cluster_ip`` empty: the server allocates one,
    ``None``: headless) with
    copies of ``ports``: a target port left empty is written out as the port (as kubectl does),
    protocol TCP unless given, names ``tcp-PORT`` when there are several."""
    built = service_pb2.Service(
        metadata=meta(name, namespace, labels),
        spec=service_pb2.ServiceSpec(selector=dict(selector), type=service_type, cluster_ip=cluster_ip),
    )
    for given in ports:
        port = built.spec.ports.add()
        port.CopyFrom(given)
        port.protocol = port.protocol or "TCP"
        port.target_port = port.target_port or str(port.port)
        port.name = f"{port.protocol.lower()}-{port.port}" if len(ports) > 1 else ""
    return kinds.by_name("Service").wrap(built)

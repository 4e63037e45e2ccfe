"""ConfigMap and Secret fixtures, and a pod that uses them (volumes, envFrom, valueFrom)."""

from __future__ import annotations

from atoll.v1 import config_pb2, object_pb2
from tests.support.objects import make_pod


def make_config_map(name: str = "web-config", namespace: str = "default", **data: str) -> object_pb2.Object:
    config_map = config_pb2.ConfigMap(data=data or {"index.html": "hello"})
    config_map.metadata.name = name
    config_map.metadata.namespace = namespace
    return object_pb2.Object(config_map=config_map)


def make_secret(name: str = "db", namespace: str = "default", **data: bytes) -> object_pb2.Object:
    secret = config_pb2.Secret(data=data or {"password": b"hunter2"})
    secret.metadata.name = name
    secret.metadata.namespace = namespace
    return object_pb2.Object(secret=secret)


def make_pod_using(
    name: str = "web", namespace: str = "default", *, config_map: str = "web-config", secret: str = "db"
) -> object_pb2.Object:
    """A pod mounting ``config_map`` at /etc/web and reading PASSWORD from ``secret``'s password."""
    obj = make_pod(name, namespace)
    spec = obj.pod.spec
    spec.volumes.add(name="config", config_map=config_pb2.ConfigMapVolumeSource(name=config_map))
    container = spec.containers[0]
    container.volume_mounts.add(name="config", mount_path="/etc/web", read_only=True)
    container.env.add(
        name="PASSWORD",
        value_from=config_pb2.EnvVarSource(secret_key_ref=config_pb2.ObjectKeySelector(name=secret, key="password")),
    )
    return obj


def with_host_path(obj: object_pb2.Object, path: str = "/var/log") -> object_pb2.Object:
    obj.pod.spec.volumes.add(name="host", host_path=config_pb2.HostPathVolumeSource(path=path))
    obj.pod.spec.containers[0].volume_mounts.add(name="host", mount_path="/host", read_only=True)
    return obj




"""What a workload references besides itself: the ConfigMaps and Secrets a pod's volumes and
environment read, the Secret a VM's cloud-init data comes from, and the host paths a pod mounts.
One rule for the API server (the node authorizer lets a node read exactly these, for the
workloads bound to it; hostPath needs its own permission) and the agent (what it fetches and
watches for a pod)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atoll.v1 import pod_pb2, virtualmachine_pb2

CONFIG_MAP = "ConfigMap"
SECRET = "Secret"


@dataclass(frozen=True)
class References:
    """Names (in the pod's namespace) of the ConfigMaps and Secrets a pod spec reads."""

    config_maps: frozenset[str]
    secrets: frozenset[str]

    def names(self, kind: str) -> frozenset[str]:
        """The names of ``kind`` (``ConfigMap`` or ``Secret``); empty for any other kind."""
        if kind == CONFIG_MAP:
            return self.config_maps
        if kind == SECRET:
            return self.secrets
        return frozenset()


def references(spec: pod_pb2.PodSpec) -> References:
    config_maps: set[str] = set()
    secrets: set[str] = set()
    for volume in spec.volumes:
        source = volume.WhichOneof("source")
        if source == "config_map":
            config_maps.add(volume.config_map.name)
        elif source == "secret":
            secrets.add(volume.secret.secret_name)
    for container in spec.containers:
        for variable in container.env:
            if variable.HasField("value_from"):
                selector = variable.value_from
                if selector.HasField("config_map_key_ref"):
                    config_maps.add(selector.config_map_key_ref.name)
                elif selector.HasField("secret_key_ref"):
                    secrets.add(selector.secret_key_ref.name)
        for entry in container.env_from:
            if entry.HasField("config_map_ref"):
                config_maps.add(entry.config_map_ref.name)
            elif entry.HasField("secret_ref"):
                secrets.add(entry.secret_ref.name)
    secrets.update(reference.name for reference in spec.image_pull_secrets)  # registry credentials for pulls
    return References(frozenset(config_maps), frozenset(secrets))


def vm_references(spec: virtualmachine_pb2.VirtualMachineSpec) -> References:
    secret = spec.cloud_init.secret_name
    return References(frozenset(), frozenset({secret} if secret else ()))


def workload_references(workload: Any) -> References:
    """The references of a Pod or VirtualMachine (by its spec's shape)."""
    if isinstance(workload.spec, virtualmachine_pb2.VirtualMachineSpec):
        return vm_references(workload.spec)
    return references(workload.spec)


def host_paths(spec: pod_pb2.PodSpec) -> list[str]:
    """The node paths the pod's hostPath volumes mount, in spec order."""
    return [volume.host_path.path for volume in spec.volumes if volume.HasField("host_path")]

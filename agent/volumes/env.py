"""A container's environment from its ConfigMap and Secret sources, resolved when it starts (as
kubelet does: a restart picks up changed values, a running container keeps its own).

Order as Kubernetes: every ``envFrom`` source in turn (prefix + key), then ``env`` in order
(``value`` or ``valueFrom``), later names winning. A missing object or key is a ConfigError
(the container waits, CreateContainerConfigError) unless its reference is optional.
"""

from __future__ import annotations

from agent.volumes.payload import ConfigError, object_data
from agent.volumes.sources import ConfigObjects
from atoll.pod_references import CONFIG_MAP, SECRET
from atoll.user_text import bounded_repr
from atoll.v1 import pod_pb2


def describe(kind: str, name: str) -> str:
    return f"{kind.lower()} {bounded_repr(name)}"


async def resolve_env(container: pod_pb2.Container, objects: ConfigObjects) -> tuple[tuple[str, str], ...]:
    env: dict[str, str] = {}
    for entry in container.env_from:
        kind, reference = (CONFIG_MAP, entry.config_map_ref) if entry.HasField("config_map_ref") else (
            SECRET, entry.secret_ref)
        found = await objects.get(kind, reference.name, fresh=True)
        if found is None:
            if reference.optional:
                continue
            raise ConfigError(f"envFrom: {describe(kind, reference.name)} not found")
        for key, value in object_data(found).items():
            env[entry.prefix + key] = value.decode(errors="replace")
    for variable in container.env:
        if not variable.HasField("value_from"):
            env[variable.name] = variable.value
            continue
        source = variable.value_from
        kind, selector = (CONFIG_MAP, source.config_map_key_ref) if source.HasField("config_map_key_ref") else (
            SECRET, source.secret_key_ref)
        found = await objects.get(kind, selector.name, fresh=True)
        data = object_data(found) if found is not None else None
        if data is None or selector.key not in data:
            if selector.optional:
                continue
            missing = "not found" if data is None else f"has no key {bounded_repr(selector.key)}"
            raise ConfigError(f"env {variable.name}: {describe(kind, selector.name)} {missing}")
        env[variable.name] = data[selector.key].decode(errors="replace")
    return tuple(env.items())

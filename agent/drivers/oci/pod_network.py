"""The OCI driver's side of pod sandboxes: the node's NodeSandboxes behind the driver's
``PodSandboxes`` ability, with its errors in the driver protocol's terms (no pod CIDR yet ->
NetworkNotReadyError; a CNI plugin or namespace failure -> SandboxError with the plugin's words),
and where a container finds its pod's namespaces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.drivers.abilities import SandboxConfig
from agent.drivers.protocol import NetworkNotReadyError, SandboxError, StartError, TaskConfig
from agent.network.address_pool import NoPodCidrError
from agent.network.cni import CniError, PortMapping
from agent.network.netns import NetnsError
from agent.network.sandboxes import NodeSandboxes, SandboxSpec


def sandbox_spec(config: SandboxConfig) -> SandboxSpec:
    ports = tuple(PortMapping(p.host_port, p.container_port, p.protocol.lower() or "tcp", p.host_ip)
                  for p in config.host_ports)
    return SandboxSpec(config.workload_uid, config.namespace, config.name, ports)


async def run_sandbox(sandboxes: NodeSandboxes | None, config: SandboxConfig) -> str:
    if sandboxes is None:
        return ""
    try:
        return (await sandboxes.ensure(sandbox_spec(config))).ip
    except NoPodCidrError as err:
        raise NetworkNotReadyError(str(err)) from None
    except (CniError, NetnsError) as err:
        raise SandboxError(str(err)) from None


async def remove_sandbox(sandboxes: NodeSandboxes | None, uid: str) -> None:
    if sandboxes is None:
        return
    try:
        await sandboxes.remove(uid)
    except (CniError, NetnsError) as err:
        raise SandboxError(str(err)) from None


async def remove_orphans(sandboxes: NodeSandboxes | None, is_live: Callable[[str], bool]) -> list[str]:
    if sandboxes is None:
        return []
    try:
        return await sandboxes.sweep(is_live)
    except (CniError, NetnsError) as err:
        raise SandboxError(str(err)) from None


def namespaces_for(sandboxes: NodeSandboxes | None, config: TaskConfig) -> dict[str, Path]:
    """The namespaces the container joins, by OCI type: its pod's network, UTS and IPC namespaces
    (StartError when the pod has no sandbox yet), or none for hostNetwork pods and drivers without
    a pod network (namespaces of its own)."""
    if sandboxes is None or config.host_network:
        return {}
    sandbox = sandboxes.get(config.workload_uid)
    if sandbox is None:
        raise StartError(f"pod {config.workload} has no sandbox yet: the agent makes it before the first container")
    return sandbox.namespaces()


def pod_ip(sandboxes: NodeSandboxes | None, uid: str) -> str:
    sandbox = sandboxes.get(uid) if sandboxes is not None else None
    return sandbox.ip if sandbox is not None else ""

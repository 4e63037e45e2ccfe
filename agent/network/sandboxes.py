"""NodeSandboxes: one network namespace per pod on the node's CNI network, held for the pod's life.

Life of a sandbox (Kubernetes' RunPodSandbox / StopPodSandbox, one record per pod)::

    ensure(spec) ─> record "pending" ─> namespaces pinned ─> CNI ADD ─> record + result
       │ (again: the same sandbox, nothing re-ADDed, also after an agent restart: records are files)
    remove(uid)  ─> CNI DEL with the ADD's result ─> namespaces unpinned ─> record deleted

A sandbox is three namespaces its containers share, as a Kubernetes pod's: network (pinned at
NETNS_DIR/UID), UTS (one hostname, at NETNS_DIR/../uts/UID) and IPC (at NETNS_DIR/../ipc/UID).

Every step is safe to repeat after a crash at any point: ``ensure`` finds a pending record (killed
mid-ADD) or a record whose namespace vanished (the host rebooted), DELs it and starts over;
``remove`` of what is gone succeeds. ``sweep`` is the teardown for a node that was down: records,
pinned namespaces and host-local reservations of workloads that are no longer on the node.

Errors: NoPodCidrError (the node has no pod CIDR yet: nothing was made), CniError (a plugin
failed: nothing is left attached), NetnsError. Calls for one pod are serialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.network.cni.conflist import PortMapping
from agent.network.cni.network import NodeCniNetwork
from agent.network.cni.result import CniResult, parse_result
from agent.network.netns import create_namespaces, netns_exists, remove_netns
from atoll.atomic_file import write_atomic

log = logging.getLogger(__name__)
OCI_TYPES = {"net": "network", "uts": "uts", "ipc": "ipc"}


@dataclass(frozen=True)
class SandboxSpec:
    """What a pod's sandbox is made from: the pod's uid (also its CNI container id), its name for
    people, and its containers' hostPorts."""

    uid: str
    namespace: str = ""
    name: str = ""
    ports: tuple[PortMapping, ...] = ()


@dataclass
class Sandbox:
    """One pod's sandbox as recorded in ``RECORDS/UID.json``; ``result`` is the CNI ADD's result
    (None while pending)."""

    uid: str
    namespace: str
    name: str
    netns: str
    ports: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    created_at: float = 0.0
    uts: str = ""
    ipc: str = ""

    def pins(self) -> dict[str, Path]:
        """The pinned namespaces by /proc name (net, uts, ipc); a record written before UTS and
        IPC were shared has only net."""
        pinned = {"net": self.netns, "uts": self.uts, "ipc": self.ipc}
        return {kind: Path(path) for kind, path in pinned.items() if path}

    def namespaces(self) -> dict[str, Path]:
        """The namespaces containers join, by OCI type (network, uts, ipc)."""
        return {OCI_TYPES[kind]: path for kind, path in self.pins().items()}

    @property
    def cni_result(self) -> CniResult | None:
        return parse_result(self.result, "record") if self.result is not None else None

    @property
    def ip(self) -> str:
        result = self.cni_result
        return result.ip_in_sandbox() if result is not None else ""

    def port_mappings(self) -> list[PortMapping]:
        return [PortMapping(int(p["hostPort"]), int(p["containerPort"]), str(p.get("protocol", "tcp")),
                            str(p.get("hostIP", ""))) for p in self.ports]


class NodeSandboxes:
    """Sandboxes of one node: records under ``records_dir``, network namespaces pinned in
    ``netns_dir``, UTS and IPC namespaces beside it (``uts/``, ``ipc/``)."""

    def __init__(self, network: NodeCniNetwork, records_dir: Path, netns_dir: Path) -> None:
        self.network = network
        self.records_dir = records_dir
        self.netns_dir = netns_dir
        self.pin_dirs = {"net": netns_dir, "uts": netns_dir.with_name("uts"), "ipc": netns_dir.with_name("ipc")}
        self._sandboxes: dict[str, Sandbox] = self._load()
        self._locks: dict[str, asyncio.Lock] = {}

    def get(self, uid: str) -> Sandbox | None:
        """The ready sandbox of pod ``uid`` (ADD done), else None."""
        sandbox = self._sandboxes.get(uid)
        return sandbox if sandbox is not None and sandbox.result is not None else None

    def uids(self) -> list[str]:
        return sorted(self._sandboxes)

    async def ensure(self, spec: SandboxSpec) -> Sandbox:
        """The pod's ready sandbox, made now if needed (see the module docstring)."""
        async with self._lock(spec.uid):
            existing = self._sandboxes.get(spec.uid)
            if existing is not None and existing.result is not None and all(
                    netns_exists(path) for path in existing.pins().values()):
                return existing
            if existing is not None:
                log.info("sandbox of pod %s: %s, made again", spec.uid,
                         "half made" if existing.result is None else "its network namespace is gone")
                await self._teardown(existing)
            self.network.pod_network()  # NoPodCidrError before anything is made
            pins = {kind: str(directory / spec.uid) for kind, directory in self.pin_dirs.items()}
            sandbox = Sandbox(spec.uid, spec.namespace, spec.name, pins["net"], [p.to_json() for p in spec.ports],
                              None, time.time(), pins["uts"], pins["ipc"])
            self._save(sandbox)
            try:
                await asyncio.to_thread(create_namespaces, sandbox.pins())
                result = await self.network.attach_pod(spec.uid, Path(sandbox.netns), spec.ports)
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._teardown(sandbox)
                raise
            sandbox.result = result.raw
            self._save(sandbox)
            return sandbox

    async def remove(self, uid: str) -> None:
        """DEL the pod's network and unpin its namespace; nothing there is fine. CniError keeps
        the record, so a later call retries."""
        async with self._lock(uid):
            sandbox = self._sandboxes.get(uid)
            if sandbox is not None:
                await self._teardown(sandbox)
        self._locks.pop(uid, None)

    async def sweep(self, is_live: Callable[[str], bool]) -> list[str]:
        """Tear down what belongs to no workload on this node (``is_live(uid)`` False, asked at
        the moment of removal): sandbox records, namespaces pinned without a record, and
        host-local reservations of no sandbox (a VM's). Returns the uids cleaned."""
        cleaned: list[str] = []
        for uid in list(self._sandboxes):
            if not is_live(uid):
                await self.remove(uid)
                cleaned.append(uid)
        for kind, directory in self.pin_dirs.items():
            for pinned in sorted(directory.iterdir()) if directory.is_dir() else ():
                if pinned.name not in self._sandboxes and not is_live(pinned.name):
                    if kind == "net":
                        await self.network.detach_pod(pinned.name, pinned, None)
                    await asyncio.to_thread(remove_netns, pinned)
                    cleaned.append(pinned.name)
        for held in self.network.reservations():
            if held.container_id not in self._sandboxes and not is_live(held.container_id):
                await self.network.release_address(held.container_id, held.ifname)
                cleaned.append(held.container_id)
        return sorted(set(cleaned))

    # --- machinery ---------------------------------------------------------------------------

    def _lock(self, uid: str) -> asyncio.Lock:
        return self._locks.setdefault(uid, asyncio.Lock())

    async def _teardown(self, sandbox: Sandbox) -> None:
        await self.network.detach_pod(sandbox.uid, Path(sandbox.netns), sandbox.cni_result, sandbox.port_mappings())
        for path in sandbox.pins().values():
            await asyncio.to_thread(remove_netns, path)
        (self.records_dir / f"{sandbox.uid}.json").unlink(missing_ok=True)
        self._sandboxes.pop(sandbox.uid, None)

    def _save(self, sandbox: Sandbox) -> None:
        self.records_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.records_dir / f"{sandbox.uid}.json", json.dumps(asdict(sandbox)).encode())
        self._sandboxes[sandbox.uid] = sandbox

    def _load(self) -> dict[str, Sandbox]:
        found: dict[str, Sandbox] = {}
        if not self.records_dir.is_dir():
            return found
        for path in sorted(self.records_dir.glob("*.json")):
            try:
                sandbox = Sandbox(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                log.warning("unreadable sandbox record %s: removed; the sweep releases what it held", path)
                path.unlink(missing_ok=True)
                continue
            found[sandbox.uid] = sandbox
        return found

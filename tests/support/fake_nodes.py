"""A tiny stand-in for the scheduler and the node agents, for controller tests and benchmarks.

``FakeNodes`` registers nodes and their Leases, renews the Leases every ``heartbeat`` seconds,
binds every unbound Pod and VirtualMachine round-robin to a live node (Bind RPC, batched), and
reports each bound workload as Running (UpdateStatus), VMs honouring ``spec.power_state`` and a
request to end their run (restart, drain: atoll/vm_runs.py). A node
can be "killed" (``fail``): its Lease stops being renewed and nothing new lands on it, while what
it ran keeps its status, as after a real partition. ``bound_to`` tells where every workload is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from atoll import finalizers, kinds
from atoll.client import ApiError, Client
from atoll.v1 import api_pb2, lease_pb2
from atoll.vm_runs import run_end_requested
from atoll.watch_events import DELETED, SYNCED
from controller.controllers.node_lifecycle.reconciler import LEASE_NAMESPACE
from tests.support.objects import make_node

WORKLOAD_KINDS = ("Pod", "VirtualMachine")


class FakeNodes:
    def __init__(self, client: Client, names: list[str], *, heartbeat: float = 1.0, batch: int = 1000) -> None:
        self.client = client
        self.names = list(names)
        self.heartbeat = heartbeat
        self.batch = batch
        self.failed: set[str] = set()
        self.objects: dict[tuple[str, str, str], Any] = {}  # (kind, namespace, name) -> latest message
        self._dirty: set[tuple[str, str, str]] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._next_node = itertools.cycle(self.names)
        self.status_writes = 0
        self._leases: dict[str, lease_pb2.Lease] = {}

    async def start(self) -> FakeNodes:
        await asyncio.gather(*(self._register(name) for name in self.names))
        self._tasks = [asyncio.create_task(self._renew_leases(), name="fake-heartbeats")]
        for kind in WORKLOAD_KINDS:
            self._tasks.append(asyncio.create_task(self._watch(kind), name=f"fake-watch-{kind}"))
        self._tasks.append(asyncio.create_task(self._act(), name="fake-kubelet"))
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def fail(self, *names: str) -> None:
        """The nodes stop heartbeating and stop taking work (what they run stays as it was)."""
        self.failed.update(names)

    def recover(self, *names: str) -> None:
        self.failed.difference_update(names)
        self._wake.set()

    def bound_to(self, kind: str = "Pod") -> dict[str, str]:
        """name -> node of every workload of ``kind`` that is bound."""
        found = {key[2]: obj.spec.node_name for key, obj in self.objects.items() if key[0] == kind}
        return {name: node for name, node in found.items() if node}

    def running(self, kind: str = "Pod") -> list[Any]:
        return [obj for key, obj in self.objects.items() if key[0] == kind and obj.status.phase == "Running"]

    # -- internals ----------------------------------------------------------------------------------

    async def _register(self, name: str) -> None:
        node = make_node(name)  # Ready, as its agent reports it
        with contextlib.suppress(ApiError):
            await self.client.create(node)
        lease = lease_pb2.Lease()
        lease.metadata.name, lease.metadata.namespace = name, LEASE_NAMESPACE
        lease.spec.holder_identity = name
        lease.spec.lease_duration_seconds = 40
        with contextlib.suppress(ApiError):
            await self.client.create(lease)
        self._leases[name] = lease

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            live = [name for name in self.names if name not in self.failed]
            for start in range(0, len(live), 500):
                await asyncio.gather(*(self._renew(name) for name in live[start : start + 500]))

    async def _renew(self, name: str) -> None:
        """One unconditional Update (resource_version 0): a node is the only writer of its Lease."""
        lease = self._leases[name]
        lease.spec.renew_time.GetCurrentTime()
        with contextlib.suppress(ApiError):
            await self.client.update(lease)

    async def _watch(self, kind: str) -> None:
        async for event in self.client.list_then_watch(kind):
            if event.type == SYNCED or not event.HasField("object"):
                continue
            obj = kinds.unwrap(event.object)
            key = (kind, obj.metadata.namespace, obj.metadata.name)
            if event.type == DELETED:
                self.objects.pop(key, None)
                self._dirty.discard(key)
                continue
            self.objects[key] = obj
            self._dirty.add(key)
            self._wake.set()

    async def _act(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            keys, self._dirty = self._dirty, set()
            unbound = [key for key in keys if key in self.objects and not self.objects[key].spec.node_name]
            to_report = [key for key in keys if key in self.objects and self._needs_report(self.objects[key])]
            to_release = [key for key in keys if key in self.objects and self._needs_release(self.objects[key])]
            await self._bind(unbound)
            await asyncio.gather(*(self._release(key) for key in to_release))
            for start in range(0, len(to_report), self.batch):
                await asyncio.gather(*(self._report(key) for key in to_report[start : start + self.batch]))

    async def _bind(self, keys: list[tuple[str, str, str]]) -> None:
        live = [name for name in self.names if name not in self.failed]
        if not live or not keys:
            return
        bindings = []
        for kind, namespace, name in keys:
            node = next(self._next_node)
            while node in self.failed:
                node = next(self._next_node)
            bindings.append(api_pb2.Binding(kind=kind, namespace=namespace, name=name, node_name=node))
        for start in range(0, len(bindings), self.batch):
            with contextlib.suppress(ApiError):
                await self.client.bind(bindings[start : start + self.batch])

    def _needs_release(self, obj: Any) -> bool:
        """A deleted workload on a live node: like an agent, stop it at once and drop the finalizer."""
        return (
            obj.metadata.HasField("deletion_timestamp")
            and obj.spec.node_name not in self.failed
            and finalizers.NODE_AGENT in obj.metadata.finalizers
        )

    async def _release(self, key: tuple[str, str, str]) -> None:
        obj = self.objects.get(key)
        if obj is None:
            return
        copy = type(obj)()
        copy.CopyFrom(obj)
        copy.metadata.finalizers.remove(finalizers.NODE_AGENT)
        with contextlib.suppress(ApiError):
            await self.client.update(copy)

    def _needs_report(self, obj: Any) -> bool:
        node = obj.spec.node_name
        if not node or node in self.failed or obj.metadata.HasField("deletion_timestamp"):
            return False
        return bool(obj.status.phase != _desired_phase(obj))

    async def _report(self, key: tuple[str, str, str]) -> None:
        obj = self.objects.get(key)
        if obj is None:
            return
        copy = type(obj)()
        copy.CopyFrom(obj)
        if finalizers.NODE_AGENT not in copy.metadata.finalizers:  # as a real agent does before starting
            copy.metadata.finalizers.append(finalizers.NODE_AGENT)
            with contextlib.suppress(ApiError):
                copy = kinds.unwrap(await self.client.update(copy))
        copy.status.phase = _desired_phase(copy)
        if key[0] == "VirtualMachine":
            copy.status.power_state = copy.status.phase if copy.status.phase != "Pending" else "Stopped"
        with contextlib.suppress(ApiError):
            await self.client.update_status(copy)
            self.status_writes += 1


def _desired_phase(obj: Any) -> str:
    if obj.DESCRIPTOR.name != "VirtualMachine":
        return "Running"
    power = "Stopped" if run_end_requested(obj) else obj.spec.power_state or "Running"
    if obj.status.phase in ("Stopped", "Failed") and power != "Stopped":
        return str(obj.status.phase)  # a run that ended stays ended; the controller makes a new one
    return {"Running": "Running", "Paused": "Paused", "Stopped": "Stopped"}[power]

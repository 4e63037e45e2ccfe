"""The registry's CreateReserver for Services (kind_hooks.py): a new Service gets its cluster IP
from the allocator, the address it asked for or any free one; a headless one (clusterIP None)
gets none."""

from __future__ import annotations

from atoll.v1 import service_pb2
from atoll.validation.service import HEADLESS
from controller.apiserver.kind_hooks import Undo
from controller.apiserver.service_ips.allocator import ServiceIPAllocator
from controller.apiserver.service_ips.records import Owner


class ClusterIPReserver:
    def __init__(self, allocator: ServiceIPAllocator) -> None:
        self._allocator = allocator

    async def reserve(self, message: service_pb2.Service) -> Undo | None:
        """Sets spec.clusterIP and spec.clusterIPs; the undo frees the address again."""
        spec = message.spec
        if spec.cluster_ip == HEADLESS:
            del spec.cluster_ips[:]
            spec.cluster_ips.append(HEADLESS)
            return None
        meta = message.metadata
        owner = Owner(meta.namespace, meta.name, meta.uid)
        ip = await self._allocator.reserve(owner, spec.cluster_ip)
        spec.cluster_ip = ip
        del spec.cluster_ips[:]
        spec.cluster_ips.append(ip)

        async def undo() -> None:
            await self._allocator.cancel(ip, owner)

        return undo

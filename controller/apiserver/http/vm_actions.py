"""``POST .../virtualmachines/NAME/{start,stop,restart,pause,resume}``: the edit ``atoll vm ACTION``
makes (atoll/vm_power.py), as a Get and an Update through the guarded calls, so the caller needs
``update`` on the VM and both are audited as any write; a concurrent write is retried, as the CLI does (modify.py)."""

from __future__ import annotations

import grpc
from aiohttp import web

from atoll import kinds, vm_power
from atoll.v1 import object_pb2
from controller.apiserver.handlers import ObjectsCalls
from controller.apiserver.http.context import Context
from controller.apiserver.http.encoding import object_json
from controller.apiserver.http.modify import modify
from controller.apiserver.http.objects import Handler
from controller.apiserver.http.paths import Target
from controller.apiserver.http.status import HTTP_OF_GRPC, NOT_FOUND_PATH, fail

VIRTUAL_MACHINE = kinds.by_name("VirtualMachine")
_NOT_APPLICABLE = HTTP_OF_GRPC[grpc.StatusCode.FAILED_PRECONDITION]


class VmActions:
    def __init__(self, calls: ObjectsCalls) -> None:
        self._calls = calls

    def routes(self) -> dict[tuple[str, str], Handler]:
        """(HTTP method, subresource) -> handler, for ObjectsApi."""
        return {("POST", action): self.handle for action in vm_power.ACTIONS}

    async def handle(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        if target.kind is not VIRTUAL_MACHINE:
            raise fail(
                NOT_FOUND_PATH, f"{target.subresource} is an action of virtualmachines, not {target.kind.plural}"
            )
        power = vm_power.change_for(target.subresource, target.name)

        def change(obj: object_pb2.Object) -> bool:
            try:
                power(obj.virtual_machine)
            except vm_power.PowerActionError as exc:
                raise fail(_NOT_APPLICABLE, str(exc)) from None
            return True

        updated = await modify(self._calls, target, change, context)
        return web.Response(body=object_json(updated), content_type="application/json")

"""A Deployment's rollout history and undo, as ``atoll rollout history|undo`` gives them:

    GET  .../deployments/NAME/history          {"current": N, "revisions": [{"revision", "hash", "template"}]}
    POST .../deployments/NAME/undo[?toRevision=N]   the Deployment with the revision's template restored

Both read (and undo writes) through the guarded Get and Update calls, so they need ``get`` (and
``update``) on the Deployment and are audited as any write; a concurrent write is retried (modify.py).
The history lives in the Deployment's own annotations (atoll/revisions.py).
"""

from __future__ import annotations

import grpc
from aiohttp import web

from atoll import kinds
from atoll.manifest_codec import encode
from atoll.revisions import RevisionError, current_revision, history, resolve_revision, template_hash
from atoll.v1 import api_pb2, object_pb2
from controller.apiserver.handlers import ObjectsCalls
from controller.apiserver.http import query
from controller.apiserver.http.context import Context
from controller.apiserver.http.encoding import dumps, object_json
from controller.apiserver.http.modify import modify
from controller.apiserver.http.objects import Handler
from controller.apiserver.http.paths import Target
from controller.apiserver.http.status import HTTP_OF_GRPC, NOT_FOUND_PATH, fail

DEPLOYMENT = kinds.by_name("Deployment")
_MISSING = HTTP_OF_GRPC[grpc.StatusCode.NOT_FOUND]


class Rollouts:
    def __init__(self, calls: ObjectsCalls) -> None:
        self._calls = calls

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {("GET", "history"): self.history, ("POST", "undo"): self.undo}

    def _deployment_only(self, target: Target) -> None:
        if target.kind is not DEPLOYMENT:
            what = f"{target.subresource} is a subresource of deployments"
            raise fail(NOT_FOUND_PATH, f"{what}, not {target.kind.plural}")

    async def _read(self, target: Target, context: Context) -> object_pb2.Object:
        self._deployment_only(target)
        get = api_pb2.GetRequest(kind=DEPLOYMENT.name, namespace=target.namespace, name=target.name)
        found: object_pb2.Object = await self._calls.unary["Get"](get, context)
        return found

    async def history(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        deployment = (await self._read(target, context)).deployment
        revisions = [
            {"revision": revision.number, "hash": revision.template_hash, "template": encode(revision.template)}
            for revision in history(deployment)
        ]
        body = {"current": current_revision(deployment), "revisions": revisions}
        return web.Response(body=dumps(body), content_type="application/json")

    async def undo(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        to_revision = query.integer(request.query, "toRevision")
        self._deployment_only(target)

        def restore(obj: object_pb2.Object) -> bool:
            deployment = obj.deployment
            try:
                revision = resolve_revision(deployment, to_revision)
            except RevisionError as exc:
                raise fail(_MISSING, str(exc)) from None
            if template_hash(deployment.spec.template) == revision.template_hash:
                return False  # already that template: nothing to write
            deployment.spec.template.CopyFrom(revision.template)
            return True

        updated = await modify(self._calls, target, restore, context)
        return web.Response(body=object_json(updated), content_type="application/json")

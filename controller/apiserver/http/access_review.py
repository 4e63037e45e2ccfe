"""``POST /apis/atoll.dev/v1/selfsubjectaccessreviews``: may I do this? (Kubernetes'
SelfSubjectAccessReview), answered by the same authorizer that decides calls, so the web console
offers only what its user may do. Also says who the caller is (``status.user``).

    {"spec": {"resourceAttributes": {"verb": "update", "resource": "virtualmachines",
                                     "namespace": "default", "name": "vm1"}}}
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atoll import kinds
from atoll.user_text import bounded, bounded_repr
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.guard import SecurityGuard
from controller.apiserver.http import bodies
from controller.apiserver.http.context import call_context
from controller.apiserver.http.encoding import dumps
from controller.apiserver.http.status import BAD_REQUEST, HttpFailure, fail, response
from controller.apiserver.objectref import effective_namespace

KIND = "SelfSubjectAccessReview"
_FIELD_CHARS = 253


class AccessReviews:
    """With ``guard`` None (plaintext --dev server) everyone may do everything, as the calls allow."""

    def __init__(self, guard: SecurityGuard | None) -> None:
        self._guard = guard

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            text, _ = await bodies.read_text(request, yaml_allowed=False)
            spec = _spec(bodies.json_mapping(text, KIND))
            attributes = _attributes(spec)
            if self._guard is None:
                user, allowed, reason = "", True, ""
            else:
                info, allowed, reason = await self._guard.review(call_context(request), attributes)
                user = info.name
        except HttpFailure as failure:
            return response(failure.status)
        review = {
            "apiVersion": kinds.API_VERSION,
            "kind": KIND,
            "spec": spec,
            "status": {"allowed": allowed, "reason": reason, "user": user},
        }
        return web.Response(status=201, body=dumps(review), content_type="application/json")


def _spec(document: dict[str, Any]) -> dict[str, Any]:
    spec = document.get("spec")
    attributes = spec.get("resourceAttributes") if isinstance(spec, dict) else None
    if not isinstance(attributes, dict):
        raise fail(BAD_REQUEST, f"{KIND}: spec.resourceAttributes: required, a mapping")
    fields = {}
    for field in ("verb", "resource", "namespace", "name"):
        value = attributes.get(field, "")
        if not isinstance(value, str):
            raise fail(BAD_REQUEST, f"{KIND}: spec.resourceAttributes.{field}: expected a string")
        fields[field] = bounded(value, _FIELD_CHARS)
    return {"resourceAttributes": fields}


def _attributes(spec: dict[str, Any]) -> RequestAttributes:
    fields = spec["resourceAttributes"]
    if not fields["verb"]:
        raise fail(BAD_REQUEST, f"{KIND}: spec.resourceAttributes.verb: required")
    try:
        kind = kinds.lookup(fields["resource"])
    except kinds.UnknownKindError:
        raise fail(
            BAD_REQUEST, f"{KIND}: spec.resourceAttributes.resource: unknown {bounded_repr(fields['resource'])}"
        ) from None
    namespace = effective_namespace(kind, fields["namespace"]) if fields["namespace"] or fields["name"] else ""
    return RequestAttributes(fields["verb"], kind, namespace, fields["name"])

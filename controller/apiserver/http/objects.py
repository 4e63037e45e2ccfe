"""HTTP verbs on object paths -> the same guarded calls gRPC answers with (handlers.ObjectsCalls).

GET    collection           List (labelSelector, fieldSelector, limit, continue)
GET    collection?watch=1   Watch (resourceVersion, allowWatchBookmarks, timeoutSeconds), JSON lines
POST   collection           Create                              201
GET    object[/status]      Get
PUT    object               Update (metadata.resourceVersion: only if unchanged since)
PUT    object/status        UpdateStatus
PATCH  object               Apply (Content-Type application/apply-patch+yaml or +json)  201 when created
DELETE object               Delete (propagationPolicy; body DeleteOptions with preconditions)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from atoll.user_text import bounded_repr
from atoll.v1 import api_pb2
from controller.apiserver.handlers import ObjectsCalls
from controller.apiserver.http import bodies, query
from controller.apiserver.http.context import Context, call_context
from controller.apiserver.http.encoding import list_json, object_json
from controller.apiserver.http.paths import PathError, Target, parse
from controller.apiserver.http.status import (
    BAD_REQUEST,
    METHOD_NOT_ALLOWED,
    NOT_FOUND_PATH,
    HttpFailure,
    fail,
    response,
    status_object,
)
from controller.apiserver.http.watch import EventLines, error_line

JSON = "application/json"
_PROPAGATION = {"background": "background", "foreground": "foreground", "orphan": "orphan"}
Handler = Callable[[web.Request, Target, Context], Awaitable[web.StreamResponse]]


class ObjectsApi:
    """Answers every object path; ``subresources`` adds handlers by (method, subresource) for
    what is not an Objects call (logs, VM actions)."""

    def __init__(self, calls: ObjectsCalls, subresources: dict[tuple[str, str], Handler] | None = None) -> None:
        self._calls = calls
        self._lines = EventLines()
        self._routes: dict[tuple[bool, str, str], Handler] = {
            (True, "", "GET"): self._list_or_watch,
            (True, "", "POST"): self._create,
            (False, "", "GET"): self._get,
            (False, "status", "GET"): self._get,
            (False, "", "PUT"): self._replace,
            (False, "status", "PUT"): self._replace_status,
            (False, "", "PATCH"): self._apply,
            (False, "", "DELETE"): self._delete,
        }
        for (method, subresource), handler in (subresources or {}).items():
            self._routes[(False, subresource, method)] = handler

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            target = parse(request.match_info["tail"])
        except PathError as exc:
            return response(status_object(NOT_FOUND_PATH, str(exc)))
        handler = self._routes.get((target.is_collection, target.subresource, request.method))
        if handler is None:
            allowed = sorted(m for (c, s, m) in self._routes if c == target.is_collection and s == target.subresource)
            what = f"/{target.subresource}" if target.subresource else (" collection" if target.is_collection else "")
            message = f"{request.method} is not allowed on {target.kind.plural}{what}; allowed: {', '.join(allowed)}"
            return response(status_object(METHOD_NOT_ALLOWED if allowed else NOT_FOUND_PATH, message))
        try:
            return await handler(request, target, call_context(request))
        except HttpFailure as failure:
            return response(failure.status)

    async def _unary(self, method: str, call_request: Any, context: Context) -> Any:
        return await self._calls.unary[method](call_request, context)

    async def _list_or_watch(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        if query.flag(request.query, "watch"):
            return await self._watch(request, target, context)
        listed = await self._unary(
            "List",
            api_pb2.ListRequest(
                kind=target.kind.name,
                namespace=target.namespace,
                label_selector=query.text(request.query, "labelSelector"),
                field_selector=query.text(request.query, "fieldSelector"),
                limit=query.integer(request.query, "limit"),
                **{"continue": query.text(request.query, "continue")},
            ),
            context,
        )
        body = list_json(listed.items, listed.resource_version, getattr(listed, "continue"))
        return web.Response(body=body, content_type=JSON)

    async def _watch(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        watch_request = api_pb2.WatchRequest(
            kind=target.kind.name,
            namespace=target.namespace,
            label_selector=query.text(request.query, "labelSelector"),
            field_selector=query.text(request.query, "fieldSelector"),
            resource_version=query.integer(request.query, "resourceVersion"),
            allow_bookmarks=query.flag(request.query, "allowWatchBookmarks"),
        )
        seconds = query.integer(request.query, "timeoutSeconds")
        chunks = await self._calls.streams["Watch"](watch_request, context)  # a refusal answers its own code
        stream = web.StreamResponse(headers={"Content-Type": JSON, "Cache-Control": "no-store"})
        await stream.prepare(request)
        try:
            async with asyncio.timeout(seconds or None):
                async for chunk in chunks:
                    await stream.write(b"".join(self._lines.lines(chunk)))
        except HttpFailure as failure:
            await stream.write(error_line(failure))
        except TimeoutError:
            pass  # timeoutSeconds elapsed: the client watches again from its last revision
        except ConnectionResetError:
            pass  # the client went away
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        await stream.write_eof()
        return stream

    async def _create(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        obj = await _body_object(request, target, yaml_allowed=False)
        created = await self._unary("Create", api_pb2.CreateRequest(object=obj), context)
        return web.Response(status=201, body=object_json(created), content_type=JSON)

    async def _get(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        got = await self._unary(
            "Get", api_pb2.GetRequest(kind=target.kind.name, namespace=target.namespace, name=target.name), context
        )
        return web.Response(body=object_json(got), content_type=JSON)

    async def _replace(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        obj = await _body_object(request, target, yaml_allowed=False)
        updated = await self._unary("Update", api_pb2.UpdateRequest(object=obj), context)
        return web.Response(body=object_json(updated), content_type=JSON)

    async def _replace_status(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        obj = await _body_object(request, target, yaml_allowed=False)
        updated = await self._unary("UpdateStatus", api_pb2.UpdateRequest(object=obj), context)
        return web.Response(body=object_json(updated), content_type=JSON)

    async def _apply(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        if not request.content_type.startswith("application/apply-patch"):
            raise fail(
                (415, "UnsupportedMediaType"),
                f"PATCH takes server-side apply only (Content-Type application/apply-patch+yaml or "
                f"application/apply-patch+json), not {bounded_repr(request.content_type)}",
            )
        obj = await _body_object(request, target, yaml_allowed=True)
        applied = await self._unary("Apply", api_pb2.ApplyRequest(object=obj), context)
        headers = {"X-Atoll-Apply-Result": applied.result}
        status = 201 if applied.result == "created" else 200
        return web.Response(status=status, body=object_json(applied.object), content_type=JSON, headers=headers)

    async def _delete(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        propagation, precondition = await _delete_options(request)
        deleted = await self._unary(
            "Delete",
            api_pb2.DeleteRequest(
                kind=target.kind.name,
                namespace=target.namespace,
                name=target.name,
                propagation_policy=propagation,
                precondition_resource_version=precondition,
            ),
            context,
        )
        return web.Response(status=200 if deleted.deleted else 202, body=object_json(deleted.object), content_type=JSON)


async def _body_object(request: web.Request, target: Target, *, yaml_allowed: bool) -> Any:
    text, is_json = await bodies.read_text(request, yaml_allowed=yaml_allowed)
    return bodies.decode_object(text, is_json, target)


async def _delete_options(request: web.Request) -> tuple[str, int]:
    """(propagation policy, precondition revision) from ``?propagationPolicy=`` and an optional
    DeleteOptions body (``{"propagationPolicy": "Foreground", "preconditions": {"resourceVersion": 7}}``)."""
    policy = query.text(request.query, "propagationPolicy")
    precondition = 0
    if request.can_read_body:
        text, _ = await bodies.read_text(request, yaml_allowed=False)
        options = bodies.json_mapping(text, "DeleteOptions")
        policy = policy or _string(options.get("propagationPolicy", ""), "propagationPolicy")
        preconditions = options.get("preconditions") or {}
        if not isinstance(preconditions, dict):
            raise fail(BAD_REQUEST, "DeleteOptions.preconditions: expected a mapping")
        precondition = _revision(preconditions.get("resourceVersion", 0))
    if policy and policy.lower() not in _PROPAGATION:
        raise fail(
            BAD_REQUEST, f"propagationPolicy: expected Background, Foreground or Orphan, got {bounded_repr(policy)}"
        )
    return _PROPAGATION.get(policy.lower(), ""), precondition


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise fail(BAD_REQUEST, f"DeleteOptions.{field}: expected a string")
    return value


def _revision(value: Any) -> int:
    try:
        revision = int(value)
    except (TypeError, ValueError):
        raise fail(BAD_REQUEST, "DeleteOptions.preconditions.resourceVersion: expected an integer") from None
    if revision < 0:
        raise fail(BAD_REQUEST, "DeleteOptions.preconditions.resourceVersion: must be >= 0")
    return revision

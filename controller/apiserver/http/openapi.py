"""The OpenAPI 3 document of the HTTP API, generated from the protobuf descriptors and the kinds
registry (no schema written by hand), served at ``/openapi/v3``.

Schemas follow the JSON the API speaks (atoll/manifest_codec.py): camelCase field names, int64 as
JSON integers, Timestamps as RFC 3339 strings, enums by name, bytes as base64, maps as objects.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from atoll import kinds
from atoll.kinds import Kind
from atoll.manifest_codec import enum_type, is_map, is_repeated, message_type
from controller.apiserver.http.paths import API_PREFIX
from controller.apiserver.http.status import HTTP_OF_GRPC

PATH = "/openapi/v3"
_TIMESTAMP = "google.protobuf.Timestamp"
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_INT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "integer", "minimum": 0},
    FieldDescriptor.TYPE_FIXED64: {"type": "integer", "minimum": 0},
}
_JSON = "application/json"


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.0 document."""
    schemas: dict[str, Any] = {}
    for kind in kinds.KINDS:
        _message_schema(kind.message.DESCRIPTOR, schemas)
        _add_envelope(kind, schemas)
    schemas.update(_fixed_schemas())
    paths: dict[str, Any] = {}
    for kind in kinds.KINDS:
        paths.update(_kind_paths(kind))
    paths[f"{API_PREFIX}/selfsubjectaccessreviews"] = {
        "post": {
            "operationId": "createSelfSubjectAccessReview",
            "summary": "May the caller do this? (answered by the authorizer that decides calls)",
            "requestBody": _body("SelfSubjectAccessReview"),
            "responses": {"201": _answer("SelfSubjectAccessReview"), "default": _answer("Status")},
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "atoll", "version": kinds.API_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _message_schema(descriptor: Descriptor, schemas: dict[str, Any]) -> str:
    """Adds the schema of ``descriptor`` (and of every message it holds) to ``schemas``; its name."""
    name = descriptor.full_name.removeprefix("atoll.v1.")
    if name in schemas:
        return name
    schemas[name] = {}  # reserved before the fields: messages may hold themselves
    properties = {field.json_name: _field_schema(field, schemas) for field in descriptor.fields}
    schemas[name] = {"type": "object", "properties": properties}
    return name


def _field_schema(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if is_map(field):
        value = message_type(field).fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single(value, schemas)}
    single = _single(field, schemas)
    return {"type": "array", "items": single} if is_repeated(field) else single


def _single(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        message = message_type(field)
        if message.full_name == _TIMESTAMP:
            return {"type": "string", "format": "date-time"}
        return _ref(_message_schema(message, schemas))
    if field.type == FieldDescriptor.TYPE_ENUM:
        return {"type": "string", "enum": [value.name for value in enum_type(field).values]}
    return dict(_SCALARS[field.type])


def _add_envelope(kind: Kind, schemas: dict[str, Any]) -> None:
    """A kind's message is a manifest: apiVersion and kind first, then the message's fields."""
    schema = schemas[_schema_name(kind)]
    schema["required"] = ["apiVersion", "kind"]
    schema["properties"] = {
        "apiVersion": {"type": "string", "enum": [kinds.API_VERSION]},
        "kind": {"type": "string", "enum": [kind.name]},
        **schema["properties"],
    }


def _schema_name(kind: Kind) -> str:
    return str(kind.message.DESCRIPTOR.full_name).removeprefix("atoll.v1.")


def _fixed_schemas() -> dict[str, Any]:
    cause = {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
    attributes = {
        "type": "object",
        "properties": {key: {"type": "string"} for key in ("verb", "resource", "namespace", "name")},
    }
    return {
        "Status": {
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string", "enum": ["Status"]},
                "status": {"type": "string"},
                "message": {"type": "string"},
                "reason": {"type": "string", "enum": sorted({reason for _, reason in HTTP_OF_GRPC.values() if reason})},
                "code": {"type": "integer"},
                "details": {"type": "object", "properties": {"causes": {"type": "array", "items": cause}}},
            },
        },
        "ListMeta": {
            "type": "object",
            "properties": {"resourceVersion": {"type": "integer", "format": "int64"}, "continue": {"type": "string"}},
        },
        "WatchEvent": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]},
                "object": {"type": "object"},
            },
        },
        "SelfSubjectAccessReview": {
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "spec": {"type": "object", "properties": {"resourceAttributes": attributes}},
                "status": {
                    "type": "object",
                    "properties": {
                        "allowed": {"type": "boolean"},
                        "reason": {"type": "string"},
                        "user": {"type": "string"},
                    },
                },
            },
        },
    }


def _list_schema(kind: Kind) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string", "enum": ["List"]},
            "metadata": _ref("ListMeta"),
            "items": {"type": "array", "items": _ref(_schema_name(kind))},
        },
    }


def _kind_paths(kind: Kind) -> dict[str, Any]:
    plural = kind.plural
    namespace = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    scope = f"{API_PREFIX}/namespaces/{{namespace}}/{plural}" if kind.namespaced else f"{API_PREFIX}/{plural}"
    scope_parameters = [namespace] if kind.namespaced else []
    list_operation = {
        "operationId": f"list{kind.name}",
        "summary": f"List or watch {plural}",
        "parameters": _list_parameters(),
        "responses": {
            "200": {
                "description": "a List, or with watch=true one WatchEvent per line",
                "content": {_JSON: {"schema": _list_schema(kind)}},
            },
            "default": _answer("Status"),
        },
    }
    paths: dict[str, Any] = {
        scope: {
            "parameters": scope_parameters,
            "get": list_operation,
            "post": {
                "operationId": f"create{kind.name}",
                "requestBody": _body(_schema_name(kind)),
                "responses": {"201": _answer(_schema_name(kind)), "default": _answer("Status")},
            },
        },
        f"{scope}/{{name}}": {
            "parameters": [*scope_parameters, name],
            "get": {"operationId": f"read{kind.name}", "responses": _object_responses(kind)},
            "put": {
                "operationId": f"replace{kind.name}",
                "requestBody": _body(_schema_name(kind)),
                "responses": _object_responses(kind),
            },
            "patch": {
                "operationId": f"apply{kind.name}",
                "summary": "server-side apply (Content-Type application/apply-patch+yaml or +json)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/apply-patch+json": {"schema": _ref(_schema_name(kind))},
                        "application/apply-patch+yaml": {"schema": _ref(_schema_name(kind))},
                    },
                },
                "responses": {**_object_responses(kind), "201": _answer(_schema_name(kind))},
            },
            "delete": {
                "operationId": f"delete{kind.name}",
                "parameters": [
                    _query("propagationPolicy", {"type": "string", "enum": ["Background", "Foreground", "Orphan"]})
                ],
                "responses": {**_object_responses(kind), "202": _answer(_schema_name(kind))},
            },
        },
    }
    if kind.namespaced:
        paths[f"{API_PREFIX}/{plural}"] = {"get": {**list_operation, "operationId": f"list{kind.name}AllNamespaces"}}
    if kind.has_status:
        paths[f"{scope}/{{name}}/status"] = {
            "parameters": [*scope_parameters, name],
            "get": {"operationId": f"read{kind.name}Status", "responses": _object_responses(kind)},
            "put": {
                "operationId": f"replace{kind.name}Status",
                "requestBody": _body(_schema_name(kind)),
                "responses": _object_responses(kind),
            },
        }
    return paths


def _list_parameters() -> list[dict[str, Any]]:
    return [
        _query("labelSelector", {"type": "string"}),
        _query("fieldSelector", {"type": "string"}),
        _query("limit", {"type": "integer", "minimum": 0}),
        _query("continue", {"type": "string"}),
        _query("watch", {"type": "boolean"}),
        _query("resourceVersion", {"type": "integer", "minimum": 0}),
        _query("allowWatchBookmarks", {"type": "boolean"}),
        _query("timeoutSeconds", {"type": "integer", "minimum": 0}),
    ]


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": _ref(schema)}}}


def _answer(schema: str) -> dict[str, Any]:
    return {"description": schema, "content": {_JSON: {"schema": _ref(schema)}}}


def _object_responses(kind: Kind) -> dict[str, Any]:
    return {"200": _answer(_schema_name(kind)), "default": _answer("Status")}

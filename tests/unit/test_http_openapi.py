"""The OpenAPI document is valid OpenAPI 3, covers every kind, and its schemas accept the JSON the
API really sends (and refuse what it never would)."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from atoll import kinds
from atoll.manifest import to_manifest
from controller.apiserver.http import openapi
from tests.support.objects import make_node, make_pod, make_vm

DOCUMENT = openapi.document()


def test_the_document_is_valid_openapi_3() -> None:
    validate(DOCUMENT)


def test_every_kind_has_its_collection_object_and_status_paths() -> None:
    for kind in kinds.KINDS:
        scope = f"namespaces/{{namespace}}/{kind.plural}" if kind.namespaced else kind.plural
        assert f"/apis/atoll.dev/v1/{scope}/{{name}}" in DOCUMENT["paths"], kind.name
        assert (f"/apis/atoll.dev/v1/{scope}/{{name}}/status" in DOCUMENT["paths"]) == kind.has_status


def _validator(schema: str) -> Any:
    return OAS30Validator({"$ref": f"#/components/schemas/{schema}", "components": DOCUMENT["components"]})


@pytest.mark.parametrize("obj", [make_pod(), make_node(), make_vm()], ids=["pod", "node", "vm"])
def test_kind_schemas_accept_what_the_api_sends(obj: Any) -> None:
    manifest = to_manifest(obj)
    _validator(manifest["kind"]).validate(manifest)


def test_kind_schemas_refuse_a_wrong_type() -> None:
    manifest = to_manifest(make_pod())
    manifest["spec"]["containers"] = "nginx"
    assert list(_validator("Pod").iter_errors(manifest))

"""Platforms from image indexes and configs, hostile documents refused with one line, and the
docker config.json credentials that pull secrets and --registry-config carry."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from atoll.image_credentials import CredentialsError, parse_docker_config
from atoll.image_platforms import (
    Platform,
    PlatformError,
    config_platform,
    index_entries,
    is_index,
    parse_document,
    variant_matches,
)
from atoll.image_registry import Credentials

DIGEST = "sha256:" + "ab" * 32


def entry(**platform: Any) -> dict[str, Any]:
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST, "size": 1,
            "platform": platform}


def test_an_index_lists_its_platforms_and_skips_attestations() -> None:
    index = {"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        entry(os="linux", architecture="amd64"),
        entry(os="linux", architecture="arm64", variant="v8"),
        entry(os="windows", architecture="amd64", **{"os.version": "10.0.20348.2113"}),
        entry(os="unknown", architecture="unknown"),
    ]}
    assert is_index(index)
    assert [e.platform for e in index_entries(index)] == [
        Platform("linux", "amd64"), Platform("linux", "arm64", "v8"),
        Platform("windows", "amd64", os_version="10.0.20348.2113"),
    ]
    assert index_entries(index)[2].platform.windows_build is not None


def test_a_config_states_one_platform_with_go_and_uname_names_alike() -> None:
    assert config_platform({"os": "linux", "architecture": "x86_64"}) == Platform("linux", "amd64")
    assert config_platform({"os": "linux", "architecture": "aarch64"}) == Platform("linux", "arm64")


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        pytest.param({"manifests": "x"}, "has no manifests list", id="manifests not a list"),
        pytest.param({"manifests": [1]}, "manifests[0] of the image index is not an object", id="not an object"),
        pytest.param({"manifests": [entry(os="linux", architecture="amd64") | {"digest": "../../etc"}]},
                     "manifests[0].digest '../../etc' is not sha256", id="a path as digest"),
        pytest.param({"manifests": [entry(os="Linux\n", architecture="amd64")]}, "manifests[0].platform.os",
                     id="a platform name with a newline"),
        pytest.param({"manifests": [entry(os="linux", architecture=["amd64"])]}, "of type list", id="a list as arch"),
        pytest.param({"manifests": [entry(os="windows", architecture="amd64", **{"os.version": "x" * 5000})]},
                     "is not a version such as", id="an overlong os.version"),
        pytest.param({"manifests": [entry(os="linux", architecture="amd64")] * 300}, "at most 256", id="too many"),
        pytest.param({"manifests": []}, "no runnable platform", id="an empty index"),
    ],
)
def test_hostile_indexes_are_refused_with_one_line(document: dict[str, Any], problem: str) -> None:
    with pytest.raises(PlatformError) as caught:
        index_entries(document)
    assert problem in str(caught.value) and len(str(caught.value)) < 700


def test_documents_must_be_json_objects() -> None:
    for data in (b"[]", b"{", b"[" * 100_000):
        with pytest.raises(PlatformError):
            parse_document(data, "the manifest")


def test_variants() -> None:
    assert variant_matches("", "arm64", "")
    assert variant_matches("v8", "arm64", "")
    assert not variant_matches("v7", "arm", "v6")


def test_docker_config_credentials() -> None:
    auth = base64.b64encode(b"ann:s3cret").decode()
    data = json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth},
                                 "http://r.io:5000/v2/": {"username": "bob", "password": "pw"}}}).encode()
    assert dict(parse_docker_config(data, "secret default/regcred")) == {
        "docker.io": Credentials("ann", "s3cret"), "r.io:5000": Credentials("bob", "pw"),
    }


@pytest.mark.parametrize(
    "data",
    [b"{", b"[]", b'{"auths": []}', b'{"auths": {"r.io": {"auth": "!!!"}}}', b'{"auths": {"r.io": {}}}',
     b'{"auths": {"r.io": {"auth": "' + base64.b64encode(b"no-colon-s3cret") + b'"}}}'],
)
def test_bad_docker_configs_never_show_a_secret(data: bytes) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_docker_config(data, "secret default/regcred")
    assert "s3cret" not in str(caught.value) and str(caught.value).startswith("secret default/regcred")

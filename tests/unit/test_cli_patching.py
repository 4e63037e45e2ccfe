"""Patch types of ``atoll patch`` and the KEY=VALUE / KEY- arguments of label and annotate."""

from __future__ import annotations

from typing import Any

import pytest

from atoll.cli.common import CliError
from atoll.cli.metadata_map import LABEL, split_changes
from atoll.cli.patching import apply_patch

POD: dict[str, Any] = {
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
    "spec": {
        "containers": [
            {"name": "main", "image": "a:1", "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "b:1"},
        ],
        "nodeSelector": {"zone": "a"},
    },
}


@pytest.mark.parametrize(
    ("patch_type", "patch", "path", "expected"),
    [
        pytest.param("merge", {"metadata": {"labels": {"tier": None}}}, ("metadata", "labels"), {"app": "web"},
                     id="merge: null removes a key"),
        pytest.param("merge", {"spec": {"containers": [{"name": "main", "image": "a:2"}]}}, ("spec", "containers"),
                     [{"name": "main", "image": "a:2"}], id="merge: a list is replaced whole"),
        pytest.param("strategic", {"spec": {"containers": [{"name": "main", "image": "a:2"}]}}, ("spec", "containers"),
                     [{**POD["spec"]["containers"][0], "image": "a:2"}, POD["spec"]["containers"][1]],
                     id="strategic: containers merge by name"),
        pytest.param("strategic", {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
                     ("spec", "containers"), [POD["spec"]["containers"][0]], id="strategic: $patch delete removes one"),
        pytest.param("strategic", {"spec": {"containers": [{"name": "new", "image": "c:1"}]}},
                     ("spec", "containers"), [*POD["spec"]["containers"], {"name": "new", "image": "c:1"}],
                     id="strategic: a new name is added"),
        pytest.param("json", [{"op": "replace", "path": "/spec/nodeSelector/zone", "value": "b"}],
                     ("spec", "nodeSelector"), {"zone": "b"}, id="json: replace"),
        pytest.param("json", [{"op": "add", "path": "/metadata/labels/x", "value": "1"}], ("metadata", "labels"),
                     {"app": "web", "tier": "front", "x": "1"}, id="json: add"),
    ],
)
def test_patch_types(patch_type: str, patch: Any, path: tuple[str, ...], expected: Any) -> None:
    result: Any = apply_patch(POD, patch, patch_type)
    for key in path:
        result = result[key]
    assert result == expected
    assert POD["metadata"]["labels"] == {"app": "web", "tier": "front"}  # the input is never changed


@pytest.mark.parametrize(
    ("patch_type", "patch", "message"),
    [
        pytest.param("json", [{"op": "remove", "path": "/nope"}], "does not apply", id="json: a missing path"),
        pytest.param("json", [{"op": "test", "path": "/kind", "value": "Node"}], "does not apply", id="json: a test"),
        pytest.param("json", {"a": 1}, "must be a list", id="json: not a list"),
        pytest.param("merge", [1], "must be a map", id="merge: not a map"),
    ],
)
def test_patches_that_cannot_apply_are_one_line(patch_type: str, patch: Any, message: str) -> None:
    with pytest.raises(CliError, match=message):
        apply_patch(POD, patch, patch_type)


def test_label_arguments_split_into_names_settings_and_removals() -> None:
    assert split_changes(["a", "b", "x=1", "y-"], LABEL) == (["a", "b"], {"x": "1"}, ["y"])


@pytest.mark.parametrize(
    ("words", "message"),
    [
        pytest.param(["a"], "give at least one label", id="no change"),
        pytest.param(["a", "x=1", "b"], "give the names before the changes", id="a name after a change"),
        pytest.param(["a", "bad key!=1"], "invalid label", id="a bad key"),
        pytest.param(["a", "x=" + "v" * 100], "invalid label", id="a label value too long"),
    ],
)
def test_bad_label_arguments_are_refused(words: list[str], message: str) -> None:
    with pytest.raises(CliError, match=message):
        split_changes(words, LABEL)

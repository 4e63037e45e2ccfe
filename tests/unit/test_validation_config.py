"""ConfigMap and Secret rules: keys, the 1 MiB limit, stringData, immutability, redacted copies."""

from __future__ import annotations

import pytest

from atoll import kinds
from atoll.cli import printers
from atoll.kinds import apply_defaults
from atoll.kinds.checks import validate, validate_update
from atoll.v1 import object_pb2
from atoll.validation.config import key_problem, relative_path_problem
from tests.support.config_objects import make_config_map, make_secret

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        pytest.param("index.html", True, id="a file name"),
        pytest.param("-._a-Z9", True, id="every allowed character"),
        pytest.param(".", False, id="dot"),
        pytest.param("..", False, id="dot dot"),
        pytest.param("a/b", False, id="a slash"),
        pytest.param("", False, id="empty"),
        pytest.param("k" * 254, False, id="over 253 characters"),
        pytest.param("é", False, id="not ASCII"),
    ],
)
def test_keys_are_file_names(key: str, ok: bool) -> None:
    assert (key_problem(key) is None) is ok


@pytest.mark.parametrize(
    ("path", "ok"),
    [("a/b.txt", True), ("..a", True), ("/etc/passwd", False), ("a/../../b", False), ("..", False)],
)
def test_paths_inside_a_volume_never_leave_it(path: str, ok: bool) -> None:
    assert (relative_path_problem(path) is None) is ok


def test_a_secret_over_one_mebibyte_is_refused_without_its_value() -> None:
    obj = make_secret(a=b"x" * (MIB // 2), b=b"y" * (MIB // 2))
    problems = [str(error) for error in validate(obj)]
    assert problems == ["data: keys and values total 1048578 bytes, more than the limit of 1048576 (1 MiB)"]
    assert validate(make_secret(a=b"x" * (MIB - 1))) == []


def test_string_data_merges_into_data_and_is_never_kept() -> None:
    obj = make_secret(password=b"old", other=b"kept")
    obj.secret.string_data["password"] = "new"
    apply_defaults(obj)
    assert dict(obj.secret.data) == {"password": b"new", "other": b"kept"}
    assert not obj.secret.string_data and obj.secret.type == "Opaque"


def test_immutable_objects_keep_their_data() -> None:
    old = make_config_map(a="1")
    old.config_map.immutable = True
    changed = object_pb2.Object()
    changed.CopyFrom(old)
    changed.config_map.data["a"] = "2"
    changed.config_map.immutable = False
    assert [error.path for error in validate_update(old, changed)] == ["immutable", "data"]
    relabeled = object_pb2.Object()
    relabeled.CopyFrom(old)
    relabeled.config_map.metadata.labels["tier"] = "web"
    assert validate_update(old, relabeled) == []
    secret = make_secret()
    secret.secret.immutable = True
    rewritten = object_pb2.Object()
    rewritten.CopyFrom(secret)
    rewritten.secret.data["password"] = b"other"
    assert [error.path for error in validate_update(secret, rewritten)] == ["data"]


def test_a_redacted_copy_is_refused() -> None:
    obj = make_secret(password=b"")
    obj.secret.data_redacted = True
    assert [error.path for error in validate(obj)] == ["dataRedacted"]


def test_get_columns_count_entries_and_name_the_secret_type() -> None:
    config_map = make_config_map(a="1", b="2")
    config_map.config_map.binary_data["c"] = b"\x00"
    secret = make_secret(password=b"x")
    apply_defaults(secret)
    for obj in (config_map, secret):
        kinds.unwrap(obj).metadata.creation_timestamp.FromSeconds(1000)
    cm_columns = printers.columns_for(kinds.lookup("cm"))
    secret_columns = printers.columns_for(kinds.lookup("secret"))
    assert printers.headers(cm_columns) == ["NAME", "DATA", "AGE"]
    assert printers.rows(cm_columns, [config_map], 1060) == [["web-config", "3", "60s"]]
    assert printers.headers(secret_columns) == ["NAME", "TYPE", "DATA", "AGE"]
    assert printers.rows(secret_columns, [secret], 1060) == [["db", "Opaque", "1", "60s"]]

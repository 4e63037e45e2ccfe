"""``atoll apply``: validate everything first, then apply each object and report like kubectl."""

from __future__ import annotations

import io
from pathlib import Path

import grpc
import pytest

from atoll import kinds
from atoll.cli import apply
from atoll.cli.common import Streams
from atoll.cli.main import main
from tests.support.objects import make_pod
from tests.unit.test_client_fake import Abort, serve_fake

POD = """\
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: %s}
spec:
  containers: [{name: main, image: busybox}]
"""
NAMESPACE = """\
apiVersion: atoll.dev/v1
kind: Namespace
metadata: {name: prod}
"""
BAD_POD = """\
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: bad}
spec:
  containers: [{name: main}]
"""


def streams() -> Streams:
    return Streams(out=io.StringIO(), err=io.StringIO())


def text(stream: object) -> str:
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def write(tmp_path: Path, name: str, *documents: str) -> str:
    path = tmp_path / name
    path.write_text("---\n".join(documents))
    return str(path)


def test_an_invalid_document_prints_every_problem_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATOLL_CONFIG", str(tmp_path / "absent.yaml"))  # no server needed to fail
    path = write(tmp_path, "app.yaml", POD % "web", BAD_POD, "kind: Gadget\napiVersion: atoll.dev/v1\n")
    assert main(["apply", "-f", path]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == f"error: {path} doc 2: spec.containers[0].image: required"
    assert lines[1].startswith(f"error: {path} doc 3: kind: unknown kind")
    assert len(lines) == 2


async def test_each_object_is_applied_in_order_and_reported_like_kubectl(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", NAMESPACE, POD % "web", POD % "api")
    s = streams()
    objects = apply.load_objects([path], None, s)
    assert objects is not None
    async with serve_fake() as (fake, client, _):
        fake.put(objects[2])  # api exists already, identical
        code = await apply.apply_all(client, objects, s)
    assert code == 0
    assert text(s.out).splitlines() == ["namespace/prod created", "pod/web created", "pod/api unchanged"]


async def test_server_errors_are_printed_and_the_remaining_objects_still_applied() -> None:
    objects = [make_pod("a"), make_pod("b"), make_pod("c")]
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.reject["Apply"] = lambda request: (
            Abort(grpc.StatusCode.INVALID_ARGUMENT, "pod/b: spec.os: unsupported\npod/b: x: bad")
            if kinds.unwrap(request.object).metadata.name == "b"
            else None
        )
        code = await apply.apply_all(client, objects, s)
    assert code == 1
    assert text(s.out).splitlines() == ["pod/a created", "pod/c created"]
    assert text(s.err) == "Error from server (Invalid): pod/b: spec.os: unsupported; pod/b: x: bad\n"


async def test_an_unreachable_server_stops_after_the_first_object() -> None:
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.fail("Apply", grpc.StatusCode.UNAVAILABLE, "failed to connect: Connection refused")
        code = await apply.apply_all(client, [make_pod("a"), make_pod("b")], s)
        attempts = len(fake.requests["Apply"])
    assert (code, attempts) == (1, 1)
    assert "cannot reach the atoll server" in text(s.err)


@pytest.mark.parametrize(
    ("document_namespace", "flag", "expected", "error"),
    [
        pytest.param("", "prod", "prod", "", id="the flag fills a missing namespace"),
        pytest.param("prod", "prod", "prod", "", id="a matching namespace is fine"),
        pytest.param("dev", "prod", None, "does not match --namespace prod", id="a different namespace is refused"),
        pytest.param("", None, "", "", id="without the flag the server defaults it"),
    ],
)
def test_namespace_flag_rules(
    tmp_path: Path, document_namespace: str, flag: str | None, expected: str | None, error: str
) -> None:
    pod = POD % "web"
    if document_namespace:
        pod = pod.replace("{name: web}", f"{{name: web, namespace: {document_namespace}}}")
    s = streams()
    objects = apply.load_objects([write(tmp_path, "p.yaml", pod)], flag, s)
    if expected is None:
        assert objects is None
        assert error in text(s.err)
    else:
        assert objects is not None
        assert kinds.unwrap(objects[0]).metadata.namespace == expected


def test_bad_config_map_secret_and_volumes_are_one_line_each_and_never_show_a_secret_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATOLL_CONFIG", str(tmp_path / "absent.yaml"))
    big = "x" * (1024 * 1024)
    secret = f"apiVersion: atoll.dev/v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: {big}}}\n"
    bad_key = "apiVersion: atoll.dev/v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {../passwd: x}\n"
    pod = POD % "web" + "  volumes: [{name: cfg, configMap: {name: web, items: [{key: a, path: ../../etc/x}]}}]\n"
    path = write(tmp_path, "app.yaml", secret, bad_key, pod)
    assert main(["apply", "-f", path]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"error: {path} doc 1: data: keys and values total 1048584 bytes, more than the limit of 1048576 (1 MiB)",
        f"error: {path} doc 2: data[../passwd]: invalid key \"../passwd\": use letters, digits, '-', '_' and '.'",
        f"error: {path} doc 3: spec.volumes[0].configMap.items[0].path: may not contain '..', got \"../../etc/x\"",
    ]

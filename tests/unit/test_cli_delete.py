"""``atoll delete``: by name or manifest, cascade policy, --wait through a watch, errors."""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path

import pytest

from atoll import kinds
from atoll.cli import delete
from atoll.cli.common import CliError, Streams
from atoll.cli.main import build_parser
from atoll.client import Client
from atoll.watch_events import DELETED, MODIFIED
from tests.support.objects import make_node, make_pod
from tests.unit.test_client_fake import batch, serve_fake


def streams() -> Streams:
    return Streams(out=io.StringIO(), err=io.StringIO())


def text(stream: object) -> str:
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["delete", *argv])


async def targets(client: Client, args: argparse.Namespace) -> list[delete.Target]:
    return await delete.targets_of(client, delete.requests_from_args(args), args)


async def test_named_objects_are_deleted_and_reported() -> None:
    args = parse("pods", "a", "b", "-n", "prod", "--cascade", "foreground")
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.put(make_pod("a", "prod"))
        fake.put(make_pod("b", "prod"))
        code = await delete.delete_all(client, await targets(client, args), args, s)
        requests = fake.requests["Delete"]
        left = list(fake.objects)
    assert code == 0
    assert text(s.out) == "pod/a deleted\npod/b deleted\n"
    assert [(r.namespace, r.name, r.propagation_policy) for r in requests] == [
        ("prod", "a", "foreground"),
        ("prod", "b", "foreground"),
    ]
    assert left == []


async def test_a_missing_object_is_an_error_unless_ignored() -> None:
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.put(make_pod("b"))
        args = parse("pod", "ghost", "b")
        code = await delete.delete_all(client, await targets(client, args), args, s)
        ignored_args = parse("pod", "ghost", "--ignore-not-found")
        quiet = streams()
        ignored = await delete.delete_all(client, await targets(client, ignored_args), ignored_args, quiet)
    assert code == 1
    assert text(s.err) == 'Error from server (NotFound): pods "ghost" not found\n'
    assert text(s.out) == "pod/b deleted\n"
    assert (ignored, text(quiet.err)) == (0, "")


async def test_wait_follows_the_watch_until_the_object_is_deleted() -> None:
    pod = make_pod("web")
    pod.pod.metadata.finalizers.append("atoll.dev/cleanup")
    args = parse("pod", "web", "--wait", "--timeout", "5")
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.put(pod)
        fake.watch_scripts.append([batch((MODIFIED, pod, 90)), batch((DELETED, pod, 91))])
        code = await delete.delete_all(client, await targets(client, args), args, s)
        marked_revision = kinds.unwrap(fake.objects[("Pod", "default", "web")]).metadata.resource_version
        watch = fake.requests["Watch"][0]
    assert code == 0
    assert text(s.out) == "pod/web deleted\n"
    assert (watch.field_selector, watch.resource_version) == ("metadata.name=web", marked_revision)


async def test_wait_gives_up_after_the_timeout_with_one_line() -> None:
    pod = make_pod("web")
    pod.pod.metadata.finalizers.append("atoll.dev/cleanup")
    args = parse("pod", "web", "--wait", "--timeout", "0.2")
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.put(pod)
        code = await asyncio.wait_for(delete.delete_all(client, await targets(client, args), args, s), 5)
    assert code == 1
    assert text(s.err) == "error: timed out after 0.2s waiting for pod/web to be deleted\n"


async def test_without_wait_a_finalized_object_is_reported_deleted_at_once() -> None:
    pod = make_pod("web")
    pod.pod.metadata.finalizers.append("atoll.dev/cleanup")
    args = parse("pod", "web")
    async with serve_fake() as (fake, client, _):
        fake.put(pod)
        code = await delete.delete_all(client, await targets(client, args), args, streams())
        watched = fake.requests["Watch"]
    assert (code, watched) == (0, [])


def test_targets_from_manifests_default_the_namespace_and_skip_it_for_cluster_kinds() -> None:
    targets = delete.targets_from_objects([make_pod("web", ""), make_node("n1")])
    assert [(str(t), t.namespace) for t in targets] == [("pod/web", "default"), ("node/n1", "")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param([], "nothing to delete", id="no arguments"),
        pytest.param(["pods"], "give the names of the pods to delete", id="a kind without names"),
        pytest.param(["pods", "a", "-f", "x.yaml"], "not both", id="names and a file"),
        pytest.param(["pods", "a", "-l", "app=web"], "not both", id="names and a selector"),
        pytest.param(["pod/a", "b"], "resource/name form", id="a bare name after KIND/NAME"),
        pytest.param(["pod", "vm/b"], "no need to specify a resource type", id="KIND/NAME after a separate KIND"),
        pytest.param(["podz", "a"], 'did you mean "pod"', id="a mistyped kind"),
    ],
)
def test_ambiguous_or_empty_requests_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises((CliError, kinds.UnknownKindError), match=message):
        delete.requests_from_args(parse(*argv))


def test_delete_by_manifest_reads_kind_and_name_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: atoll.dev/v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: m}]\n"
    )
    monkeypatch.setenv("ATOLL_CONFIG", str(tmp_path / "absent.yaml"))
    from atoll.cli.main import main

    assert main(["delete", "-f", str(manifest)]) == 1
    assert capsys.readouterr().err == f"error: {manifest} doc 1: spec.containers[0].image: required\n"


async def test_a_selector_deletes_every_matching_object_of_the_kind() -> None:
    args = parse("pods", "-l", "app=web", "-n", "prod")
    s = streams()
    async with serve_fake() as (fake, client, _):
        for name, app in (("a", "web"), ("b", "db"), ("c", "web")):
            pod = make_pod(name, "prod")
            pod.pod.metadata.labels["app"] = app
            fake.put(pod)
        code = await delete.delete_all(client, await targets(client, args), args, s)
        deleted = [(r.namespace, r.name) for r in fake.requests["Delete"]]
    assert code == 0
    assert deleted == [("prod", "a"), ("prod", "c")]

"""A node's pulls against a real registry (docker-registry on loopback) with the real skopeo:
policies, digests, deduplicated concurrent pulls, the node's platform out of an index, and bad
input (unknown manifests, bad names, hostile layers) that leaves the store as it was."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import metrics
from agent.images import node_images
from agent.images.node_images import NodeImages
from agent.images.pull_types import PullError, PullRequest
from atoll.image_platforms import Platform
from atoll.image_registry import RegistryConfig
from atoll.images import ImageStore
from tests.support.image_cli import run_image_cli
from tests.support.oci_archives import tar_bytes
from tests.support.registry import LocalRegistry, local_registry
from tests.support.system import require_binary

pytestmark = pytest.mark.timeout(120)
AMD64 = Platform("linux", "amd64")


@pytest.fixture(scope="module")
def registry() -> Iterator[LocalRegistry]:
    require_binary("docker-registry", "docker-registry")
    require_binary("skopeo", "skopeo")
    with local_registry() as running:
        layer = tar_bytes([("dir", "etc"), ("file", "etc/motd", b"pulled\n")], compress=True)
        running.push_image("app/one", "1", {"os": "linux", "architecture": "amd64"}, [layer], {"Cmd": ["sh"]})
        for arch in ("amd64", "arm64"):
            arch_layer = tar_bytes([("file", "arch", arch.encode())], compress=True)
            running.push_image("app/multi", f"only-{arch}", {"os": "linux", "architecture": arch}, [arch_layer])
        descriptors = [
            running.push_image("app/multi", "", {"os": "linux", "architecture": arch},
                               [tar_bytes([("file", "arch", arch.encode())], compress=True)])[1]
            for arch in ("arm64", "amd64")
        ]
        index = "application/vnd.oci.image.index.v1+json"
        running.push_manifest("app/multi", "1", {"schemaVersion": 2, "mediaType": index, "manifests": descriptors},
                              index)
        hostile = tar_bytes([("file", "../escaped", b"x")], compress=True)
        running.push_image("app/hostile", "1", {"os": "linux", "architecture": "amd64"}, [hostile])
        yield running


def node(tmp_path: Path, registry: LocalRegistry) -> NodeImages:
    return NodeImages(ImageStore(tmp_path / "images"), AMD64, RegistryConfig(insecure=frozenset({registry.host})))


def pulled_count() -> float:
    return metrics.IMAGE_PULLS.labels("pulled")._value.get()


async def test_pull_by_tag_then_reuse_per_policy(tmp_path: Path, registry: LocalRegistry) -> None:
    images = node(tmp_path, registry)
    reference = f"{registry.host}/app/one:1"
    first = await images.ensure(PullRequest(reference))
    assert first.pulled and first.reference == reference
    assert first.image_id.startswith(f"{registry.host}/app/one@sha256:")
    stored = images.store.resolve(first.reference)
    assert (stored.rootfs / "etc" / "motd").read_text() == "pulled\n"
    assert stored.config.cmd == ("sh",) and stored.config.digest == first.image_id.split("@")[1]
    again = await images.ensure(PullRequest(reference))
    assert not again.pulled and again.image_id == first.image_id and not images.pull_needed(PullRequest(reference))
    always = await images.ensure(PullRequest(reference, "Always"))
    assert not always.pulled and always.image_id == first.image_id  # same digest: nothing downloaded
    assert images.pull_needed(PullRequest(reference, "Always"))
    digest = first.image_id.split("@")[1]
    pinned = await images.ensure(PullRequest(f"{registry.host}/app/one@{digest}"))
    assert pinned.pulled and pinned.reference == f"{registry.host}/app/one:{digest.replace(':', '-')}"
    assert pinned.image_id == first.image_id
    assert (images.store.root / ".blobs" / "sha256").is_dir()
    assert not any((images.store.root / ".pulls").iterdir())
    code, out, _ = run_image_cli(["image", "ls", "--image-dir", str(images.store.root)])
    assert code == 0 and out.splitlines() == [f"{reference}  {digest}", f"{pinned.reference}  {digest}"]


async def test_concurrent_pulls_of_one_image_are_one_pull(tmp_path: Path, registry: LocalRegistry) -> None:
    images = node(tmp_path, registry)
    before = pulled_count()
    results = await asyncio.gather(*(images.ensure(PullRequest(f"{registry.host}/app/one:1")) for _ in range(5)))
    assert pulled_count() - before == 1
    assert len({r.image_id for r in results}) == 1


async def test_the_node_platform_is_taken_from_an_index(tmp_path: Path, registry: LocalRegistry) -> None:
    images = node(tmp_path, registry)
    ready = await images.ensure(PullRequest(f"{registry.host}/app/multi:1"))
    assert (images.store.resolve(ready.reference).rootfs / "arch").read_text() == "amd64"
    arm = NodeImages(ImageStore(tmp_path / "arm"), Platform("linux", "arm64"),
                     RegistryConfig(insecure=frozenset({registry.host})))
    ready = await arm.ensure(PullRequest(f"{registry.host}/app/multi:1"))
    assert (arm.store.resolve(ready.reference).rootfs / "arch").read_text() == "arm64"


@pytest.mark.parametrize(
    ("image", "policy", "reason", "words"),
    [
        pytest.param("app/missing:1", "", "ErrImagePull", "manifest unknown", id="an unknown manifest"),
        pytest.param("app/one:2", "", "ErrImagePull", "manifest unknown", id="an unknown tag"),
        pytest.param("app/one:1", "Never", "ErrImageNeverPull", "imagePullPolicy is Never", id="Never, not present"),
        pytest.param("App/One", "", "InvalidImageName", "is not [REGISTRY/]NAME", id="a bad name"),
        pytest.param("app/hostile:1", "", "ErrImagePull", "escaped", id="a layer writing outside its root"),
        pytest.param("app/multi:only-arm64", "", "ErrImagePull", "offers linux/arm64; this node is linux/amd64",
                     id="an arm64-only image on an amd64 node"),
    ],
)
async def test_failed_pulls_say_why_and_leave_the_store_as_it_was(
    tmp_path: Path, registry: LocalRegistry, image: str, policy: str, reason: str, words: str
) -> None:
    images = node(tmp_path, registry)
    reference = image if image.startswith("App") else f"{registry.host}/{image}"
    with pytest.raises(PullError) as caught:
        await images.ensure(PullRequest(reference, policy))
    assert caught.value.reason == reason and words in str(caught.value)
    assert "\n" not in str(caught.value)
    assert images.store.references() == []
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "images" / "escaped").exists()
    pulls = tmp_path / "images" / ".pulls"
    assert not pulls.exists() or not any(pulls.iterdir())


async def test_an_unreachable_registry_is_err_image_pull(tmp_path: Path) -> None:
    images = NodeImages(ImageStore(tmp_path / "images"), AMD64, RegistryConfig(insecure=frozenset({"127.0.0.1:9"})))
    with pytest.raises(PullError) as caught:
        await images.ensure(PullRequest("127.0.0.1:9/app:1"))
    assert caught.value.reason == "ErrImagePull" and "cannot reach" in str(caught.value)


@pytest.mark.parametrize(
    ("in_use", "kept"),
    [
        pytest.param(set(), False, id="an unused image goes when pulled images pass the limit"),
        pytest.param({"one"}, True, id="an image a task dir names stays"),
        pytest.param(None, True, id="nothing goes while a driver cannot tell what its tasks run"),
    ],
)
async def test_unused_pulled_images_are_collected_past_the_limit(
    tmp_path: Path, registry: LocalRegistry, monkeypatch: pytest.MonkeyPatch, in_use: set[str] | None, kept: bool
) -> None:
    monkeypatch.setattr(node_images, "FRESH_SECONDS", 0.0)
    images = NodeImages(ImageStore(tmp_path / "images"), AMD64, RegistryConfig(insecure=frozenset({registry.host})),
                        image_bytes=1)
    imported = tmp_path / "rootfs"
    (imported / "etc").mkdir(parents=True)
    images.store.import_path(imported, "local/tools:1")
    one = f"{registry.host}/app/one:1"
    images.add_user(lambda: None if in_use is None else {one for _ in in_use})
    await images.ensure(PullRequest(one))
    second = await images.ensure(PullRequest(f"{registry.host}/app/multi:1"))
    references = images.store.references()
    assert second.reference in references and "local/tools:1" in references  # the new one and imports stay
    assert (one in references) is kept

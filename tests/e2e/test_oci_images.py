"""The node image store: references, rootfs and OCI image-layout imports (whiteouts, config), and
a container run from an imported layout using the image's entrypoint, cmd, env and working dir."""

from __future__ import annotations

import asyncio
import io
import tarfile
from pathlib import Path

import pytest

from atoll.images import ImageError, ImageStore, parse_reference
from tests.e2e import artifacts
from tests.e2e.conftest import OciFactory, container
from tests.support.oci_archives import layout_tarball, oci_layout, tar_bytes


@pytest.mark.parametrize(("reference", "expected"), [
    pytest.param("busybox", ("busybox", "latest"), id="a bare name means the latest tag"),
    pytest.param("busybox:1.36", ("busybox", "1.36"), id="a tag is kept"),
    pytest.param("registry:5000/team/app:v2", ("registry:5000/team/app", "v2"), id="a registry port is not a tag"),
])
def test_references_name_an_image_and_a_tag(reference: str, expected: tuple[str, str]) -> None:
    assert parse_reference(reference) == expected


@pytest.mark.parametrize("reference", [
    pytest.param("", id="empty"),
    pytest.param("app@sha256:abc", id="a digest"),
    pytest.param("../escape:1", id="a path that escapes the store"),
])
def test_bad_references_are_refused(reference: str) -> None:
    with pytest.raises(ImageError):
        parse_reference(reference)


RUN_SCRIPT = b'#!/bin/sh\necho "$GREETING from $(pwd):" $(ls /data /opaque) "$@"\n'


def _oci_layout(dest: Path, busybox: Path) -> Path:
    """An OCI image-layout tarball: layer 1 = busybox + files, layer 2 deletes and replaces some."""
    lower = tar_bytes([("dir", "bin"), ("file", "bin/busybox", busybox.read_bytes()), ("dir", "data"),
                       ("file", "data/old", b"old\n"), ("file", "data/keep", b"keep\n"), ("dir", "opaque"),
                       ("file", "opaque/gone", b"gone\n"), ("dir", "app"), ("symlink", "bin/sh", "busybox"),
                       ("symlink", "bin/cat", "busybox"), ("symlink", "bin/ls", "busybox")], compress=True)
    upper = tar_bytes([("file", "data/.wh.old", b""), ("file", "opaque/.wh..wh..opq", b""),
                       ("file", "opaque/new", b"new\n"),
                       ("file", "app/run.sh", RUN_SCRIPT)],
                      compress=True)
    config = {"Entrypoint": ["/bin/sh", "/app/run.sh"], "Cmd": ["default-arg"], "Env": ["GREETING=hi"],
              "WorkingDir": "/app"}
    return layout_tarball(oci_layout(dest.with_suffix(".layout"), [lower, upper], config), dest)


def test_an_oci_layout_import_applies_layers_with_whiteouts_and_keeps_the_config(
    tmp_path: Path, busybox: Path
) -> None:
    store = ImageStore(tmp_path / "images")
    image = store.import_path(_oci_layout(tmp_path / "app.tar", busybox), "team/app:v1")
    assert sorted(path.name for path in (image.rootfs / "data").iterdir()) == ["keep"]
    assert sorted(path.name for path in (image.rootfs / "opaque").iterdir()) == ["new"]
    assert image.config.entrypoint == ("/bin/sh", "/app/run.sh")
    assert image.config.cmd == ("default-arg",)
    assert (image.config.env, image.config.working_dir) == (("GREETING=hi",), "/app")
    assert store.references() == ["team/app:v1"]


def test_a_rootfs_tarball_imports_and_replaces_an_older_image_of_the_same_name(tmp_path: Path, busybox: Path) -> None:
    store = ImageStore(tmp_path / "images")
    rootfs = artifacts.busybox_rootfs(tmp_path / "rootfs", busybox)
    store.import_path(rootfs, "box")
    tarball = tmp_path / "box.tar"
    with tarfile.open(tarball, "w") as archive:
        archive.add(rootfs, arcname=".")
        info = tarfile.TarInfo("etc/motd")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"v2\n"))
    image = store.import_path(tarball, "box")
    assert (image.rootfs / "etc" / "motd").read_text() == "v2\n"
    assert store.references() == ["box:latest"]


def test_an_unknown_image_or_source_is_a_one_line_error(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    with pytest.raises(ImageError, match=r"image 'ghost' not found in .*atoll image import"):
        store.resolve("ghost")
    with pytest.raises(ImageError, match="no such file"):
        store.import_path(tmp_path / "missing.tar", "x")


async def test_a_container_runs_an_imported_layout_with_its_entrypoint_cmd_env_and_workdir(
    oci: OciFactory, tmp_path: Path, busybox: Path
) -> None:
    driver = oci()
    driver.images.import_path(_oci_layout(tmp_path / "app.tar", busybox), "team/app:v1")
    await driver.start(container("u1:main", image="team/app:v1"))
    await driver.start(container("u2:main", image="team/app:v1", args=("custom-arg",)))
    for task_id, argument in (("u1:main", "default-arg"), ("u2:main", "custom-arg")):
        assert (await asyncio.wait_for(driver.wait(task_id), 10)).exit_code == 0
        lines = [line.text async for line in driver.logs(task_id)]
        assert lines == [f"hi from /app: /data: keep /opaque: new {argument}"]


async def test_an_image_named_with_a_registry_port_runs(oci: OciFactory, tmp_path: Path, busybox: Path) -> None:
    """The store path holds ':' (and could hold ','), which separate overlay mount options."""
    driver = oci()
    driver.images.import_path(artifacts.busybox_rootfs(tmp_path / "rootfs", busybox), "localhost:5000/team/box:v1")
    await driver.start(container("u1:main", "sh", "-c", "echo ported", image="localhost:5000/team/box:v1"))
    assert (await asyncio.wait_for(driver.wait("u1:main"), 10)).exit_code == 0
    assert [line.text async for line in driver.logs("u1:main")] == ["ported"]

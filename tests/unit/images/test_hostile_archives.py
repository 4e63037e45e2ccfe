"""Importing hostile archives: nothing outside the image store changes, whatever the archive
holds, and a refusal is one bounded line. Each case is one attack an archive can make."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from atoll.image_layers import UnpackLimits
from atoll.image_layout import INDEX_MEDIA_TYPES
from atoll.images import ImageError, ImageStore
from tests.support.oci_archives import Entry, layout_tarball, oci_layout, tar_bytes
from tests.support.system import require_binary
from tests.unit.images.world import World

OUT = "{outside}"  # replaced by the absolute path of the directory the archive must not touch


def _layers(world: World, layers: list[list[Entry]]) -> list[bytes]:
    """Gzip layers of ``layers``, OUT in any name or target replaced by the outside directory."""
    outside = str(world.outside)
    return [tar_bytes([tuple(part.replace(OUT, outside) if isinstance(part, str) else part for part in entry)
                       for entry in layer], compress=True) for layer in layers]


CASES = [
    pytest.param([[("symlink", "x", f"{OUT}/dir"), ("file", "x/file", b"evil")]], None,
                 id="a symlink to an outside directory, then a file through it"),
    pytest.param([[("symlink", "x", "../../../../../../../../.."), ("file", f"x{OUT}/dir/file", b"evil")]], None,
                 id="a relative symlink climbing out, then a file through it"),
    pytest.param([[("symlink", "x", f"{OUT}/dir")], [("file", "x/.wh.file", b"")]], None,
                 id="a whiteout in a later layer through a symlink"),
    pytest.param([[("symlink", "x", f"{OUT}/dir")], [("file", "x/.wh..wh..opq", b"")]], None,
                 id="an opaque whiteout through a symlink"),
    pytest.param([[("file", ".wh..", b""), ("file", "a/.wh..", b"")]], None,
                 id="a whiteout of '..' or '.'"),
    pytest.param([[("symlink", "x", f"{OUT}/secret"), ("file", "x", b"replaced")]], None,
                 id="a file replacing a symlink to an outside file"),
    pytest.param([[("symlink", "x", f"{OUT}/secret")], [("file", "x", b"replaced")]], None,
                 id="a later layer replacing a symlink to an outside file"),
    pytest.param([[("symlink", "d", OUT), ("dir", "d"), ("file", "d/secret", b"x")]], None,
                 id="a directory entry over a symlink to an outside directory"),
    pytest.param([[("hardlink", "h", f"{OUT}/secret")]], "which the image does not have",
                 id="a hard link to an absolute outside path"),
    pytest.param([[("symlink", "x", OUT), ("hardlink", "h", "x/secret")]], "which the image does not have",
                 id="a hard link through a symlink to an outside file"),
    pytest.param([[("file", "../escape", b"evil")]], "has a '..' component",
                 id="a name with '..'"),
    pytest.param([[("file", f"{OUT}/secret", b"evil")]], None,
                 id="an absolute name lands inside the rootfs"),
    pytest.param([[("chardev", "dev/mem"), ("fifo", "pipe"), ("file", "ok", b"ok")]], None,
                 id="device nodes and FIFOs are skipped"),
    pytest.param([[("symlink", "a", "b"), ("symlink", "b", "a"), ("file", "a/file", b"x")]], "more than 40 symlinks",
                 id="a symlink loop"),
    pytest.param([[("file", "f", b"x"), ("file", "f/g", b"x")]], "is not a directory",
                 id="a file used as a directory"),
    pytest.param([[("huge", "sparse", 10**12)]], "would exceed the import limit",
                 id="a terabyte file is refused before its data is read"),
    pytest.param([[("file", "n" * 100_000 + "\nFORGED LINE", b"x")]], None,
                 id="a hostile long name with a newline"),
]


@pytest.mark.parametrize(("layers", "refusal"), CASES)
def test_a_hostile_layout_changes_nothing_outside_the_store(
    tmp_path: Path, layers: list[list[Entry]], refusal: str | None
) -> None:
    world = World(tmp_path)
    blobs = _layers(world, layers)
    layout = oci_layout(tmp_path / "layout", blobs)
    sources = [layout, layout_tarball(layout, tmp_path / "layout.tar")]
    if len(blobs) == 1:  # the same entries as a rootfs tarball
        sources.append(tmp_path / "rootfs.tar.gz")
        sources[-1].write_bytes(blobs[0])
    for source in sources:
        error = world.import_(source)
        assert world.outside_unchanged()
        if refusal is not None:
            assert error is not None and refusal in error
        assert error is None or (world.store_is_clean() and "\n" not in error and len(error) < 2000), error


def test_a_symlinked_path_resolves_inside_the_rootfs_as_the_container_sees_it(tmp_path: Path) -> None:
    world = World(tmp_path)
    layers: list[list[Entry]] = [
        [("dir", "usr"), ("dir", "usr/lib"), ("symlink", "lib", "/usr/lib"), ("file", "lib/libc.so", b"c")],
        [("file", "lib/.wh.libc.so", b""), ("file", "lib/libm.so", b"m")],
    ]
    layout = oci_layout(tmp_path / "layout", _layers(world, layers))
    assert world.import_(layout) is None
    rootfs = world.store.resolve("hostile").rootfs
    assert sorted(path.name for path in (rootfs / "usr" / "lib").iterdir()) == ["libm.so"]
    assert (rootfs / "lib").is_symlink()


def test_a_gzip_bomb_stops_at_the_byte_limit(tmp_path: Path) -> None:
    world = World(tmp_path, UnpackLimits(max_bytes=1024 * 1024))
    bomb = tar_bytes([("file", "zeros", bytes(64 * 1024 * 1024))], compress=True)
    assert len(bomb) < 100 * 1024
    (tmp_path / "rootfs.tar.gz").write_bytes(bomb)
    for source in (oci_layout(tmp_path / "layout", [bomb]), tmp_path / "rootfs.tar.gz"):
        error = world.import_(source)
        assert error is not None and "would exceed the import limit of 1048576 bytes" in error
        assert world.outside_unchanged() and world.store_is_clean()


def test_many_small_files_stop_at_the_entry_limit(tmp_path: Path) -> None:
    world = World(tmp_path, UnpackLimits(max_entries=100))
    layer = tar_bytes([("file", f"f{index}", b"x") for index in range(500)])
    error = world.import_(oci_layout(tmp_path / "layout", [layer]))
    assert error is not None and "more than 100 entries" in error


def test_too_many_layers_are_refused(tmp_path: Path) -> None:
    world = World(tmp_path, UnpackLimits(max_layers=3))
    layer = tar_bytes([("file", "f", b"x")])
    error = world.import_(oci_layout(tmp_path / "layout", [layer] * 4))
    assert error is not None and "the image has 4 layers; at most 3 are supported" in error


@pytest.mark.parametrize(("changes", "message"), [
    pytest.param({"layers": [{"digest": "sha256:../../../outside"}]}, "bad digest", id="a digest naming a path"),
    pytest.param({"layers": "nope"}, "has no layers list", id="layers that are not a list"),
    pytest.param({"layers": [{"digest": "sha256:" + "0" * 64}]}, "layer 1 (" + "0" * 64 + ") is missing",
                 id="a layer missing from the layout"),
    pytest.param({"config": {"digest": "sha256:" + "0" * 64}}, "the image config (" + "0" * 64 + ") is missing",
                 id="a config missing from the layout"),
])
def test_a_malformed_layout_is_one_line(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    world = World(tmp_path)
    layout = oci_layout(tmp_path / "layout", [tar_bytes([("file", "f", b"x")])], manifest_changes=changes)
    error = world.import_(layout)
    assert error is not None and message in error and "\n" not in error
    assert world.outside_unchanged() and world.store_is_clean()


def test_an_index_that_lists_itself_ends_with_one_line(tmp_path: Path) -> None:
    world = World(tmp_path)
    layout = oci_layout(tmp_path / "layout", [tar_bytes([("file", "f", b"x")])])
    digest = "sha256:" + "a" * 64  # a layout's blobs are not checked against their digests
    index = {"schemaVersion": 2, "manifests": [{"digest": digest, "mediaType": INDEX_MEDIA_TYPES[0]}]}
    (layout / "blobs" / "sha256" / ("a" * 64)).write_text(json.dumps(index))
    (layout / "index.json").write_text(json.dumps(index))
    error = world.import_(layout)
    assert error is not None and "image indexes nest deeper than 4" in error


@pytest.mark.parametrize("reference", [
    pytest.param("app:..", id="a tag of '..'"),
    pytest.param("app:.", id="a tag of '.'"),
    pytest.param(".import-x:1", id="a name the store uses for staging"),
    pytest.param("a/../../b:1", id="a name with '..'"),
    pytest.param("/etc:1", id="an absolute name"),
    pytest.param("app:v1\nforged", id="a newline"),
    pytest.param("x" * 100_000, id="a huge name"),
])
def test_a_reference_that_is_not_a_path_below_the_store_is_refused(tmp_path: Path, reference: str) -> None:
    store = ImageStore(tmp_path / "images")
    with pytest.raises(ImageError) as raised:
        store.path_of(reference)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 500


def test_a_real_sparse_file_counts_its_full_size(tmp_path: Path) -> None:
    """GNU tar stores a 10 GiB file of holes in 124 bytes; unpacked it would be 10 GiB of zeros."""
    tar = require_binary("tar", "tar")
    (tmp_path / "src").mkdir()
    with (tmp_path / "src" / "holes").open("wb") as handle:
        handle.truncate(10 * 1024**3)
    archive = tmp_path / "sparse.tar.gz"
    subprocess.run([tar, "--sparse", "-czf", str(archive), "-C", str(tmp_path / "src"), "holes"], check=True)
    world = World(tmp_path, UnpackLimits(max_bytes=1024 * 1024))
    error = world.import_(archive)
    assert error is not None and "'holes' (10737418240 bytes) would exceed the import limit" in error
    assert world.outside_unchanged() and world.store_is_clean()


def test_an_import_after_a_killed_one_removes_what_it_left(tmp_path: Path) -> None:
    """kill -9 during an import leaves its staging directory (and maybe a retired image) behind."""
    world = World(tmp_path)
    for leftover in (".import-killed/rootfs/usr", ".retired-killed/old/rootfs"):
        (world.store.root / leftover).mkdir(parents=True)
    layout = oci_layout(tmp_path / "layout", [tar_bytes([("file", "f", b"x")])])
    assert world.import_(layout) is None
    assert world.import_(layout) is None, "and again, on the state the first left"
    assert world.store_is_clean()
    assert world.store.references() == ["hostile:latest"]

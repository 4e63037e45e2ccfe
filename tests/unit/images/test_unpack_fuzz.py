"""Property: for any archive built from hostile pieces (links in and out of the rootfs, hard
links, whiteouts, '..' and absolute names, devices, FIFOs, huge declared sizes, many entries),
an import either succeeds with everything inside the store or fails with one bounded line, and
nothing outside the store changes. Limits are small so that every example is quick."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atoll.image_layers import UnpackLimits
from tests.support.oci_archives import Entry, layout_tarball, oci_layout, tar_bytes
from tests.unit.images.world import World

OUT = "{outside}"
NAMES = ["a", "b", "x", "a/b", "x/y", "x/y/z", "b/c", "/abs", "./a", "a//b", "../up", "a/../b",
         ".wh.a", ".wh.x", "x/.wh.y", "x/.wh..wh..opq", "a/.wh..wh..opq", ".wh..", ".wh..wh..opq",
         f"x{OUT}/dir/file", f"{OUT}/secret", "n" * 300]
TARGETS = [OUT, f"{OUT}/dir", f"{OUT}/secret", "/", "..", "../..", "../../../../../..", "a", "x", "x/y",
           "/x", "/a/b", f"..{OUT}", "", "."]
LIMITS = UnpackLimits(max_layers=4, max_entries=60, max_bytes=64 * 1024)

names = st.sampled_from(NAMES)
targets = st.sampled_from(TARGETS)
entries: st.SearchStrategy[Entry] = st.one_of(
    st.tuples(st.just("file"), names, st.binary(max_size=64)),
    st.tuples(st.just("dir"), names),
    st.tuples(st.just("symlink"), names, targets),
    st.tuples(st.just("hardlink"), names, st.one_of(names, targets)),
    st.tuples(st.sampled_from(["fifo", "chardev"]), names),
    st.tuples(st.just("huge"), names, st.sampled_from([64 * 1024 + 1, 10**12])),
)
archives = st.lists(st.lists(entries, max_size=12), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=archives, as_tarball=st.booleans())
def test_any_archive_stays_inside_the_store_or_fails_in_one_line(layers: list[list[Entry]], as_tarball: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="atoll-fuzz-") as scratch:
        root = Path(scratch)
        world = World(root, LIMITS)
        outside = str(world.outside)
        blobs = [tar_bytes([tuple(part.replace(OUT, outside) if isinstance(part, str) else part for part in entry)
                            for entry in layer], compress=True) for layer in layers]
        source = oci_layout(root / "layout", blobs)
        if as_tarball:
            source = layout_tarball(source, root / "layout.tar")
        error = world.import_(source)
        assert world.outside_unchanged()
        if error is None:
            assert world.store.resolve("hostile").rootfs.is_dir()
        else:
            assert "\n" not in error and len(error) < 2000, error
            assert world.store_is_clean()

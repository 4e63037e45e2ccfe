"""``atoll image import|ls``: a user imports a rootfs into a node's store and lists it; mistakes
are one line on stderr with exit code 1."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from atoll.cli import image
from tests.e2e import artifacts
from tests.support.image_cli import run_image_cli

_run = run_image_cli


def test_an_imported_rootfs_lands_in_the_nodes_store_and_is_listed(tmp_path: Path, busybox: Path) -> None:
    rootfs = artifacts.busybox_rootfs(tmp_path / "rootfs", busybox)
    data = str(tmp_path / "data")
    code, out, err = _run(["image", "import", "node-a", str(rootfs), "--name", "tools:1", "--data-dir", data])
    assert (code, err) == (0, "")
    assert "imported tools:1" in out
    assert (tmp_path / "data" / "nodes" / "node-a" / "images" / "tools" / "1" / "rootfs" / "bin" / "busybox").exists()
    assert _run(["image", "ls", "node-a", "--data-dir", data])[1] == "tools:1\n"


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["image", "import", "/no/such/file", "--name", "x"], "error: /no/such/file: no such file",
                 id="a missing file is named"),
    pytest.param(["image", "import", "a", "b", "c", "--name", "x"], "takes [NODE] FILE", id="too many operands"),
    pytest.param(["image", "import", "{rootfs}", "--name", "x@sha256:0"], "is not NAME[:TAG]", id="a digest"),
])
def test_mistakes_are_one_line_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    argv = [arg.replace("{rootfs}", str(tmp_path)) for arg in argv]
    code, _, err = _run([*argv, "--image-dir", str(tmp_path / "images")])
    assert code == 1
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("node", [
    pytest.param("../../outside", id="a node name that climbs out of the data dir"),
    pytest.param("a/b", id="a node name with a slash"),
])
def test_a_node_name_that_is_not_a_node_name_is_refused(tmp_path: Path, node: str) -> None:
    code, _, err = _run(["image", "import", node, str(tmp_path), "--name", "x", "--data-dir", str(tmp_path / "d")])
    assert (code, err.count("\n")) == (1, 1)
    assert "node name" in err
    assert not (tmp_path / "outside").exists() and not (tmp_path / "d").exists()


def test_the_verb_has_its_own_parser() -> None:
    parser = argparse.ArgumentParser()
    image.add_parser(parser.add_subparsers())
    assert parser.parse_args(["image", "ls"]).run is image.run

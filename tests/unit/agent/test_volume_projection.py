"""The atomic writer (kubelet's ``..data`` swap) and the files a ConfigMap or Secret volume shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.volumes import projection
from agent.volumes.host import sub_path
from agent.volumes.payload import ConfigError, volume_payload
from agent.volumes.pod_volumes import remove_orphaned_volumes
from atoll.v1 import config_pb2


def test_a_new_version_is_swapped_in_whole_and_old_files_go(tmp_path: Path) -> None:
    volume = tmp_path / "config"
    assert projection.write(volume, {"a.txt": (b"1", 0o644), "dir/b.txt": (b"2", 0o600)})
    assert (volume / "a.txt").read_text() == "1" and (volume / "dir" / "b.txt").read_text() == "2"
    assert os.readlink(volume / "a.txt") == "..data/a.txt"
    first = os.readlink(volume / projection.DATA_LINK)
    assert not projection.write(volume, {"a.txt": (b"1", 0o644), "dir/b.txt": (b"2", 0o600)}), "same: no write"
    assert projection.write(volume, {"a.txt": (b"changed", 0o644)})
    assert os.readlink(volume / projection.DATA_LINK) != first
    assert sorted(entry.name for entry in volume.iterdir()) == sorted(
        ["..data", "a.txt", os.readlink(volume / projection.DATA_LINK)]
    ), "the old version and the link of a removed key are gone"
    assert projection.files(volume) == {"a.txt": b"changed"}
    assert (volume / "a.txt").stat().st_mode & 0o777 == 0o644


def test_an_interrupted_update_is_finished_by_the_next_write(tmp_path: Path) -> None:
    volume = tmp_path / "config"
    projection.write(volume, {"a": (b"1", 0o644)})
    (volume / "..2000_01_01_00_00_00.000000001").mkdir()  # a version written, never linked
    (volume / "..data_tmp").symlink_to("..2000_01_01_00_00_00.000000001")
    projection.write(volume, {"a": (b"2", 0o644)})
    assert sorted(entry.name for entry in volume.iterdir() if entry.name.startswith("..")) == sorted(
        ["..data", os.readlink(volume / "..data")]
    )
    assert (volume / "a").read_text() == "2"


def _source(*items: tuple[str, str], optional: bool = False) -> config_pb2.ConfigMapVolumeSource:
    source = config_pb2.ConfigMapVolumeSource(name="web", optional=optional)
    for key, path in items:
        source.items.add(key=key, path=path)
    return source


def test_items_choose_keys_and_paths_and_a_missing_key_is_an_error_unless_optional() -> None:
    config_map = config_pb2.ConfigMap(data={"a": "1", "b": "2"}, binary_data={"c": b"\x00"})
    everything = {"a": (b"1", 0o644), "b": (b"2", 0o644), "c": (b"\x00", 0o644)}
    assert volume_payload("cm", config_map, _source()) == everything
    assert volume_payload("cm", config_map, _source(("a", "conf/a.conf"))) == {"conf/a.conf": (b"1", 0o644)}
    with pytest.raises(ConfigError, match="cm has no key 'x'"):
        volume_payload("cm", config_map, _source(("x", "x")))
    assert volume_payload("cm", config_map, _source(("x", "x"), optional=True)) == {}
    with pytest.raises(ConfigError, match="cm not found"):
        volume_payload("cm", None, _source())
    assert volume_payload("cm", None, _source(optional=True)) == {}


def test_a_sub_path_never_resolves_outside_its_volume(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    volume.mkdir()
    (volume / "escape").symlink_to("/etc")
    with pytest.raises(ConfigError, match="resolves outside its volume"):
        sub_path(volume, "escape")
    assert sub_path(volume, "made/here") == (volume / "made" / "here").resolve()


async def test_volume_directories_of_pods_gone_while_the_agent_was_down_are_removed(tmp_path: Path) -> None:
    for uid in ("kept", "gone"):
        (tmp_path / uid / "config").mkdir(parents=True)
    await remove_orphaned_volumes(tmp_path, {"kept"})
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["kept"]

"""The runtime spec built from a task config (pure: no runtime needed): argv as Kubernetes
resolves it, env precedence, namespaces, and cgroup limits from resources and annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.drivers.oci.bundle import build_spec
from agent.drivers.oci.limits import CPU_LIMIT_ANNOTATION, PIDS_LIMIT_ANNOTATION, limits_for
from agent.drivers.protocol import CannotRunError, Resources
from atoll.images import ImageConfig
from tests.e2e.conftest import container

IMAGE = ImageConfig(entrypoint=("/entry",), cmd=("default",), env=("PATH=/image/bin", "A=image"), working_dir="/w")
MIB = 2**20


def _spec(**changes: Any) -> dict[str, Any]:
    config = container("u1:main", **changes)
    return build_spec(config, IMAGE, limits_for(config, default_pids_limit=100), Path("/root"), "/atoll/u1.main")


@pytest.mark.parametrize(("changes", "argv"), [
    pytest.param({}, ["/entry", "default"], id="neither command nor args runs the image entrypoint and cmd"),
    pytest.param({"args": ("x",)}, ["/entry", "x"], id="args replace the image cmd only"),
    pytest.param({"command": ("/bin/sh",)}, ["/bin/sh"], id="command replaces entrypoint and drops the cmd"),
    pytest.param({"command": ("/bin/sh",), "args": ("-c", "true")}, ["/bin/sh", "-c", "true"],
                 id="command and args run together"),
])
def test_argv_follows_kubernetes_rules(changes: dict[str, Any], argv: list[str]) -> None:
    assert _spec(**changes)["process"]["args"] == argv


def test_pod_env_overrides_image_env_which_overrides_defaults() -> None:
    env = _spec(env=(("A", "pod"), ("B", "pod")))["process"]["env"]
    assert env == ["PATH=/image/bin", "HOSTNAME=pod-u1", "A=pod", "B=pod"]


def test_a_container_without_any_command_cannot_run() -> None:
    config = container("u1:main")
    with pytest.raises(CannotRunError, match="no command"):
        build_spec(config, ImageConfig(), limits_for(config), Path("/r"), "/atoll/x")


@pytest.mark.parametrize(("host_network", "namespaces"), [
    pytest.param(False, ["pid", "ipc", "uts", "mount", "network"], id="a pod gets its own network namespace"),
    pytest.param(True, ["pid", "ipc", "uts", "mount"], id="host network shares the host's"),
])
def test_namespaces(host_network: bool, namespaces: list[str]) -> None:
    spec = _spec(host_network=host_network)
    assert [entry["type"] for entry in spec["linux"]["namespaces"]] == namespaces


def test_resources_and_annotations_become_enforced_cgroup_limits() -> None:
    spec = _spec(resources=Resources(cpu_millis=500, memory_request=32 * MIB, memory_limit=64 * MIB),
                 annotations=((CPU_LIMIT_ANNOTATION, "1500m"), (PIDS_LIMIT_ANNOTATION, "32")))
    resources = spec["linux"]["resources"]
    assert resources["memory"] == {"limit": 64 * MIB, "swap": 64 * MIB, "reservation": 32 * MIB}
    assert resources["cpu"] == {"shares": 512, "quota": 150_000, "period": 100_000}
    assert resources["pids"] == {"limit": 32}
    assert spec["linux"]["cgroupsPath"] == "/atoll/u1.main"


def test_without_limits_only_the_default_pids_limit_applies() -> None:
    resources = _spec()["linux"]["resources"]
    assert set(resources) == {"devices", "pids"}
    assert resources["pids"] == {"limit": 100}


@pytest.mark.parametrize("annotation", [
    pytest.param((PIDS_LIMIT_ANNOTATION, "many"), id="a pids limit that is not a number"),
    pytest.param((CPU_LIMIT_ANNOTATION, "fast"), id="a cpu limit that is not a quantity"),
])
def test_malformed_limit_annotations_cannot_run(annotation: tuple[str, str]) -> None:
    with pytest.raises(CannotRunError, match=annotation[0]):
        _spec(annotations=(annotation,))


def test_read_only_root_keeps_a_writable_tmpfs_tmp() -> None:
    spec = _spec(read_only_root=True)
    assert spec["root"] == {"path": "/root", "readonly": True}
    tmp = next(mount for mount in spec["mounts"] if mount["destination"] == "/tmp")
    assert tmp["type"] == "tmpfs" and "ro" not in tmp["options"]

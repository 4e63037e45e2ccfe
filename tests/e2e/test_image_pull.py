"""Real pulls on a real node: a busybox image pushed to docker-registry on loopback runs as a pod
pulled by tag and by digest (runc), reports its imageID and the Pulling/Pulled Events; an unknown
image waits in ErrImagePull then ImagePullBackOff and never runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig
from agent.drivers.oci import OciDriver, OciSettings
from agent.images.node_images import NodeImages
from agent.registration import NodeProfile
from agent.run import start_node
from atoll.clock import SystemClock
from atoll.image_platforms import Platform
from atoll.image_registry import RegistryConfig
from atoll.images import ImageStore
from tests.e2e import artifacts
from tests.e2e.conftest import _require_root, cgroup_parent_of_this_process
from tests.integration.agent_harness import bound_pod, cluster, eventually
from tests.support.registry import LocalRegistry, directory_layer, local_registry
from tests.support.system import require_binary

pytestmark = pytest.mark.timeout(180)
NODE = NodeProfile(name="puller", cpu="2", memory="8Gi")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalRegistry, str]]:
    require_binary("docker-registry", "docker-registry")
    require_binary("skopeo", "skopeo")
    busybox = Path(require_binary("busybox", "busybox-static"))
    rootfs = artifacts.busybox_rootfs(tmp_path_factory.mktemp("pushed-rootfs"), busybox)
    with local_registry() as running:
        digest, _ = running.push_image("e2e/busybox", "1", {"os": "linux", "architecture": "amd64"},
                                       [directory_layer(rootfs)], {"Cmd": ["sh"], "Env": ["FROM_IMAGE=yes"]})
        yield running, digest


def pod(name: str, image: str, script: str) -> Any:
    obj = bound_pod(name, NODE.name, restart_policy="Never")
    main = obj.pod.spec.containers[0]
    main.image = image
    main.command.extend(["sh", "-c", script])
    return obj


def pulling_driver(tmp_path: Path, local: LocalRegistry) -> OciDriver:
    """A runc driver whose node pulls from ``local`` into its own store under ``tmp_path``."""
    _require_root()
    require_binary("runc", "runc")
    images = tmp_path / "images"
    pulls = NodeImages(ImageStore(images), Platform("linux", "amd64"), RegistryConfig(insecure=frozenset({local.host})))
    return OciDriver(OciSettings(state_dir=tmp_path / "oci", image_dir=images, pulls=pulls,
                                 cgroup_parent=cgroup_parent_of_this_process()))


def terminated(p: Any) -> bool:
    statuses = p.status.container_statuses if p is not None else ()
    return bool(statuses and statuses[0].state.terminated.reason)


async def test_a_pod_pulls_by_tag_and_by_digest_and_runs(tmp_path: Path, registry: tuple[LocalRegistry, str]) -> None:
    local, digest = registry
    driver = pulling_driver(tmp_path, local)
    async with cluster() as c:
        running = await start_node(c.client, NODE, [driver], clock=SystemClock(), config=AgentConfig())
        try:
            await c.client.create(pod("by-tag", f"{local.host}/e2e/busybox:1", 'test "$FROM_IMAGE" = yes'))
            await c.client.create(pod("by-digest", f"{local.host}/e2e/busybox@{digest}", "exit 0"))
            for name in ("by-tag", "by-digest"):
                done = await eventually(c.client, "pod", name, terminated, timeout=60)
                status = done.status.container_statuses[0]
                assert status.state.terminated.reason == "Completed", status.state.terminated.message
                assert status.image_id == f"{local.host}/e2e/busybox@{digest}"
            events, _ = await c.client.list_all("Event", "default")
            reasons = {(e.event.involved_object.name, e.event.reason) for e in events}
            assert {("by-tag", "Pulling"), ("by-tag", "Pulled"), ("by-tag", "Started")} <= reasons
            # Ended containers keep their task (for logs): garbage collection must keep their images.
            assert driver.images_in_use() == {
                f"{local.host}/e2e/busybox:1", f"{local.host}/e2e/busybox:{digest.replace(':', '-')}",
            }
        finally:
            await running.close()
            for handle in await driver.list_tasks():
                await driver.destroy(handle.task_id, force=True)


async def test_an_unknown_image_waits_in_image_pull_backoff(
    tmp_path: Path, registry: tuple[LocalRegistry, str]
) -> None:
    local, _ = registry
    driver = pulling_driver(tmp_path, local)
    async with cluster() as c:
        running = await start_node(c.client, NODE, [driver], clock=SystemClock(), config=AgentConfig())
        try:
            await c.client.create(pod("ghost", f"{local.host}/e2e/ghost:1", "exit 0"))

            def waiting(reason: str) -> Any:
                return lambda p: (p is not None and p.status.container_statuses
                                  and p.status.container_statuses[0].state.waiting.reason == reason)

            # ErrImagePull lasts until the next look, a second later: ImagePullBackOff is what stays.
            backoff = await eventually(c.client, "pod", "ghost", waiting("ImagePullBackOff"), timeout=30)
            assert backoff.status.phase == "Pending" and backoff.status.container_statuses[0].restart_count == 0
            events, _ = await c.client.list_all("Event", "default")
            assert {"Pulling", "Failed", "BackOff"} <= {e.event.reason for e in events}
            failed = next(e.event.message for e in events if e.event.reason == "Failed")
            assert failed.startswith(f'Failed to pull image "{local.host}/e2e/ghost:1": ')
            assert failed.endswith("manifest unknown")
        finally:
            await running.close()

"""Real runc containers with ConfigMap, Secret, emptyDir and hostPath volumes through the node
agent: a ConfigMap file and a Secret variable are read, the file changes after an update without
a restart, read-only mounts refuse writes, a memory emptyDir stops at its sizeLimit, and a missing
key keeps the container Waiting with CreateContainerConfigError until it exists."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.registration import NodeProfile
from agent.run import start_node
from atoll import kinds
from atoll.clock import SystemClock
from atoll.v1 import config_pb2
from tests.e2e.conftest import BUSYBOX_IMAGE, OciFactory
from tests.integration.agent_harness import cluster, eventually
from tests.support.config_objects import make_config_map, make_pod_using, make_secret

NODE = NodeProfile(name="real-1", cpu="2", memory="8Gi")
SCRIPT = """
echo "$PASSWORD" > /out/password
touch /etc/web/written 2>/dev/null; echo $? > /out/readonly
dd if=/dev/zero of=/mem/fill bs=1024 count=2048 2>/dev/null; echo $? > /out/fill
cat /host/marker > /out/host
while true; do cat /etc/web/index.html > /out/.next; mv /out/.next /out/index; sleep 0.1; done
"""


def _pod(host_dir: Path) -> Any:
    obj = make_pod_using("web")
    obj.pod.spec.node_name = NODE.name
    spec = obj.pod.spec
    spec.termination_grace_period_seconds = 1  # sh as PID 1 ignores SIGTERM
    spec.volumes.add(name="out", empty_dir=config_pb2.EmptyDirVolumeSource())
    spec.volumes.add(name="mem", empty_dir=config_pb2.EmptyDirVolumeSource(medium="Memory", size_limit="1Mi"))
    spec.volumes.add(name="host", host_path=config_pb2.HostPathVolumeSource(path=str(host_dir), type="Directory"))
    main = spec.containers[0]
    main.image = BUSYBOX_IMAGE
    main.command.extend(["sh", "-c", SCRIPT])
    main.volume_mounts.add(name="out", mount_path="/out")
    main.volume_mounts.add(name="mem", mount_path="/mem")
    main.volume_mounts.add(name="host", mount_path="/host", read_only=True)
    return obj


async def _file(path: Path, expected: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if path.exists() and path.read_text().strip() == expected:
            return
        if asyncio.get_running_loop().time() > deadline:
            seen = path.read_text() if path.exists() else "<missing>"
            raise AssertionError(f"{path}: expected {expected!r}, saw {seen!r}")
        await asyncio.sleep(0.05)


async def test_container_reads_config_and_secret_and_sees_updates_without_restart(
    oci: OciFactory, tmp_path: Path
) -> None:
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    (host_dir / "marker").write_text("from the host\n")
    volumes = tmp_path / "volumes"
    async with cluster() as c:
        running = await start_node(c.client, NODE, [oci()], clock=SystemClock(), config=AgentConfig(),
                                   volumes_dir=volumes)
        try:
            await c.client.create(make_config_map("web-config", **{"index.html": "version 1"}))
            await c.client.create(make_secret("db", other=b"x"))  # no "password" key yet
            created = await c.client.create(_pod(host_dir))
            waiting = await eventually(
                c.client, "pod", "web",
                lambda p: p.status.container_statuses
                and p.status.container_statuses[0].state.waiting.reason == "CreateContainerConfigError",
                timeout=20,
            )
            assert "secret 'db' has no key 'password'" in waiting.status.container_statuses[0].state.waiting.message
            secret = (await c.client.get("secret", "db")).secret
            secret.data["password"] = b"hunter2"
            await c.client.update(_wrap(secret))
            await eventually(c.client, "pod", "web", lambda p: p.status.phase == "Running", timeout=30)
            out = volumes / created.pod.metadata.uid / "out"
            await _file(out / "password", "hunter2")
            await _file(out / "index", "version 1")
            await _file(out / "readonly", "1")
            assert (out / "fill").read_text().strip() != "0", "the 1Mi memory emptyDir must refuse 2 MiB"
            await _file(out / "host", "from the host")
            config_map = (await c.client.get("configmap", "web-config")).config_map
            config_map.data["index.html"] = "version 2"
            await c.client.update(_wrap(config_map))
            await _file(out / "index", "version 2", timeout=30)
            after = (await c.client.get("pod", "web")).pod
            assert after.status.container_statuses[0].restart_count == 0
            await c.client.delete("pod", "web")
            await eventually(c.client, "pod", "web", lambda p: p is None, timeout=30)
            assert not (volumes / created.pod.metadata.uid).exists(), "the pod's volumes go with it"
        finally:
            await running.close()
            _unmount_under(tmp_path)  # a failed run leaves the pod, and its tmpfs, behind


def _unmount_under(root: Path) -> None:
    for line in Path("/proc/mounts").read_text().splitlines():
        target = line.split()[1]
        if target.startswith(f"{root}/"):
            subprocess.run(["umount", target], check=False)


def _wrap(message: Any) -> Any:
    return kinds.by_name(type(message).__name__).wrap(message)

"""The oci driver with real runtimes: exit codes, logs, enforced limits, stop, isolation, options.

runc is the default runtime; the cases that exercise the runtime itself also run on crun (which
on hybrid-cgroup hosts runs with the cgroup v2 mount hidden in a private mount namespace).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agent.drivers.oci.cgroups import memory_cgroup
from agent.drivers.oci.limits import CPU_LIMIT_ANNOTATION, PIDS_LIMIT_ANNOTATION
from agent.drivers.protocol import (
    CannotRunError,
    Resources,
    TaskExistsError,
    TaskNotFoundError,
    TaskPhase,
    TaskRunningError,
)
from tests.e2e.conftest import OciFactory, container
from tests.support.eventually import eventually

RUNTIMES = [pytest.param("runc", id="runc"), pytest.param("crun", id="crun")]
MIB = 2**20


async def _logs(driver: object, task_id: str) -> list[str]:
    return [line.text async for line in driver.logs(task_id)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_container_runs_and_reports_its_exit_code_and_output(oci: OciFactory, runtime: str) -> None:
    driver = oci(runtime)
    changed: list[str] = []
    driver.set_listener(changed.append)
    await driver.start(container("u1:main", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"))
    result = await asyncio.wait_for(driver.wait("u1:main"), 10)
    assert (result.exit_code, result.reason, result.signal) == (3, "Error", 0)
    assert changed == ["u1:main"]
    assert (await driver.inspect("u1:main")).phase is TaskPhase.EXITED
    assert await _logs(driver, "u1:main") == ["to-stdout", "to-stderr"]


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_process_over_the_memory_limit_is_oom_killed_and_reported_as_oomkilled(
    oci: OciFactory, runtime: str
) -> None:
    driver = oci(runtime)
    grow = "x=0123456789abcdef; while true; do x=$x$x; done"
    await driver.start(container("u1:main", "sh", "-c", grow, resources=Resources(memory_limit=16 * MIB)))
    result = await asyncio.wait_for(driver.wait("u1:main"), 20)
    assert (result.reason, result.exit_code, result.signal) == ("OOMKilled", 137, 9)
    assert result.failed


async def test_a_fork_loop_stops_at_the_pids_limit(oci: OciFactory) -> None:
    driver = oci()
    # The subshell forks until the kernel refuses; then only builtins run (no pid is left to fork).
    fork_loop = ("(while true; do sleep 30 & done); cd /sys/fs/cgroup/pids; read n < pids.current; read m < pids.max; "
                 "echo procs=$n max=$m")
    config = container("u1:main", "sh", "-c", fork_loop, annotations=((PIDS_LIMIT_ANNOTATION, "8"),))
    await driver.start(config)
    result = await asyncio.wait_for(driver.wait("u1:main"), 20)
    lines = await _logs(driver, "u1:main")
    assert any("can't fork" in line for line in lines), lines
    assert lines[-1] in ("procs=7 max=8", "procs=8 max=8"), lines  # the failed subshell's own pid is freed
    assert result.exit_code == 0


async def test_cpu_and_memory_limits_land_in_the_containers_cgroups(oci: OciFactory) -> None:
    driver = oci()
    config = container("u1:main", "sleep", "30", resources=Resources(cpu_millis=250, memory_limit=48 * MIB),
                       annotations=((CPU_LIMIT_ANNOTATION, "500m"),))
    await driver.start(config)
    cgroup = f"{driver.settings.cgroup_parent}/u1.main"
    memory = memory_cgroup(f"/{cgroup}")
    cpu = Path("/sys/fs/cgroup/cpu") / cgroup
    assert int((memory / "memory.limit_in_bytes").read_text()) == 48 * MIB
    assert int((cpu / "cpu.cfs_quota_us").read_text()) == 50_000
    assert int((cpu / "cpu.shares").read_text()) == 256


async def test_stop_lets_a_container_that_handles_sigterm_finish_cleanly(oci: OciFactory) -> None:
    driver = oci()
    trap = "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.05; done"
    await driver.start(container("u1:main", "sh", "-c", trap))
    await _wait_for_line(driver, "u1:main", "ready")
    began = time.monotonic()
    result = await driver.stop("u1:main", timeout=10)
    assert time.monotonic() - began < 10, "stop waited out the grace period of a container that had ended"
    assert (result.exit_code, result.reason) == (0, "Completed")
    assert "got-term" in await _logs(driver, "u1:main")
    assert await driver.stop("u1:main", timeout=10) == result


async def test_stop_kills_a_container_that_ignores_sigterm_after_the_grace_period(oci: OciFactory) -> None:
    driver = oci()
    await driver.start(container("u1:main", "sleep", "600"))  # pid 1 without a handler ignores SIGTERM
    began = time.monotonic()
    result = await driver.stop("u1:main", timeout=1.5)
    assert time.monotonic() - began >= 1.5, "SIGKILL came before the grace period ended"
    assert (result.exit_code, result.signal, result.reason) == (137, 9, "Error")  # killed, not stuck


@pytest.mark.parametrize(("host_network", "expected"), [
    pytest.param(False, ["lo"], id="a pod network namespace holds only loopback"),
    pytest.param(True, sorted(p.name for p in Path("/sys/class/net").iterdir()), id="host network sees the host"),
])
async def test_network_namespaces_isolate_unless_host_network(
    oci: OciFactory, host_network: bool, expected: list[str]
) -> None:
    driver = oci()
    await driver.start(container("u1:main", "ls", "/sys/class/net", host_network=host_network))
    await asyncio.wait_for(driver.wait("u1:main"), 10)
    names = sorted(" ".join(await _logs(driver, "u1:main")).split())
    assert names == expected


async def test_the_bundle_honours_env_cwd_hostname_read_only_root_and_a_writable_tmp(oci: OciFactory) -> None:
    driver = oci()
    script = ("echo env=$GREETING; echo cwd=$(pwd); echo host=$(hostname); "
              "touch /rootfile 2>/dev/null && echo root=writable || echo root=readonly; "
              "touch /tmp/file && echo tmp=writable; grep ' /tmp ' /proc/mounts | cut -d' ' -f3")
    config = container("u1:main", "sh", "-c", script, env=(("GREETING", "hello"),), working_dir="/tmp",
                       hostname="web-0", read_only_root=True)
    await driver.start(config)
    await asyncio.wait_for(driver.wait("u1:main"), 10)
    assert await _logs(driver, "u1:main") == [
        "env=hello", "cwd=/tmp", "host=web-0", "root=readonly", "tmp=writable", "tmpfs",
    ]


async def test_a_writable_root_is_an_overlay_that_leaves_the_image_untouched(
    oci: OciFactory, image_dir: Path
) -> None:
    driver = oci()
    await driver.start(container("u1:main", "sh", "-c", "echo changed > /etc/passwd; rm /bin/ls; cat /etc/passwd"))
    result = await asyncio.wait_for(driver.wait("u1:main"), 10)
    assert result.exit_code == 0
    image_root = image_dir / "busybox" / "e2e" / "rootfs"
    assert (image_root / "etc" / "passwd").read_text().startswith("root:")
    assert (image_root / "bin" / "ls").is_symlink()


async def test_pause_freezes_a_container_and_exec_runs_inside_it(oci: OciFactory, tmp_path: Path) -> None:
    driver = oci()
    counter = "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.02; done"
    await driver.start(container("u1:main", "sh", "-c", counter))
    count_file = tmp_path / "oci" / "tasks" / "u1.main" / "upper" / "count"  # the overlay's upper layer

    def count() -> int:
        return int(count_file.read_text() or 0) if count_file.exists() else 0

    async def counted_past(value: int) -> bool:
        return count() > value

    await eventually(lambda: counted_past(0), timeout=30)
    await driver.pause("u1:main")
    await driver.pause("u1:main")  # a no-op when already paused
    assert (await driver.inspect("u1:main")).phase is TaskPhase.PAUSED
    frozen = count()
    await asyncio.sleep(0.4)  # a frozen cgroup runs nothing, however long one looks
    assert count() == frozen
    await driver.resume("u1:main")
    assert (await driver.inspect("u1:main")).phase is TaskPhase.RUNNING
    await eventually(lambda: counted_past(frozen), timeout=30)
    inside = await driver.exec("u1:main", ["cat", "/count"], timeout=10)
    assert inside.exit_code == 0
    assert int(inside.output) > frozen


@pytest.mark.parametrize(("change", "message"), [
    pytest.param({"image": "no-such-image"}, "image 'no-such-image' not found", id="an unknown image cannot run"),
    pytest.param({"command": ("no-such-program",)}, "no-such-program", id="a missing program cannot run"),
    pytest.param({"kind": "vm"}, "runs containers", id="a VM is refused"),
])
async def test_containers_that_can_never_run_fail_with_a_clear_reason(
    oci: OciFactory, change: dict[str, object], message: str
) -> None:
    driver = oci()
    with pytest.raises(CannotRunError, match=message):
        await driver.start(container("u1:main", "true", **change))
    assert await driver.list_tasks() == []


async def test_the_driver_keeps_the_task_contract(oci: OciFactory) -> None:
    driver = oci()
    await driver.start(container("u1:main", "sleep", "600"))
    with pytest.raises(TaskExistsError):
        await driver.start(container("u1:main", "sleep", "600"))
    with pytest.raises(TaskRunningError):
        await driver.destroy("u1:main")
    await driver.destroy("u1:main", force=True)
    for call in (driver.inspect("u1:main"), driver.wait("u1:main"), driver.stop("u1:main", 1)):
        with pytest.raises(TaskNotFoundError):
            await call
    await driver.destroy("u1:main")  # unknown: a no-op
    await driver.start(container("u1:main", "true"))
    assert (await asyncio.wait_for(driver.wait("u1:main"), 10)).reason == "Completed"


async def _wait_for_line(driver: object, task_id: str, wanted: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while wanted not in await _logs(driver, task_id):
        assert time.monotonic() < deadline, f"{wanted!r} never appeared"
        await asyncio.sleep(0.05)

"""Simulated nodes with a simulated registry (agent/images/sim_images.py) go through the states a
real pull does: Pulling for the pull time, Pulled and Running with an imageID; an image the
registry does not know waits in ErrImagePull then ImagePullBackOff; Never without the image
waits in ErrImageNeverPull; a bad name is InvalidImageName."""

from __future__ import annotations

from typing import Any

from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.linux import SimLinuxDriver
from agent.registration import NodeProfile
from atoll.clock import ManualClock
from tests.integration.agent_harness import bound_pod, cluster, eventually, node

NODE = NodeProfile(name="hollow-1", cpu="4", memory="8Gi")
PULL = 30.0


def pod(name: str, image: str, policy: str = "") -> Any:
    obj = bound_pod(name, NODE.name)
    obj.pod.spec.containers[0].image = image
    obj.pod.spec.containers[0].image_pull_policy = policy
    return obj


def waiting(reason: str) -> Any:
    return lambda p: (p is not None and p.status.container_statuses
                      and p.status.container_statuses[0].state.waiting.reason == reason)


async def test_simulated_pulls_take_their_time_and_fail_like_real_ones() -> None:
    clock = ManualClock()
    driver = SimLinuxDriver(SimSettings(image_pull_seconds=PULL, missing_images=("*/ghost:*",)), clock)
    async with cluster() as c, node(c.client, NODE, [driver], clock):
        await c.client.create(pod("web", "busybox:1.36"))
        await c.client.create(pod("twin", "busybox:1.36"))
        await c.client.create(pod("ghost", "r.example/ghost:1"))
        await c.client.create(pod("never", "r.example/app:1", "Never"))
        await c.client.create(pod("bad", "Bad Name"))
        await eventually(c.client, "pod", "never", waiting("ErrImageNeverPull"))
        await eventually(c.client, "pod", "bad", waiting("InvalidImageName"))
        events, _ = await c.client.list_all("Event", "default")
        assert ("web", "Pulling") in {(e.event.involved_object.name, e.event.reason) for e in events}
        web = await c.client.get("pod", "web")
        assert web.pod.status.phase == "Pending"
        # the failed pull first (the simulated registry answers "unknown" after 0.1 s), then the
        # look within its back-off 1 s later (no longer an accidental second reconcile woken by
        # the watch echo of the runner's own write: 7f6bb47)
        await clock.advance_and_settle(0.1)
        await eventually(c.client, "pod", "ghost", waiting("ErrImagePull"))
        await clock.advance_and_settle(1.0)
        await eventually(c.client, "pod", "ghost", waiting("ImagePullBackOff"))
        await clock.advance_and_settle(PULL)
        for name in ("web", "twin"):
            running = await eventually(c.client, "pod", name, lambda p: p is not None and p.status.phase == "Running")
            image_id = running.status.container_statuses[0].image_id
            assert image_id.startswith("docker.io/library/busybox@sha256:")
        events, _ = await c.client.list_all("Event", "default")
        pulled = [e.event for e in events if e.event.reason == "Pulled"]
        assert {e.involved_object.name for e in pulled} == {"web", "twin"}
        assert any(f"in {PULL:.2f}s" in e.message for e in pulled)
        failed = next(e.event.message for e in events
                      if e.event.reason == "Failed" and e.event.involved_object.name == "ghost")
        assert failed == ('Failed to pull image "r.example/ghost:1": r.example/ghost: manifest 1: manifest unknown')

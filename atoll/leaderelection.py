"""Leader election through a Lease with compare-revision renewal (client-go's leaderelection),
shared by atoll-controller and atoll-scheduler, which each may run as several replicas.

Every candidate runs ``LeaderElector.run(lead)``. At most one holds the Lease; it runs ``lead()``
and renews every ``retry_period``. The rules that make "exactly one acts" true:

- **Acquire**: a candidate may take the Lease only when it is free (no holder, or released) or
  when the holder's record has not changed for ``lease_duration`` seconds *as observed on the
  candidate's own clock* (timestamps inside the Lease are for people; clock skew cannot hand the
  Lease over early).
- **Write**: every acquire and renew is an Update carrying ``metadata.resource_version``; if anyone
  else wrote the Lease since it was read, the API answers ABORTED and the attempt fails.
- **Lose**: a leader that has not renewed successfully within ``renew_deadline`` of the start of
  its last successful renew attempt cancels ``lead()`` and waits for it to finish. Because
  ``renew_deadline < lease_duration`` and any other candidate observed that last renewal no
  earlier than the attempt started, the old leader has stopped before anyone may acquire.
- **Release**: a leader cancelled cleanly clears the holder so a successor need not wait.
- **Dead holder**: a holder that provably no longer runs (``holder_gone``, by default
  ``atoll.process_identity.holder_is_gone``: a process of this host, boot and pid namespace that
  is gone, say after kill -9) is treated like a released Lease: a successor, or the same command
  restarted, takes it at once instead of waiting ``lease_duration``. A dead process acts no more,
  so this cannot make two act; a holder it cannot prove dead is waited out as above.

While another holds the Lease, the candidate logs one line naming the Lease and the holder
(again only when the holder changes), so that a process that does nothing says why.

After losing, the elector goes back to being a candidate; ``run`` returns only when cancelled (or
raises what ``lead()`` raised if it failed on its own).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import grpc

from atoll import namespaces
from atoll.client import ApiError
from atoll.clock import Clock, to_timestamp
from atoll.ports import Creator, Getter, Updater
from atoll.process_identity import holder_is_gone, process_identity
from atoll.tasks import cancel_and_wait
from atoll.user_text import bounded
from atoll.v1 import lease_pb2

log = logging.getLogger(__name__)
T = TypeVar("T")


# Called with True when this candidate becomes leader and False when it stops leading.
LeadershipListener = Callable[[bool], None]


def default_identity() -> str:
    """A new identity naming this process (atoll/process_identity.py): unique per call, and
    provably dead to a successor on this host once the process is gone."""
    return process_identity()


@dataclass(frozen=True)
class ElectionConfig:
    lease_name: str
    namespace: str = namespaces.SYSTEM
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "leader election needs 0 < retry period < renew deadline < lease duration, got "
                f"{self.retry_period:g} / {self.renew_deadline:g} / {self.lease_duration:g} s"
            )


class LeaseApi(Getter, Creator, Updater, Protocol):
    """The API calls an elector makes on its Lease (``atoll.client.Client`` satisfies it)."""


class LeaderElector:
    def __init__(
        self,
        api: LeaseApi,
        config: ElectionConfig,
        clock: Clock,
        on_change: LeadershipListener | None = None,
        holder_gone: Callable[[str], bool] = holder_is_gone,
    ) -> None:
        """``holder_gone(identity)``: True only when that holder provably no longer runs."""
        self.api = api
        self.config = config
        self.clock = clock
        self._on_change = on_change or (lambda _leading: None)
        self._holder_gone = holder_gone
        self._standing_by_for = ""  # the holder last reported in the standby line
        self.is_leader = False
        self.transitions = 0
        self._observed: tuple[str, int] | None = None  # (holder, resource_version) last seen
        self._observed_at = 0.0
        self._lease: lease_pb2.Lease | None = None
        self._on_change(False)

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Campaign, lead while the Lease is held, campaign again after losing it."""
        while True:
            await self._acquire()
            self.is_leader = True
            self._standing_by_for = ""
            self.transitions += 1
            self._on_change(True)
            log.info("%s: became leader of lease %s", self.config.identity, self.config.lease_name)
            task = asyncio.ensure_future(lead())
            try:
                await self._renew_until_lost(task)
            except asyncio.CancelledError:
                await cancel_and_wait([task])
                self.is_leader = False
                self._on_change(False)
                await self._release()
                raise
            self.is_leader = False
            self._on_change(False)
            await cancel_and_wait([task])
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            log.warning("%s: lost lease %s; stopped acting", self.config.identity, self.config.lease_name)

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this candidate holds the Lease afterwards."""
        now = self.clock.now()
        config = self.config
        try:
            lease = (await self.api.get("Lease", config.lease_name, config.namespace)).lease
        except ApiError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                return False
            return await self._create(now)
        spec = lease.spec
        record = (spec.holder_identity, lease.metadata.resource_version)
        if record != self._observed:
            self._observed, self._observed_at = record, now
        held_by_other = spec.holder_identity and spec.holder_identity != config.identity
        duration = spec.lease_duration_seconds or config.lease_duration
        if held_by_other and self._observed_at + duration > now:
            if not self._holder_gone(spec.holder_identity):
                self._standing_by(spec.holder_identity, duration)
                return False
            log.info(
                "%s: lease %s is held by %s, a process of this host that is gone; taking it over",
                bounded(config.identity), config.lease_name, bounded(spec.holder_identity),
            )  # fmt: skip
        if spec.holder_identity != config.identity:
            spec.acquire_time.CopyFrom(to_timestamp(now))
            spec.lease_transitions += 1
        spec.holder_identity = config.identity
        spec.lease_duration_seconds = int(config.lease_duration)
        spec.renew_time.CopyFrom(to_timestamp(now))
        try:
            written = (await self.api.update(lease)).lease
        except ApiError:
            return False
        self._observed, self._observed_at = (config.identity, written.metadata.resource_version), now
        return True

    def _standing_by(self, holder: str, duration: float) -> None:
        """Say once per holder that this candidate waits (a warning, so that it shows at every
        component's default log level: a process that does nothing should say why)."""
        if holder == self._standing_by_for:
            return
        self._standing_by_for = holder
        config = self.config
        log.warning(
            "%s: standing by: lease %s/%s is held by %s; acting when it is released or not renewed for %gs",
            bounded(config.identity), config.namespace, config.lease_name, bounded(holder), duration,
        )  # fmt: skip

    async def _create(self, now: float) -> bool:
        lease = lease_pb2.Lease()
        lease.metadata.name, lease.metadata.namespace = self.config.lease_name, self.config.namespace
        lease.spec.holder_identity = self.config.identity
        lease.spec.lease_duration_seconds = int(self.config.lease_duration)
        lease.spec.acquire_time.CopyFrom(to_timestamp(now))
        lease.spec.renew_time.CopyFrom(to_timestamp(now))
        try:
            written = (await self.api.create(lease)).lease
        except ApiError:
            return False
        self._observed, self._observed_at = (self.config.identity, written.metadata.resource_version), now
        return True

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            await self.clock.sleep(self.config.retry_period)

    async def _renew_until_lost(self, task: asyncio.Future[None]) -> None:
        """Renew every retry period; return when the renew deadline passed (or ``lead`` ended)."""
        last_success = self.clock.now()
        while not task.done():
            await _first_of(self.clock.sleep(self.config.retry_period), task)
            if task.done():
                return
            attempt = self.clock.now()
            remaining = last_success + self.config.renew_deadline - attempt
            renewed = remaining > 0 and await _within(self.clock, self.try_acquire_or_renew(), remaining)
            if renewed:
                last_success = attempt
            elif self.clock.now() - last_success >= self.config.renew_deadline:
                return

    async def _release(self) -> None:
        """Clear the holder if we still hold the Lease (best effort, on clean shutdown)."""
        config = self.config
        try:
            lease = (await self.api.get("Lease", config.lease_name, config.namespace)).lease
            if lease.spec.holder_identity != config.identity:
                return
            lease.spec.holder_identity = ""
            lease.spec.lease_duration_seconds = 1
            await self.api.update(lease)
        except ApiError as err:
            log.info("%s: could not release lease %s: %s", config.identity, config.lease_name, err.message)


async def _first_of(sleep: Coroutine[Any, Any, None], task: asyncio.Future[None]) -> None:
    sleeper = asyncio.ensure_future(sleep)
    try:
        await asyncio.wait({sleeper, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()


async def _within(clock: Clock, attempt: Coroutine[Any, Any, bool], seconds: float) -> bool:
    """``attempt``'s result, or False if it takes longer than ``seconds`` on ``clock`` (then cancelled)."""
    work = asyncio.ensure_future(attempt)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if not work.done():
        await cancel_and_wait([work])
        return False
    return bool(work.result())

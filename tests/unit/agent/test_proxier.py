"""The proxier: nothing before both lists are complete, one transaction per change of the
rendered table, none for a change that renders the same, a fresh process applies once (removing
what an earlier one left), failures change nothing and are applied again."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from agent.network.proxy.model import Endpoint, ServicePort
from agent.network.proxy.nft import Nft, NftError
from agent.network.proxy.proxier import Proxier
from atoll.clock import ManualClock


class FakeNft(Nft):
    """Records each transaction; ``fail`` makes the next one fail as nft does."""

    def __init__(self) -> None:
        super().__init__(("nft",))
        self.applied: list[str] = []
        self.fail = False

    async def apply(self, transaction: str) -> None:
        if self.fail:
            self.fail = False
            raise NftError("nft -f: Error: Could not process rule: No such file or directory")
        self.applied.append(transaction)


def web(*ips: str) -> tuple[ServicePort, ...]:
    return (ServicePort("default", "web", "", "tcp", IPv4Address("10.96.0.10"), 80,
                        tuple(Endpoint(IPv4Address(ip), 8080) for ip in ips)),)


@pytest.fixture
def nft() -> FakeNft:
    return FakeNft()


@pytest.fixture
def proxier(nft: FakeNft) -> Proxier:
    return Proxier(nft, ManualClock(), resync_interval=300)


async def test_nothing_is_programmed_before_the_inputs_are_complete(proxier: Proxier, nft: FakeNft) -> None:
    proxier.update("default", "web", web("10.244.1.5"))
    await proxier.sync()
    assert nft.applied == []
    proxier.mark_synced()
    await proxier.sync()
    assert nft.applied == [proxier.ruleset()]


async def test_one_transaction_per_change_and_none_for_a_change_that_renders_the_same(
        proxier: Proxier, nft: FakeNft) -> None:
    proxier.mark_synced()
    proxier.update("default", "web", web("10.244.1.5"))
    await proxier.sync()
    proxier.update("default", "web", web("10.244.1.5"))  # the same, e.g. a status-only write
    await proxier.sync()
    assert len(nft.applied) == 1
    proxier.update("default", "web", web("10.244.1.5", "10.244.2.7"))
    await proxier.sync()
    assert len(nft.applied) == 2
    assert "10.244.2.7:8080" in nft.applied[-1]


async def test_a_new_process_applies_once_even_when_there_is_nothing_to_program(nft: FakeNft) -> None:
    fresh = Proxier(nft, ManualClock())
    fresh.mark_synced()
    await fresh.sync()
    assert nft.applied == [fresh.ruleset()], "the stale table of an earlier process is replaced"
    assert "service-ips" in nft.applied[0]


async def test_a_restarted_proxier_renders_exactly_the_same_table(nft: FakeNft) -> None:
    first, second = Proxier(nft, ManualClock()), Proxier(nft, ManualClock())
    for proxier in (first, second):
        proxier.set_pod_cidr(IPv4Network("10.244.1.0/24"))
        proxier.update("default", "web", web("10.244.2.7", "10.244.1.5"))
        proxier.mark_synced()
        await proxier.sync()
    assert nft.applied[0] == nft.applied[1]


async def test_a_failed_transaction_is_applied_again_by_the_next_sync(proxier: Proxier, nft: FakeNft) -> None:
    proxier.mark_synced()
    proxier.update("default", "web", web("10.244.1.5"))
    nft.fail = True
    with pytest.raises(NftError):
        await proxier.sync()
    await proxier.sync()
    assert nft.applied == [proxier.ruleset()]


async def test_an_unchanged_table_is_applied_again_after_the_resync_interval(nft: FakeNft) -> None:
    clock = ManualClock()
    proxier = Proxier(nft, clock, resync_interval=300)
    proxier.mark_synced()
    await proxier.sync()
    clock.advance(299)
    await proxier.sync()
    assert len(nft.applied) == 1
    clock.advance(1)
    await proxier.sync()
    assert len(nft.applied) == 2, "a table someone else deleted comes back"


async def test_inputs_request_a_sync_only_when_they_change(proxier: Proxier) -> None:
    requests: list[str] = []
    proxier.on_change = lambda: requests.append("sync")
    proxier.remove("default", "absent")
    proxier.set_pod_cidr(None)
    assert requests == []
    proxier.update("default", "web", web("10.244.1.5"))
    proxier.set_pod_cidr(IPv4Network("10.244.1.0/24"))
    proxier.remove("default", "web")
    assert requests == ["sync"] * 3

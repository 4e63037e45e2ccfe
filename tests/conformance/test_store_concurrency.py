"""Store conformance: many concurrent callers get unique, contiguous revisions and independent
outcomes (a failing write in the same commit batch does not fail its neighbours)."""

from __future__ import annotations

import asyncio

from controller.store.protocol import ConflictError, KeyExistsError, KeyNotFoundError, Store


async def test_many_concurrent_writers_get_unique_contiguous_revisions(store: Store) -> None:
    start = await store.current_revision()

    async def writer(worker: int) -> list[int]:
        revisions = []
        for i in range(10):
            key = f"/conc/{worker}/{i}"
            revisions.append(await store.create(key, b"v"))
            revisions.append(await store.update(key, b"w"))
        return revisions

    per_worker = await asyncio.gather(*(writer(worker) for worker in range(32)))
    revisions = sorted(revision for worker in per_worker for revision in worker)
    assert revisions == list(range(start + 1, start + 1 + 32 * 20))
    assert all(worker == sorted(worker) for worker in per_worker)
    assert await store.current_revision() == revisions[-1]
    assert len((await store.range("/conc/")).items) == 32 * 10


async def test_concurrent_creates_of_one_key_let_exactly_one_win(store: Store) -> None:
    start = await store.current_revision()
    outcomes = await asyncio.gather(
        *(store.create("/race", str(i).encode()) for i in range(40)), return_exceptions=True
    )
    winners = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert winners == [start + 1]
    assert all(isinstance(outcome, KeyExistsError) for outcome in outcomes if not isinstance(outcome, int))
    assert await store.current_revision() == start + 1


async def test_concurrent_conditional_updates_from_one_read_let_exactly_one_win(store: Store) -> None:
    read = await store.create("/counter", b"0")
    outcomes = await asyncio.gather(
        *(store.update("/counter", str(i).encode(), expected_revision=read) for i in range(40)),
        return_exceptions=True,
    )
    winners = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, int)]
    assert len(winners) == 1
    assert all(isinstance(outcome, ConflictError) for outcome in outcomes if not isinstance(outcome, int))
    current = await store.get("/counter")
    assert current is not None and current.value == str(winners[0]).encode()


async def test_failing_writes_do_not_disturb_their_concurrent_neighbours(store: Store) -> None:
    await store.create("/n/existing", b"e")
    start = await store.current_revision()
    outcomes = await asyncio.gather(
        store.create("/n/1", b"1"),
        store.create("/n/existing", b"dup"),
        store.create("/n/2", b"2"),
        store.update("/n/missing", b"x"),
        store.update("/n/existing", b"stale", expected_revision=1),
        store.create("/n/3", b"3"),
        store.delete("/n/missing"),
        return_exceptions=True,
    )
    kinds = [type(outcome) for outcome in outcomes]
    assert kinds == [int, KeyExistsError, int, KeyNotFoundError, ConflictError, int, KeyNotFoundError]
    assert sorted(outcome for outcome in outcomes if isinstance(outcome, int)) == [
        start + 1,
        start + 2,
        start + 3,
    ]
    assert [kv.key for kv in (await store.range("/n/")).items] == ["/n/1", "/n/2", "/n/3", "/n/existing"]
    existing = await store.get("/n/existing")
    assert existing is not None and existing.value == b"e"

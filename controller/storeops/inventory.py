"""How many keys a store holds at one revision, by API kind: what snapshots and migrations check."""

from __future__ import annotations

from atoll import kinds
from controller.store.protocol import Store

OTHER = "(other)"  # keys under no kind's prefix (e.g. the Service IP records)
PAGE = 1000


async def count_keys(store: Store, revision: int) -> dict[str, int]:
    """{kind name: keys} for every kind with keys, plus OTHER, as of ``revision``; a kind with no
    keys is left out, so two inventories compare equal exactly when every count matches."""
    counts: dict[str, int] = {}
    start_after: str | None = None
    while True:
        page = await store.range("", start_after=start_after, limit=PAGE, revision=revision)
        for item in page.items:
            name = kind_of_key(item.key)
            counts[name] = counts.get(name, 0) + 1
        if not page.more:
            return counts
        start_after = page.items[-1].key


def kind_of_key(key: str) -> str:
    """The name of the kind whose prefix holds ``key``, or OTHER."""
    for kind in kinds.KINDS:
        if key.startswith(kind.prefix()):
            return kind.name
    return OTHER

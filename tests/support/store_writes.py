"""Whether a request wrote anything to a store, for tests of requests that must change nothing.

The store's global revision cannot say it: an API server renews its singletons Lease on its own
clock (controller/apiserver/singletons.py), and on a loaded machine that write lands inside a test
as readily as anywhere else (test_apiserver[etcd] failed so)."""

from __future__ import annotations

from controller.store.protocol import Store

# Keys written in the background, on a timer, whatever the test does.
BACKGROUND_PREFIXES = ("/atoll/leases/",)


async def stored_revisions(store: Store) -> dict[str, int]:
    """Every key outside BACKGROUND_PREFIXES with its mod_revision: two equal snapshots mean
    nothing was created, changed or deleted in between."""
    result = await store.range("")
    return {kv.key: kv.mod_revision for kv in result.items if not kv.key.startswith(BACKGROUND_PREFIXES)}

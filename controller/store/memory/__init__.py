"""``memory``: the in-process Store with full MVCC history, for tests and ephemeral runs."""

from controller.store.memory.store import MemoryStore

__all__ = ["MemoryStore"]

"""Revision checks shared by the backends, so every backend refuses the same reads the same way."""

from __future__ import annotations

from controller.store.protocol import CompactedError, StoreError


class FutureRevisionError(StoreError):
    """A read or compaction asked for a revision newer than the store's current revision."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is in the future (current revision: {current})")
        self.requested = requested
        self.current = current


def check_readable(requested: int, current: int, compacted: int) -> None:
    """Raises CompactedError below the compaction point, FutureRevisionError above ``current``."""
    if requested < compacted:
        raise CompactedError(requested, compacted)
    if requested > current:
        raise FutureRevisionError(requested, current)


def check_watchable(after_revision: int, compacted: int) -> None:
    """A watch needs every event after ``after_revision``: none of them may be compacted away."""
    if after_revision < compacted:
        raise CompactedError(after_revision, compacted)


def needs_compaction(target: int, current: int, compacted: int) -> bool:
    """Whether compacting at ``target`` drops anything: FutureRevisionError above ``current``,
    False at or below the existing compaction point (compaction is idempotent)."""
    if target > current:
        raise FutureRevisionError(target, current)
    return target > compacted


def validate_read_revision(revision: int | None) -> None:
    """A read revision is None (current) or a real revision (>= 1; etcd would read 0 as "current")."""
    if revision is not None and revision < 1:
        raise ValueError(f"read revision must be >= 1 or None, got {revision}")

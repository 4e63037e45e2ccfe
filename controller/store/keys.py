"""Key arithmetic shared by the backends: keys are str, ordered as their UTF-8 bytes (as etcd does).

UTF-8 preserves code point order, so Python's str order, SQLite's BLOB order and etcd's byte
order agree.
"""

from __future__ import annotations


def encode_key(key: str) -> bytes:
    return key.encode("utf-8")


def decode_key(raw: bytes) -> str:
    return raw.decode("utf-8")


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``.

    None when no such string exists (empty prefix, or a prefix of only 0xff bytes): the range is
    then unbounded above.
    """
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def range_start(prefix: str, start_after: str | None) -> str:
    """The first key a range over ``prefix`` may return when resuming after ``start_after``."""
    if start_after is None:
        return prefix
    return max(prefix, start_after + "\x00")


def validate_limit(limit: int | None) -> None:
    """A range limit is None (everything) or a positive count."""
    if limit is not None and limit < 1:
        raise ValueError(f"range limit must be a positive integer or None, got {limit}")

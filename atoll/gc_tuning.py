"""Garbage-collector settings for atoll's long-running processes (API server, scheduler,
controllers, agents and hollow fleets)."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """A long-running server allocates many short-lived objects per call; with CPython's default
    threshold (700) the cyclic collector runs every few requests, and each full collection walks
    every live object (a hollow fleet holds millions), stalling the event loop. Objects from
    start-up are frozen out of collection and collections made rarer, as busy Python servers do.
    Call once, after imports and before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)

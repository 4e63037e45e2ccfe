"""Which namespaces exist, answered from memory where possible (creates check it on every call)."""

from __future__ import annotations

from atoll import kinds
from controller.apiserver import codec
from controller.store.protocol import Store

NAMESPACE = kinds.by_name("Namespace")


class NamespaceIndex:
    """Phase of each namespace; misses fall through to the store, the watch cache keeps it fresh.

    A namespace deleted a moment ago may still answer Active until its watch event arrives; the
    window is the watch latency, as in Kubernetes' admission.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._phases: dict[str, str] = {}

    async def phase(self, name: str) -> str | None:
        """``Active``/``Terminating``, or None when the namespace does not exist."""
        cached = self._phases.get(name)
        if cached is not None:
            return cached
        kv = await self._store.get(NAMESPACE.key("", name))
        if kv is None:
            return None
        phase = codec.decode(NAMESPACE, kv.value, kv.mod_revision).status.phase or "Active"
        self._phases[name] = phase
        return phase

    def observe(self, name: str, phase: str | None) -> None:
        """Records a namespace change seen on the watch (None = deleted)."""
        if phase is None:
            self._phases.pop(name, None)
        else:
            self._phases[name] = phase or "Active"

"""Field selectors: ``spec.nodeName=node-1,metadata.namespace!=kube-system``.

Each kind supports a few fields (the ones worth indexing, as in Kubernetes): every kind has
``metadata.name`` and ``metadata.namespace``, and its strategy adds its own
(``Kind.selectable_fields``: Pods and VirtualMachines ``spec.nodeName`` and ``status.phase``,
Events their involved object, reason and type). Operators are ``=``, ``==``
and ``!=``; commas join requirements that must all hold. The empty selector matches everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atoll.kinds import KINDS, Kind
from atoll.kinds.kind import FieldGetter
from atoll.labels import SelectorError, quote
from atoll.v1 import object_pb2

_COMMON: dict[str, FieldGetter] = {
    "metadata.name": lambda m: str(m.metadata.name),
    "metadata.namespace": lambda m: str(m.metadata.namespace),
}
_GETTERS: dict[str, dict[str, FieldGetter]] = {kind.name: {**_COMMON, **kind.selectable_fields} for kind in KINDS}


def supported_fields(kind: Kind) -> tuple[str, ...]:
    """The field paths ``kind`` can be selected by, in a stable order."""
    return tuple(_GETTERS[kind.name])


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str

    def __str__(self) -> str:
        return f"{self.field}{'=' if self.equal else '!='}{self.value}"


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of field requirements for one kind."""

    kind: Kind
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, message: Any) -> bool:
        """True when every requirement holds for ``message`` (an ``Object`` or the kind's own message)."""
        if isinstance(message, object_pb2.Object):
            message = getattr(message, self.kind.field)
        getters = _GETTERS[self.kind.name]
        return all(
            (getters[requirement.field](message) == requirement.value) == requirement.equal
            for requirement in self.requirements
        )

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def parse_field_selector(text: str, kind: Kind) -> FieldSelector:
    """Parse ``text`` for ``kind``; raises SelectorError naming a bad term or unknown field."""
    supported = supported_fields(kind)
    found: list[FieldRequirement] = []
    for term in (part.strip() for part in text.split(",")):
        if not term and not text.strip():
            continue
        field, equal, value = _split_term(term, text)
        if field not in supported:
            raise SelectorError(
                f"invalid field selector {quote(text)}: unknown field {quote(field)} for {kind.name}; "
                f"supported: {', '.join(supported)}"
            )
        found.append(FieldRequirement(field, equal, value))
    return FieldSelector(kind, tuple(sorted(set(found), key=lambda r: (r.field, not r.equal, r.value))))


def _split_term(term: str, text: str) -> tuple[str, bool, str]:
    for operator, equal in (("!=", False), ("==", True), ("=", True)):
        field, found, value = term.partition(operator)
        if found:
            return field.strip(), equal, value.strip()
    raise SelectorError(
        f"invalid field selector {quote(text)}: {quote(term)} is not FIELD=VALUE or FIELD!=VALUE"
    )

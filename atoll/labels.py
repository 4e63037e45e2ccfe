"""Label keys, values and selectors, with Kubernetes' syntax and meaning.

Text syntax (kubectl): requirements joined by commas, all of which must hold::

    app=web   app==web   tier!=db   env in (prod,staging)   env notin (dev)   gpu   !legacy

``!=`` and ``notin`` also match objects that lack the key. The empty selector matches everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from atoll.memo import short_memo
from atoll.user_text import quoted
from atoll.v1 import scheduling_pb2

_NAME_MAX = 63
_PREFIX_MAX = 253
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def quote(text: str) -> str:
    """``text`` in double quotes, escaped as in JSON and bounded (atoll/user_text.py), for error messages."""
    return quoted(text)


class SelectorError(ValueError):
    """A selector that cannot be parsed or holds an invalid key, value or operator."""


# Pure and called for every label, annotation, finalizer and namespace of every write; the
# same few keys and values recur across a fleet.
@short_memo(maxsize=8192, max_chars=_PREFIX_MAX + 1 + _NAME_MAX)
def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key ([prefix/]name, Kubernetes rules), or None."""
    if not key:
        return "must not be empty"
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            return "prefix before '/' must not be empty"
        if len(prefix) > _PREFIX_MAX:
            return f"prefix must be at most {_PREFIX_MAX} characters"
        if not _DNS_SUBDOMAIN.match(prefix):
            return "prefix must be a DNS subdomain (lowercase letters, digits, '-' and '.')"
    if not name:
        return "name part must not be empty"
    if len(name) > _NAME_MAX:
        return f"name part must be at most {_NAME_MAX} characters"
    if not _NAME.match(name):
        return (
            "name part must consist of letters, digits, '-', '_' or '.', "
            "and start and end with a letter or digit"
        )
    return None


@short_memo(maxsize=8192, max_chars=_NAME_MAX)  # as label_key_problem
def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value (empty is valid), or None."""
    if not value:
        return None
    if len(value) > _NAME_MAX:
        return f"must be at most {_NAME_MAX} characters"
    if not _NAME.match(value):
        return "must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit"
    return None


class Operator(Enum):
    """How a requirement compares the label; the value is its text form."""

    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


@dataclass(frozen=True, order=True)
class Requirement:
    """One condition on one label key; ``values`` are sorted and unique."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator is Operator.EXISTS:
            return present
        if self.operator is Operator.DOES_NOT_EXIST:
            return not present
        if self.operator in (Operator.EQUALS, Operator.IN):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values

    def __str__(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator in (Operator.EQUALS, Operator.NOT_EQUALS):
            return f"{self.key}{self.operator.value}{self.values[0]}"
        return f"{self.key} {self.operator.value} ({','.join(self.values)})"


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of requirements, kept in canonical (sorted) order so equal selectors compare equal."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every requirement holds; the empty selector matches everything."""
        return all(requirement.matches(labels) for requirement in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def make_selector(requirements: Iterable[Requirement]) -> LabelSelector:
    """A selector of ``requirements`` in canonical order, duplicates dropped."""
    return LabelSelector(tuple(sorted(set(requirements), key=lambda r: (r.key, r.operator.value, r.values))))


def requirement(key: str, operator: Operator, values: Iterable[str] = ()) -> Requirement:
    """A checked requirement; raises SelectorError naming the bad key, value or value count."""
    problem = label_key_problem(key)
    if problem:
        raise SelectorError(f"invalid label key {quote(key)}: {problem}")
    unique = tuple(sorted(set(values)))
    for value in unique:
        problem = label_value_problem(value)
        if problem:
            raise SelectorError(f"invalid value {quote(value)} for label {quote(key)}: {problem}")
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and unique:
        raise SelectorError(f"label {quote(key)}: operator {operator.name} takes no values")
    if operator in (Operator.EQUALS, Operator.NOT_EQUALS) and len(unique) != 1:
        raise SelectorError(f"label {quote(key)}: operator {quote(operator.value)} takes exactly one value")
    if operator in (Operator.IN, Operator.NOT_IN) and not unique:
        raise SelectorError(f"label {quote(key)}: operator {quote(operator.value)} needs at least one value")
    return Requirement(key, operator, unique)


# A key is what may precede an operator: anything but whitespace, commas, operators and parentheses.
_TOKEN = re.compile(
    r"\s*(?:(?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)|(?P<op>==|!=|=|!)|(?P<word>[^\s,=!()]+))\s*"
)


def parse_label_selector(text: str) -> LabelSelector:
    """Parse kubectl selector text; raises SelectorError naming the problem and the text."""
    try:
        return make_selector(_Parser(text).requirements())
    except SelectorError as error:
        raise SelectorError(f"invalid label selector {quote(text)}: {error}") from None


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        text = text.strip()
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise SelectorError(f"unexpected character at position {position}")
            kind = match.lastgroup
            if kind is not None:
                self.tokens.append((kind, match[kind]))
            position = match.end()
        self.position = 0

    def requirements(self) -> list[Requirement]:
        result: list[Requirement] = []
        if not self.tokens:
            return result
        while True:
            result.append(self._requirement())
            if self._peek() is None:
                return result
            self._expect("comma", "',' between requirements")

    def _requirement(self) -> Requirement:
        kind, value = self._next("a label key")
        if kind == "op" and value == "!":
            return requirement(self._expect("word", "a label key after '!'"), Operator.DOES_NOT_EXIST)
        if kind != "word":
            raise SelectorError(f"expected a label key, found {quote(value)}")
        key = value
        following = self._peek()
        if following is None or following[0] == "comma":
            return requirement(key, Operator.EXISTS)
        kind, value = self._next("an operator")
        if kind == "op" and value in ("=", "=="):
            return requirement(key, Operator.EQUALS, (self._optional_word(),))
        if kind == "op" and value == "!=":
            return requirement(key, Operator.NOT_EQUALS, (self._optional_word(),))
        if kind == "word" and value in ("in", "notin"):
            operator = Operator.IN if value == "in" else Operator.NOT_IN
            return requirement(key, operator, self._value_set())
        raise SelectorError(f"expected =, ==, !=, in or notin after {quote(key)}, found {quote(value)}")

    def _optional_word(self) -> str:
        """The value after = or !=; absent means the empty value ("tier=" selects tier="")."""
        following = self._peek()
        if following is not None and following[0] == "word":
            self.position += 1
            return following[1]
        return ""

    def _value_set(self) -> list[str]:
        self._expect("lparen", "'(' after in/notin")
        values: list[str] = []
        while True:
            kind, value = self._next("a value or ')'")
            if kind == "rparen" and not values:
                return values
            if kind != "word":
                raise SelectorError(f"expected a value, found {quote(value)}")
            values.append(value)
            kind, value = self._next("',' or ')'")
            if kind == "rparen":
                return values
            if kind != "comma":
                raise SelectorError(f"expected ',' or ')', found {quote(value)}")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self, wanted: str) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise SelectorError(f"expected {wanted}, found the end")
        self.position += 1
        return token

    def _expect(self, kind: str, wanted: str) -> str:
        token_kind, value = self._next(wanted)
        if token_kind != kind:
            raise SelectorError(f"expected {wanted}, found {quote(value)}")
        return value


_PROTO_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


def selector_from_proto(sel: scheduling_pb2.LabelSelector) -> LabelSelector:
    """The selector of ``matchLabels`` plus ``matchExpressions``; raises SelectorError when invalid."""
    found = [requirement(key, Operator.EQUALS, (value,)) for key, value in sel.match_labels.items()]
    for expression in sel.match_expressions:
        operator = _PROTO_OPERATORS.get(expression.operator)
        if operator is None:
            raise SelectorError(
                f"label {quote(expression.key)}: unknown operator {quote(expression.operator)} "
                f"(use {', '.join(_PROTO_OPERATORS)})"
            )
        found.append(requirement(expression.key, operator, expression.values))
    return make_selector(found)

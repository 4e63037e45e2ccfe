"""The YAML loader for manifests: safe, strict and bounded.

Strict: duplicate keys are errors and timestamps stay strings (the decoder parses them).
Bounded: a manifest is someone else's text, so composing a document refuses nesting deeper than
``MAX_DEPTH`` (deeper input would exhaust the parser's recursion) and documents that expand to
more than ``MAX_EXPANDED_NODES`` nodes with every alias counted each time it is used (an alias
bomb, "billion laughs", is a few hundred bytes that expand to 10^9 nodes). A recursive alias
(a node that contains itself) is refused too. Each refusal is a ``yaml.YAMLError`` with a mark,
so it reads like any other YAML error: ``invalid YAML at line 3, column 5: ...``.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent

from atoll.manifest_codec import describe

# The deepest real field path (a VM template's affinity terms) is under 20 levels.
MAX_DEPTH = 64
# No 4 MiB manifest without aliases comes near this (a node takes at least 2 bytes).
MAX_EXPANDED_NODES = 2_000_000


class ManifestLoader(yaml.SafeLoader):
    """SafeLoader with duplicate-key refusal, string timestamps and the bounds above."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._measures: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)

    def compose_document(self) -> Any:
        self._measures = {}
        return super().compose_document()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark = self._next_mark()
        if self.check_event(AliasEvent):
            node = super().compose_node(parent, index)
            measure = self._measures.get(id(node))
            if measure is None:
                raise ComposerError(None, None, "an alias refers to a node that contains it", mark)
            if self._depth + measure[1] > MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels (through an alias)", mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._measure(node, mark)
        return node

    def _next_mark(self) -> yaml.Mark:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return mark

    def _measure(self, node: yaml.Node, mark: yaml.Mark) -> None:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        measures = [self._measures.get(id(child), (1, 1)) for child in children]
        size = 1 + sum(size for size, _ in measures)
        if size > MAX_EXPANDED_NODES:
            raise ComposerError(
                None, None, f"expands to more than {MAX_EXPANDED_NODES} nodes (aliases counted each time)", mark
            )
        self._measures[id(node)] = (size, 1 + max((height for _, height in measures), default=0))

    def construct_scalar(self, node: yaml.ScalarNode | yaml.MappingNode) -> Any:
        value = super().construct_scalar(node)
        if isinstance(value, str) and not is_unicode(value):
            raise yaml.constructor.ConstructorError(
                None, None, "not valid Unicode (a lone surrogate such as \\ud800)", node.start_mark
            )
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=False)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {describe(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def is_unicode(text: str) -> bool:
    """False when ``text`` holds a lone surrogate (YAML and JSON escapes can make one; protobuf
    strings cannot hold it)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_text_is_safe(text: str) -> bool:
    """True when the JSON ``text`` cannot parse into data that json_shape_problem refuses, so the
    walk can be skipped: under MAX_DEPTH brackets in all (no deeper nesting is possible), no
    ``\\u`` escape and no lone surrogate in the text itself (so no string can hold one)."""
    return text.count("{") + text.count("[") < MAX_DEPTH and "\\u" not in text and is_unicode(text)


def json_shape_problem(data: Any) -> str | None:
    """Why parsed JSON cannot be a manifest (nested deeper than MAX_DEPTH, a lone surrogate in a
    string), or None. Iterative: JSON has no aliases, so its size is bounded by its text."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not is_unicode(value):
            return "not valid Unicode (a lone surrogate such as \\ud800)"
    return None

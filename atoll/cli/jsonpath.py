"""kubectl's JSONPath templates (``-o jsonpath=``, ``custom-columns``, ``--sort-by``, ``wait
--for=jsonpath=``) over the manifest form of objects (camelCase, as ``-o json`` prints them).

The template language is kubectl's: literal text, ``{EXPR}`` (every match, space-separated),
``{range EXPR}...{end}`` (the inner template once per match, relative to it), string literals
``{"\\n"}``, and ``\\.`` for a dot inside a key (``.metadata.labels.app\\.kubernetes\\.io/name``).
Expressions themselves (``[*]``, ``[0]``, ``[-1:]``, ``..name``, ``[?(@.type=="Ready")]``) are
evaluated by jsonpath-ng, imported only when a template is compiled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from atoll.cli.common import CliError
from atoll.user_text import bounded

Finder = Callable[[Any], list[Any]]
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Field:
    find: Finder


@dataclass(frozen=True)
class Range:
    find: Finder
    body: tuple[Node, ...]


Node = Text | Field | Range


class Template:
    """A compiled template; ``render(data)`` is its text for one document (missing keys: nothing)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._nodes = _parse(source)

    def render(self, data: Any) -> str:
        return "".join(_render(self._nodes, data))


def compile_expression(expression: str) -> Finder:
    """A finder for one expression, with or without braces (``.metadata.name``, ``{.spec}``);
    CliError naming the expression when it does not parse."""
    inner = expression.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1].strip()
    if inner == "end" or inner.startswith("range ") or "}{" in inner:
        raise _error(expression, "one expression is expected here, not a template with range or several {}")
    return _finder(inner)


def format_value(value: Any) -> str:
    """A matched value as kubectl prints it: strings bare, booleans lowercase, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _render(nodes: tuple[Node, ...], data: Any) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, Text):
            yield node.text
        elif isinstance(node, Field):
            yield " ".join(format_value(value) for value in node.find(data))
        else:
            for item in node.find(data):
                yield from _render(node.body, item)


def _parse(source: str) -> tuple[Node, ...]:
    stack: list[tuple[Finder | None, list[Node]]] = [(None, [])]
    position = 0
    while position < len(source):
        opening = source.find("{", position)
        if opening < 0:
            stack[-1][1].append(Text(source[position:]))
            break
        if opening > position:
            stack[-1][1].append(Text(source[position:opening]))
        closing = _closing_brace(source, opening)
        action = source[opening + 1 : closing].strip()
        position = closing + 1
        if action == "end":
            if len(stack) == 1:
                raise _error(source, "{end} without a {range}")
            find, body = stack.pop()
            assert find is not None
            stack[-1][1].append(Range(find, tuple(body)))
        elif action.startswith("range ") or action == "range":
            stack.append((_finder(action[len("range") :].strip(), source), []))
        elif action[:1] in ("'", '"'):
            stack[-1][1].append(Text(_literal(action, source)))
        else:
            stack[-1][1].append(Field(_finder(action, source)))
    if len(stack) > 1:
        raise _error(source, "{range} without an {end}")
    return tuple(stack[0][1])


def _closing_brace(source: str, opening: int) -> int:
    quote = ""
    for index in range(opening + 1, len(source)):
        char = source[index]
        if quote:
            if char == "\\":
                continue
            if char == quote and source[index - 1] != "\\":
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "}":
            return index
    raise _error(source, "unclosed {")


def _literal(action: str, source: str) -> str:
    if len(action) < 2 or action[-1] != action[0]:
        raise _error(source, f"unterminated string {action}")
    body = action[1:-1]
    decoded = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            decoded.append(ESCAPES.get(body[index + 1], "\\" + body[index + 1]))
            index += 2
        else:
            decoded.append(char)
            index += 1
    return "".join(decoded)


def _finder(expression: str, source: str | None = None) -> Finder:
    if not expression:
        raise _error(source or expression, "empty expression")
    from jsonpath_ng.ext.parser import parse  # deferred: the grammar costs start-up time

    path = _to_jsonpath_ng(expression)
    try:
        compiled = parse(path)
    except Exception as err:  # jsonpath-ng raises bare Exceptions (lexer/parser) for bad syntax
        raise _error(source or expression, str(err)) from None
    return lambda data: [match.value for match in compiled.find(data)]


def _to_jsonpath_ng(expression: str) -> str:
    """kubectl's form (``.a.b``, ``@.a``, ``$.a``, ``a\\.b`` inside keys, ``labels.x/y``) as
    jsonpath-ng reads it: ``$`` first, keys with other than letters, digits and _ quoted."""
    text = expression
    if text[:1] in ("$", "@"):
        text = text[1:]
    segments: list[str] = []
    current = ""
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] == ".":
            current += "."
            index += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
        index += 1
    segments.append(current)
    parts = ["$"]
    for position, segment in enumerate(segments):
        if position == 0 and segment == "":
            continue
        if segment == "":
            parts.append(".")  # '..' (recursive descent) keeps its second dot
            continue
        key, bracket, rest = segment.partition("[")
        if key and not set(key) <= IDENTIFIER_CHARS and key != "*":
            parts.append(f"[{json.dumps(key)}]")
        elif key:
            parts.append(f".{key}")
        if bracket:
            parts.append("[" + rest)
    return "".join(parts)


def _error(source: str, problem: str) -> CliError:
    return CliError(f"error parsing jsonpath {bounded(source, 200)}: {bounded(problem, 200)}")

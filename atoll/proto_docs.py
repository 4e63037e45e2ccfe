"""The comments of proto/atoll/v1/*.proto, by full name (``atoll.v1.PodSpec``,
``atoll.v1.PodSpec.windows``), for ``atoll explain``: the field docs live once, in the proto files.

Comments are read from the proto sources found beside the package (a source or editable install);
without them ``docs()`` is empty and callers show types only. A comment is the block of ``//``
lines right above a message, enum, field or value, plus a trailing ``//`` on its line.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent.parent / "proto" / "atoll" / "v1"
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;")
_BLOCK = re.compile(r"^\s*(message|enum|oneof)\s+(\w+)\s*\{")
_FIELD = re.compile(r"^\s*(?:repeated\s+|optional\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+")
_VALUE = re.compile(r"^\s*(\w+)\s*=\s*-?\d+")


@functools.cache
def docs(directory: Path = PROTO_DIR) -> dict[str, str]:
    """Full name -> comment text (lines joined with newlines) for every commented declaration."""
    found: dict[str, str] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.proto")):
            found.update(_file_docs(path.read_text(encoding="utf-8")))
    return found


def _file_docs(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    package = ""
    scopes: list[tuple[str, str]] = []  # (kind, name) of open blocks; oneofs add no name
    comment: list[str] = []
    for raw in text.splitlines():
        line, _, trailing = raw.partition("//")
        stripped = line.strip()
        if not stripped:
            comment = [*comment, trailing.strip()] if trailing or raw.strip().startswith("//") else []
            continue
        names = [name for kind, name in scopes if kind != "oneof"]
        prefix = ".".join([package, *names]) if package else ".".join(names)
        if (match := _PACKAGE.match(line)) is not None:
            package = match.group(1)
        elif (match := _BLOCK.match(line)) is not None:
            kind, name = match.groups()
            if kind != "oneof":
                _keep(found, f"{prefix}.{name}", comment, trailing)
            scopes.append((kind, name))
        elif stripped.startswith("}"):
            if scopes:
                scopes.pop()
        elif scopes and (match := (_FIELD.match(line) if scopes[-1][0] != "enum" else _VALUE.match(line))):
            _keep(found, f"{prefix}.{match.group(1)}", comment, trailing)
        comment = []
    return found


def _keep(found: dict[str, str], name: str, comment: list[str], trailing: str) -> None:
    lines = [line for line in [*comment, trailing.strip()] if line]
    if lines:
        found[name.lstrip(".")] = "\n".join(lines)

"""YAML/JSON manifests <-> atoll.v1 objects; every error names file, document and field path.

A manifest document looks like Kubernetes'::

    apiVersion: atoll.dev/v1
    kind: Pod
    metadata: {name: web, namespace: default}
    spec: {containers: [{name: web, image: nginx}]}

Loading reports *every* problem of *every* document at once (decoding and validation), as
``ManifestErrors``, one line per problem::

    web.yaml doc 2: spec.containers[0].resources.requests.memory: invalid quantity "12Gx"
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

from atoll import kinds
from atoll.kinds.checks import validate
from atoll.manifest_codec import DecodeError, decode_into, describe, encode
from atoll.manifest_yaml import ManifestLoader, json_shape_problem, json_text_is_safe
from atoll.suggest import did_you_mean
from atoll.user_text import bounded
from atoll.v1 import object_pb2

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN_SOURCE = "<stdin>"
_ENVELOPE_KEYS = frozenset({"apiVersion", "kind"})
_KIND_NAMES = dict.fromkeys(kind.name for kind in kinds.KINDS)  # ordered, as error messages list them
# One manifest file (or stdin) is at most 4 MiB, the API server's request limit
# (controller/apiserver/request_limits.py MAX_REQUEST_BYTES): 4 MiB of YAML is thousands of objects, and
# Kubernetes stores none over 1.5 MiB. Checked before the file is read, so a 200 MB file costs
# nothing; a larger set belongs in a directory of files, each under the limit.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# Problems reported per source; the rest are counted in one last line.
MAX_ERRORS_PER_SOURCE = 100
_SHOWN_PATH_CHARS = 320
_SHOWN_MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class ManifestError:
    """One problem. ``document`` is 1-based (0: the whole source, e.g. a missing file);
    ``path`` is the field path in manifest form, empty when the problem is the document itself."""

    source: str
    document: int
    path: str
    message: str

    def __post_init__(self) -> None:
        # Paths and messages repeat what a hostile manifest holds (keys, values): bound them.
        object.__setattr__(self, "path", bounded(self.path, _SHOWN_PATH_CHARS))
        object.__setattr__(self, "message", bounded(self.message, _SHOWN_MESSAGE_CHARS))

    def __str__(self) -> str:
        where = f"{self.source} doc {self.document}" if self.document else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ManifestErrors(Exception):
    """Every problem found in a load; ``str()`` has one line per error."""

    def __init__(self, errors: Sequence[ManifestError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


@dataclass(frozen=True)
class Document:
    """One decoded, validated object; ``index`` is its 1-based document number in ``source``."""

    source: str
    index: int
    object: object_pb2.Object


def from_manifest(data: Any, source: str, document: int) -> object_pb2.Object:
    """Decode one parsed document (no validation); raises ManifestErrors with every decoding problem."""
    obj, errors = _decode(data)
    if errors or obj is None:
        raise ManifestErrors([ManifestError(source, document, e.path, e.message) for e in errors])
    return obj


def to_manifest(obj: object_pb2.Object) -> dict[str, Any]:
    """The manifest form of ``obj``: apiVersion, kind, then the kind's set fields in camelCase.

    Empty and zero fields are omitted; int64 values are ints; timestamps are RFC 3339 strings.
    ``from_manifest(to_manifest(x), ...) == x`` for every object.
    """
    kind = kinds.of_object(obj)
    return {"apiVersion": kinds.API_VERSION, "kind": kind.name, **encode(kinds.unwrap(obj))}


def load_text(text: str, source: str) -> list[Document]:
    """Decode and validate every document of ``text`` (multi-document YAML, or JSON if ``source``
    ends in .json). Empty documents are skipped but still counted. Raises ManifestErrors listing
    every problem of every document (at most MAX_ERRORS_PER_SOURCE, then a count); returns only
    when all documents are valid. Any text gives one or the other in bounded time and memory:
    nesting (MAX_DEPTH) and alias expansion (MAX_EXPANDED_NODES) are bounded while parsing."""
    documents: list[Document] = []
    errors: list[ManifestError] = []
    for index, data in _parse(text, source, errors):
        if data is None:
            continue
        obj, problems = _decode(data)
        if obj is not None:
            problems += _validation_problems(obj, problems)
        errors.extend(ManifestError(source, index, p.path, p.message) for p in problems)
        if obj is not None and not problems:
            documents.append(Document(source, index, obj))
    if errors:
        raise ManifestErrors(_at_most(errors, source))
    return documents


def parse_text(text: str, source: str) -> list[Any]:
    """The parsed documents of ``text`` (None for an empty one), not yet decoded: multi-document
    YAML, or JSON if ``source`` ends in .json, within the bounds ``load_text`` keeps. Raises
    ManifestErrors for a syntax error."""
    errors: list[ManifestError] = []
    documents = [data for _, data in _parse(text, source, errors)]
    if errors:
        raise ManifestErrors(errors)
    return documents


def _at_most(errors: list[ManifestError], source: str) -> list[ManifestError]:
    if len(errors) <= MAX_ERRORS_PER_SOURCE:
        return errors
    hidden = len(errors) - MAX_ERRORS_PER_SOURCE
    return [*errors[:MAX_ERRORS_PER_SOURCE], ManifestError(source, 0, "", f"{hidden} more problems not shown")]


def load_paths(paths: Sequence[str], stdin: TextIO | None = None, *, recursive: bool = True) -> list[Document]:
    """Load files, directories (*.yaml, *.yml, *.json in sorted order; those in subdirectories too
    when ``recursive``, kubectl's -R) and "-" (stdin).

    Everything is decoded and validated before returning; a missing or unreadable path, or a
    directory without manifests, is a ManifestError too. Raises ManifestErrors with all problems.
    """
    documents: list[Document] = []
    errors: list[ManifestError] = []
    for source, text in _read_sources(paths, stdin, errors, recursive):
        try:
            documents.extend(load_text(text, source))
        except ManifestErrors as failed:
            errors.extend(failed.errors)
    if errors:
        raise ManifestErrors(errors)
    return documents


def _read_sources(
    paths: Sequence[str], stdin: TextIO | None, errors: list[ManifestError], recursive: bool
) -> Iterator[tuple[str, str]]:
    for path in paths:
        if path == "-":
            text = _read_stdin(stdin or sys.stdin, errors)
            if text is not None:
                yield STDIN_SOURCE, text
            continue
        if os.path.isdir(path):
            files = _manifest_files(path, recursive)
            if not files:
                suffixes = ", ".join(f"*{suffix}" for suffix in MANIFEST_SUFFIXES)
                below = "" if recursive else "; subdirectories are read only when recursive (-R)"
                errors.append(ManifestError(path, 0, "", f"directory holds no manifests ({suffixes}){below}"))
            paths_to_read = files
        else:
            paths_to_read = [path]
        for file in paths_to_read:
            try:
                with open(file, "rb") as handle:
                    if os.fstat(handle.fileno()).st_size > MAX_MANIFEST_BYTES:
                        errors.append(_too_big(file))
                        continue
                    data = handle.read(MAX_MANIFEST_BYTES + 1)  # a pipe or /proc file has no size
            except FileNotFoundError:
                errors.append(ManifestError(file, 0, "", "no such file or directory"))
                continue
            except OSError as error:
                errors.append(ManifestError(file, 0, "", error.strerror or str(error)))
                continue
            text = _utf8(data, file, errors)
            if text is not None:
                yield file, text


def _read_stdin(stdin: TextIO, errors: list[ManifestError]) -> str | None:
    """At most MAX_MANIFEST_BYTES of stdin (bytes when it has them, so non-UTF-8 is one error)."""
    binary = getattr(stdin, "buffer", None)
    data: bytes | str = (binary or stdin).read(MAX_MANIFEST_BYTES + 1)
    if isinstance(data, str):
        if len(data.encode("utf-8", errors="surrogatepass")) > MAX_MANIFEST_BYTES:
            errors.append(_too_big(STDIN_SOURCE))
            return None
        return data
    return _utf8(data, STDIN_SOURCE, errors)


def _utf8(data: bytes, source: str, errors: list[ManifestError]) -> str | None:
    if len(data) > MAX_MANIFEST_BYTES:
        errors.append(_too_big(source))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        errors.append(ManifestError(source, 0, "", f"not UTF-8 text (byte {error.start})"))
        return None


def _too_big(source: str) -> ManifestError:
    return ManifestError(
        source, 0, "",
        f"larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB, the limit for one manifest file or stdin"
        " (split it into several files, or a directory)",
    )


def _manifest_files(directory: str, recursive: bool) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        if not recursive:
            dirs.clear()
        found.extend(os.path.join(root, name) for name in files if name.endswith(MANIFEST_SUFFIXES))
    return sorted(found)


def _parse(text: str, source: str, errors: list[ManifestError]) -> Iterator[tuple[int, Any]]:
    """(1-based document number, parsed data or None) per document; a syntax error ends the stream."""
    if source.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            message = f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
            errors.append(ManifestError(source, 1, "", message))
            return
        except (ValueError, RecursionError) as error:  # over 4300 digits; nesting beyond recursion
            errors.append(ManifestError(source, 1, "", f"invalid JSON: {str(error) or 'nested too deeply'}"))
            return
        problem = None if json_text_is_safe(text) else json_shape_problem(data)
        if problem:
            errors.append(ManifestError(source, 1, "", f"invalid JSON: {problem}"))
            return
        yield 1, data
        return
    index = 0
    try:
        for data in yaml.load_all(text, Loader=ManifestLoader):
            index += 1
            yield index, data
    except yaml.YAMLError as error:
        errors.append(ManifestError(source, index + 1, "", _yaml_error_text(error)))
    except ValueError as error:  # a constructor's own limit, e.g. an integer of over 4300 digits
        errors.append(ManifestError(source, index + 1, "", f"invalid YAML: {error}"))


def _yaml_error_text(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        problem = error.problem or "syntax error"
        context = f" ({error.context})" if error.context else ""
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}{context}"
    return f"invalid YAML: {error}"


def _decode(data: Any) -> tuple[object_pb2.Object | None, list[DecodeError]]:
    """The object, or None when the kind cannot be known; plus every decoding problem."""
    if not isinstance(data, dict):
        return None, [
            DecodeError(
                "", f"expected a mapping with apiVersion, kind, metadata and spec, got {describe(data)}"
            )
        ]
    errors: list[DecodeError] = []
    api_version = data.get("apiVersion")
    if api_version is None:
        errors.append(DecodeError("apiVersion", f"required: set apiVersion: {kinds.API_VERSION}"))
    elif api_version != kinds.API_VERSION:
        errors.append(
            DecodeError(
                "apiVersion", f"unsupported apiVersion {describe(api_version)}; use {kinds.API_VERSION}"
            )
        )
    kind = _kind(data.get("kind"), errors)
    if kind is None:
        return None, errors
    message = kind.message()
    errors += decode_into(data, message, "", skip=_ENVELOPE_KEYS)
    return kind.wrap(message), errors


def _kind(name: Any, errors: list[DecodeError]) -> kinds.Kind | None:
    if isinstance(name, str) and name in _KIND_NAMES:
        return kinds.by_name(name)
    known = list(_KIND_NAMES)
    if name is None:
        errors.append(DecodeError("kind", f"required: set kind to one of {', '.join(known)}"))
        return None
    message = f"unknown kind {describe(name)}"
    hint = did_you_mean(name, known) if isinstance(name, str) else ""
    hint = hint or f"; known kinds: {', '.join(known)}"
    errors.append(DecodeError("kind", message + hint))
    return None


def _validation_problems(obj: object_pb2.Object, decode_errors: list[DecodeError]) -> list[DecodeError]:
    """Validation errors, minus those at or under a path that already failed to decode
    (``spec.vcpus: expected an integer`` makes ``spec.vcpus: must be at least 1`` noise)."""
    failed = [error.path for error in decode_errors]
    return [
        DecodeError(problem.path, problem.message)
        for problem in validate(obj)
        if not any(_within(problem.path, path) for path in failed)
    ]


def _within(path: str, ancestor: str) -> bool:
    if not ancestor:
        return True
    return path == ancestor or path.startswith((f"{ancestor}.", f"{ancestor}["))

"""``atoll describe KIND [NAME...]``: an object for people: metadata, spec, status, conditions and
the Events that concern it (why it is Pending, where it was scheduled, why it failed)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from atoll import kinds
from atoll.cli import printers
from atoll.cli.common import (
    EXIT_OK,
    Streams,
    add_namespace_flags,
    add_server_flag,
    get_named,
    namespace_of,
    run_with_client,
)
from atoll.cli.parser import examples
from atoll.cli.targets import add_kind_and_names, kind_requests
from atoll.client import Client
from atoll.kinds.columns import NONE, is_set, since
from atoll.kinds.event import event_last_seen
from atoll.v1 import object_pb2

LABEL_WIDTH = 14  # "Annotations:  " — values start in one column, like kubectl describe
_METADATA_SECTIONS = frozenset({"apiVersion", "kind", "metadata"})


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "describe",
        help="show objects in detail, with their conditions and events",
        description="Show objects in detail: metadata, spec, status, conditions and related events.",
        **examples(
            "atoll describe pod web",
            "atoll describe pod/web vm/db -n prod",
            "atoll describe nodes -l zone=a",
        ),
    )
    add_kind_and_names(parser, "describe (default: all)")
    add_namespace_flags(parser)
    parser.add_argument("-l", "--selector", default="", metavar="SELECTOR", help="label selector (without NAME)")
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: execute(client, args, streams))


async def execute(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    """Describe each named object (or every match); a missing name is reported and exits 1."""
    status = EXIT_OK
    objects: list[object_pb2.Object] = []
    events_namespaces: set[str] = set()
    for request in kind_requests(args.kind, args.names, "describe"):
        namespace = namespace_of(args, request.kind)
        if request.names:
            found, failed = await get_named(client, request.kind, request.names, namespace, streams)
            status = max(status, failed)
        else:
            found, _ = await client.list_all(request.kind.name, namespace, args.selector)
        objects.extend(found)
        if found and request.kind.described_with_events:
            # Cluster-scoped objects have their events in some namespace: search them all ("").
            events_namespaces.add(namespace)
    events: list[object_pb2.Object] = []
    for namespace in sorted(events_namespaces) if "" not in events_namespaces else [""]:
        listed, _ = await client.list_all("Event", namespace)
        events.extend(listed)
    for index, obj in enumerate(objects):
        if index:
            streams.out.write("\n\n")
        streams.out.write(render(obj, related_events(obj, events), streams.now()))
    streams.out.flush()
    return status


def related_events(obj: object_pb2.Object, events: Sequence[object_pb2.Object]) -> list[Any]:
    """The events whose involved object is ``obj`` (same kind and name, and uid when both have
    one, so that events of an earlier object with the same name are left out), oldest first."""
    kind = kinds.of_object(obj)
    meta = kinds.unwrap(obj).metadata
    chosen = []
    for candidate in events:
        ref = kinds.unwrap(candidate).involved_object
        if ref.kind != kind.name or ref.name != meta.name:
            continue
        if kind.namespaced and ref.namespace and ref.namespace != meta.namespace:
            continue
        if ref.uid and meta.uid and ref.uid != meta.uid:
            continue
        chosen.append(candidate)
    # Sort only the few matches: describe calls this once per object, with every event.
    return [kinds.unwrap(event) for event in printers.sort_for_display(kinds.by_name("Event"), chosen)]


def render(obj: object_pb2.Object, events: Sequence[Any], now: float) -> str:
    """The full description of ``obj`` as text (ends with a newline)."""
    from atoll.manifest import to_manifest  # deferred: only describe and YAML output need the codec

    kind = kinds.of_object(obj)
    message = kinds.unwrap(obj)
    lines = _metadata_lines(kind, message, now)
    manifest = kind.described(message, to_manifest(obj))
    for key, value in manifest.items():
        if key in _METADATA_SECTIONS:
            continue
        if key == "status" and isinstance(value, dict):
            apart = kind.described_apart | {"conditions"}
            value = {k: v for k, v in value.items() if k not in apart}
        lines.extend(_section(key[:1].upper() + key[1:], value))
    if kind.has_status and hasattr(message.status, "conditions"):
        lines.extend(_conditions(message.status.conditions, now))
    for title, rows in kind.describe_tables(message, now):
        lines.extend([f"{title}:", *_table(rows)])
    if kind.described_with_events:
        lines.extend(_events(events, now))
    return "\n".join(lines) + "\n"


def _field(label: str, value: str) -> str:
    return f"{label + ':':<{LABEL_WIDTH}}{value}"


def _mapping_lines(label: str, values: Mapping[str, str]) -> list[str]:
    """``Labels:  a=b`` with further pairs aligned under the first, like kubectl."""
    pairs = [f"{key}={value}" for key, value in sorted(values.items())] or [NONE]
    return [_field(label, pairs[0])] + [" " * LABEL_WIDTH + pair for pair in pairs[1:]]


def _metadata_lines(kind: kinds.Kind, message: Any, now: float) -> list[str]:
    meta = message.metadata
    lines = [_field("Name", meta.name)]
    if kind.namespaced:
        lines.append(_field("Namespace", meta.namespace))
    lines.extend(_mapping_lines("Labels", meta.labels))
    lines.extend(_mapping_lines("Annotations", meta.annotations))
    if meta.uid:
        lines.append(_field("UID", meta.uid))
    if is_set(meta.creation_timestamp):
        created = meta.creation_timestamp.ToJsonString()
        lines.append(_field("Created", f"{created} ({since(meta.creation_timestamp, now)} ago)"))
    owner = next((ref for ref in meta.owner_references if ref.controller), None)
    if owner is not None:
        lines.append(_field("Controlled By", f"{owner.kind}/{owner.name}"))
    if meta.finalizers:
        lines.append(_field("Finalizers", ", ".join(meta.finalizers)))
    if is_set(meta.deletion_timestamp):
        lines.append(_field("Deleting", f"since {meta.deletion_timestamp.ToJsonString()}"))
    return lines


def _section(title: str, value: Any) -> list[str]:
    """A top-level manifest field: scalars inline, structures as indented YAML."""
    if value in (None, {}, []):
        return []
    if not isinstance(value, dict | list):
        return [_field(title, str(value))]
    body = yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip("\n")
    return [f"{title}:"] + ["  " + line for line in body.splitlines()]


def _table(rows: list[list[str]]) -> list[str]:
    return ["  " + line.rstrip() for line in printers.align(rows)]


def _conditions(conditions: Sequence[Any], now: float) -> list[str]:
    if not conditions:
        return [_field("Conditions", NONE)]
    rows = [["Type", "Status", "Reason", "Age", "Message"], ["----", "------", "------", "---", "-------"]]
    for condition in conditions:
        rows.append(
            [
                condition.type,
                condition.status,
                condition.reason or NONE,
                since(condition.last_transition_time, now),
                " ".join(condition.message.split()),
            ]
        )
    return ["Conditions:", *_table(rows)]


def _events(events: Sequence[Any], now: float) -> list[str]:
    if not events:
        return [_field("Events", NONE)]
    rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "---", "----", "-------"]]
    for event in events:
        age = since(event_last_seen(event), now)
        if event.count > 1:
            age = f"{age} (x{event.count} over {since(event.first_timestamp, now)})"
        rows.append(
            [
                event.type or "Normal",
                event.reason,
                age,
                event.source or NONE,
                " ".join(event.message.split()),
            ]
        )
    return ["Events:", *_table(rows)]

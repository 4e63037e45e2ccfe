"""``atoll top nodes|pods|vms``: what is allocated where, from the objects the API holds: the CPU
and memory that bound, running workloads request (atoll/requests.py) against each node's
allocatable, as the agents' atoll_agent_node_*_allocated metrics count them. atoll measures no
live usage, so the columns say "requests" where kubectl top shows usage."""

from __future__ import annotations

import argparse
from typing import Any

from atoll import kinds
from atoll.cli.common import EXIT_OK, CliError, Streams, add_namespace_flags, add_server_flag, run_with_client
from atoll.cli.printers import TableWriter
from atoll.client import Client
from atoll.quantity import QuantityError, cpu_millis, to_bytes
from atoll.user_text import bounded

WHAT = ("nodes", "node", "no", "pods", "pod", "po", "vms", "vm", "virtualmachines")  # kinds.lookup reads them
EXAMPLES = """examples:
  atoll top nodes
  atoll top pods -n prod --sort-by memory
  atoll top vms -A"""
MI = 1024 * 1024


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "top",
        help="show CPU and memory requested per node, pod or VM",
        description="Show the CPU and memory that running workloads request, per node (against its "
        "allocatable), pod or VM.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("what", choices=WHAT, metavar="nodes|pods|vms", help="what to list")
    parser.add_argument("names", metavar="NAME", nargs="*", help="only these (default: all)")
    add_namespace_flags(parser, all_namespaces=True)
    parser.add_argument("-l", "--selector", default="", metavar="SELECTOR", help="label selector")
    parser.add_argument("--sort-by", choices=("cpu", "memory"), help="largest first by cpu or memory")
    parser.add_argument("--no-headers", action="store_true", help="no header line")
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: execute(client, args, streams))


async def execute(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    kind = kinds.lookup(args.what)
    if kind.node_bound:
        header, rows = await _workloads(client, args, kind)
    else:
        header, rows = await _nodes(client, args)
    if args.names:
        rows = [row for row in rows if row[1][0] in args.names]
        missing = sorted(set(args.names) - {row[1][0] for row in rows})
        if missing:
            raise CliError(f"{kind.plural} not found: {bounded(', '.join(missing), 400)}")
    if args.sort_by:
        index = 1 if args.sort_by == "cpu" else 2
        rows.sort(key=lambda row: row[1][index], reverse=True)
    table = [row[0] for row in rows]
    if not table:
        streams.error("No resources found")
        return EXIT_OK
    TableWriter(streams.out).write(table if args.no_headers else [header, *table], header=not args.no_headers)
    return EXIT_OK


Row = tuple[list[str], tuple[str, int, int]]


async def _nodes(client: Client, args: argparse.Namespace) -> tuple[list[str], list[Row]]:
    nodes, _ = await client.list_all("Node", "", args.selector)
    allocated: dict[str, list[int]] = {}
    for workload_kind in (kind for kind in kinds.KINDS if kind.node_bound):
        listed, _ = await client.list_all(workload_kind.name, "")
        for obj in listed:
            workload = kinds.unwrap(obj)
            taken = workload_kind.node_requests(workload)
            if taken is not None:
                cpu, memory = taken
                totals = allocated.setdefault(workload.spec.node_name, [0, 0, 0])
                totals[0] += cpu
                totals[1] += memory
                totals[2] += 1
    rows: list[Row] = []
    for obj in nodes:
        node = kinds.unwrap(obj)
        cpu, memory, count = allocated.get(node.metadata.name, [0, 0, 0])
        allocatable = node.status.allocatable
        cpu_total = _parse(cpu_millis, allocatable.get("cpu", ""))
        memory_total = _parse(to_bytes, allocatable.get("memory", ""))
        cells = [
            node.metadata.name,
            f"{cpu}m", _percent(cpu, cpu_total),
            f"{memory // MI}Mi", _percent(memory, memory_total),
            f"{count}/{allocatable.get('pods', '?')}",
        ]
        rows.append((cells, (node.metadata.name, cpu, memory)))
    header = ["NAME", "CPU(requests)", "CPU%", "MEMORY(requests)", "MEMORY%", "WORKLOADS"]
    return header, rows


async def _workloads(client: Client, args: argparse.Namespace, kind: kinds.Kind) -> tuple[list[str], list[Row]]:
    namespace = "" if args.all_namespaces else (args.namespace or "default")
    listed, _ = await client.list_all(kind.name, namespace, args.selector)
    rows: list[Row] = []
    for obj in listed:
        workload = kinds.unwrap(obj)
        taken = kind.node_requests(workload)
        if taken is None:
            continue
        cpu, memory = taken
        meta = workload.metadata
        cells = [meta.name, f"{cpu}m", f"{memory // MI}Mi", workload.spec.node_name]
        if args.all_namespaces:
            cells.insert(0, meta.namespace)
        rows.append((cells, (meta.name, cpu, memory)))
    header = ["NAME", "CPU(requests)", "MEMORY(requests)", "NODE"]
    if args.all_namespaces:
        header.insert(0, "NAMESPACE")
    return header, rows


def _parse(parse: Any, text: str) -> int:
    try:
        return int(parse(text)) if text else 0
    except QuantityError:
        return 0


def _percent(used: int, total: int) -> str:
    return f"{used * 100 // total}%" if total else "<unknown>"

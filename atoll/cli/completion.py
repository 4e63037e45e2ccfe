"""``atoll completion bash|zsh|fish``: the shell code (argcomplete's) that makes the shell ask
``atoll`` itself for completions, and ``complete``, which answers: verbs, flags, kinds, output
formats, namespaces and the names of live objects, read from the server in bounded time.

A completion never prints an error or waits long: an unreachable server, missing credentials or
any API error completes nothing (argcomplete mutes the process's own output meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from collections.abc import Callable, Iterable
from typing import Any

SHELLS = ("bash", "zsh", "fish")
# The whole server round trip of one completion (connect, list); then nothing is offered.
LIVE_NAMES_SECONDS = 2.0
NAMES_LIMIT = 500


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print the shell code that completes atoll's verbs, flags, kinds and object names",
        description="Print shell code for completion; load it in your shell's start-up file.",
        epilog="examples:\n  source <(atoll completion bash)\n  atoll completion zsh > \"${fpath[1]}/_atoll\"\n"
        "  atoll completion fish > ~/.config/fish/completions/atoll.fish",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help=" | ".join(SHELLS))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode  # deferred: only completion needs it

    sys.stdout.write(shellcode(["atoll"], shell=args.shell))
    return 0


def words_before_cursor(comp_line: str, comp_point: int) -> list[str]:
    """The words typed before the cursor, without the program name (a partial last word kept)."""
    typed = comp_line[:comp_point]
    try:
        words = shlex.split(typed)
    except ValueError:  # an open quote: the word being typed
        words = typed.split()
    if typed.endswith(" "):
        words.append("")
    return words[1:]


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (argcomplete reads COMP_LINE/COMP_POINT) and exit."""
    import argcomplete

    attach_completers(parser)
    argcomplete.autocomplete(parser, always_complete_options="long")


def attach_completers(parser: argparse.ArgumentParser) -> None:
    """Give every verb's kind, name, namespace and output arguments their completer."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                attach_completers(child)
            continue
        completer = _COMPLETERS.get(action.dest)
        if completer is not None:
            action.completer = completer  # type: ignore[attr-defined]


def complete_kinds(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Kind aliases; after ``KIND/``, that kind's live object names as ``KIND/NAME``."""
    from atoll import kinds

    if "/" in prefix:
        word = prefix.split("/", 1)[0]
        try:
            kind = kinds.lookup(word)
        except kinds.UnknownKindError:
            return []
        return [f"{word}/{name}" for name in live_names(kind.name, parsed_args)]
    return [alias for alias in kinds.all_aliases() if alias.startswith(prefix)]


def complete_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Live names of the kind already typed (``atoll get pods we<TAB>``)."""
    from atoll import kinds

    kind_word = getattr(parsed_args, "kind", None)
    if not kind_word or "/" in kind_word:
        return complete_kinds(prefix, parsed_args) if kind_word else []
    try:
        kind = kinds.lookup(kind_word.split(",", 1)[0])
    except kinds.UnknownKindError:
        return []
    return [name for name in live_names(kind.name, parsed_args) if name.startswith(prefix)]


def complete_namespaces(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    return [name for name in live_names("Namespace", parsed_args) if name.startswith(prefix)]


def complete_outputs(prefix: str, **_: Any) -> list[str]:
    from atoll.cli.output import PLAIN_FORMATS, TEMPLATE_FORMATS

    return [word for word in (*PLAIN_FORMATS, *(f"{name}=" for name in TEMPLATE_FORMATS)) if word.startswith(prefix)]


_COMPLETERS: dict[str, Callable[..., Iterable[str]]] = {
    "kind": complete_kinds,
    "target": complete_kinds,  # the KIND/NAME of exec, attach, logs, scale, expose, ...
    "names": complete_names,
    "namespace": complete_namespaces,
    "output": complete_outputs,
}


def live_names(kind_name: str, parsed_args: argparse.Namespace) -> list[str]:
    """Names of ``kind_name`` objects in the namespace typed (-n, else default; -A: all), from the
    server the command line would use; [] on any failure or after LIVE_NAMES_SECONDS."""
    try:
        return asyncio.run(_list_names_within(kind_name, parsed_args, LIVE_NAMES_SECONDS))
    except Exception:  # completion stays silent whatever went wrong: the user is typing
        return []


async def _list_names_within(kind_name: str, parsed_args: argparse.Namespace, seconds: float) -> list[str]:
    async with asyncio.timeout(seconds):
        return await _list_names(kind_name, parsed_args)


async def _list_names(kind_name: str, parsed_args: argparse.Namespace) -> list[str]:
    from atoll import kinds
    from atoll.client import Backoff, Client
    from atoll.client_flags import client_flags
    from atoll.config import resolve_client_config

    kind = kinds.by_name(kind_name)
    namespace = ""
    if kind.namespaced and not getattr(parsed_args, "all_namespaces", False):
        namespace = getattr(parsed_args, "namespace", None) or "default"
    config = resolve_client_config(client_flags(parsed_args), notice=lambda line: None)
    async with Client.connect(config, backoff=Backoff(attempts=1)) as client:
        objects, _ = await client.list_all(kind.name, namespace, "", "", NAMES_LIMIT)
    return sorted(kinds.unwrap(obj).metadata.name for obj in objects)


"""The ``atoll`` command: parse ``atoll [--server ADDR] VERB ...`` and hand off to the verb's module.

Each verb module offers ``add_parser(subparsers)`` (which sets ``run`` as a default) and
``run(args) -> int``. Every verb is lazy: ``VERBS`` names its module and its one-line help, and the
module is imported only when it is the verb being run, so ``atoll --help`` and ``atoll version
--client`` start in about the time of a bare interpreter (tests/bench/cli_startup.py). A package
above ``atoll`` may add verbs of its own through ``lazy_verbs``: the ``atoll`` console script
(allinone.main) adds ``up``, the composition root that imports every component; the foundation
never imports the package that offers it.

Adding a verb: a module under atoll/cli/ with ``add_parser``/``run`` and one line in ``VERBS``
(the help given there is the one the module's ``add_parser`` passes: a test keeps them equal).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from atoll.cli.parser import OneLineErrorParser
from atoll.client_flags import add_client_flags

# Not typing.TYPE_CHECKING: importing typing (and dataclasses) is a good part of a start-up budget
# of one bare interpreter (tests/bench/cli_startup.py); mypy reads this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Verb(Protocol):
        """What a verb module offers."""

        # Any: the verb's own annotation may name ArgumentParser; atoll's subparsers are OneLineErrorParser.
        def add_parser(self, subparsers: argparse._SubParsersAction[Any]) -> None:
            """Add the verb's subparser with its flags."""

        def run(self, args: argparse.Namespace) -> int:
            """Run the verb; returns the exit code."""

else:
    Verb = object  # only ever an annotation at run time

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by the signal
VALUE_FLAGS = frozenset({"--server", "--ca", "--cert", "--key", "--token"})


class LazyVerb:
    """A verb listed in the help by ``help`` and loaded by ``load()`` only when it is run."""

    __slots__ = ("help", "load")

    def __init__(self, help: str, load: Callable[[], Verb]) -> None:
        self.help = help
        self.load = load


def module_verb(module: str, help: str) -> LazyVerb:
    """A verb whose module (``atoll.cli.get``) is imported when it is run."""

    def load() -> Verb:
        imported: Verb = importlib.import_module(module)
        return imported

    return LazyVerb(help=help, load=load)


VERBS: Mapping[str, LazyVerb] = MappingProxyType(
    {
        "apply": module_verb("atoll.cli.apply", "create or update objects from manifests"),
        "run": module_verb("atoll.cli.run", "create a pod running one image"),
        "create": module_verb(
            "atoll.cli.create", "create a deployment, namespace, configmap, secret or service from flags"
        ),
        "expose": module_verb("atoll.cli.expose", "create a service in front of a deployment, pod, service or VM"),
        "set": module_verb(
            "atoll.cli.set_fields", "change container images, environment or resources of pods and deployments"
        ),
        "get": module_verb("atoll.cli.get", "list objects of one kind, or show some by name"),
        "describe": module_verb("atoll.cli.describe", "show objects in detail, with their conditions and events"),
        "delete": module_verb("atoll.cli.delete", "delete objects by name or by manifest"),
        "logs": module_verb("atoll.cli.logs", "print the output of a pod's container or a VM's console"),
        "exec": module_verb("atoll.cli.exec", "run a command in a running container"),
        "attach": module_verb("atoll.cli.attach", "follow a running container's own output, or type into its terminal"),
        "console": module_verb("atoll.cli.console", "connect to the serial console of a running VM"),
        "port-forward": module_verb("atoll.cli.port_forward", "forward local ports to a pod's or VM's ports"),
        "node": module_verb("atoll.cli.node", "cordon, uncordon or drain nodes"),
        "image": module_verb("atoll.cli.image", "import and list container images on a real node"),
        "scale": module_verb("atoll.cli.scale", "set the number of replicas of a deployment"),
        "rollout": module_verb("atoll.cli.rollout", "follow, list, undo or restart deployment rollouts"),
        "vm": module_verb("atoll.cli.vm", "start, stop, restart, pause, resume or migrate a virtual machine"),
        "certs": module_verb("atoll.cli.certs", "create and check the cluster CA and certificates"),
        "token": module_verb("atoll.cli.token", "create bearer tokens for users"),
        "label": module_verb("atoll.cli.label", "set or remove labels of objects"),
        "annotate": module_verb("atoll.cli.annotate", "set or remove annotations of objects"),
        "patch": module_verb("atoll.cli.patch", "change fields of objects with a strategic, merge or JSON patch"),
        "edit": module_verb("atoll.cli.edit", "edit an object's manifest in $EDITOR and write it back"),
        "diff": module_verb("atoll.cli.diff", "show what apply would change (exit 1 when anything would)"),
        "wait": module_verb(
            "atoll.cli.wait", "wait until objects meet a condition, are deleted, or a field has a value"
        ),
        "explain": module_verb("atoll.cli.explain", "show the documentation of a kind or a field (KIND.FIELD.FIELD)"),
        "top": module_verb("atoll.cli.top", "show CPU and memory requested per node, pod or VM"),
        "version": module_verb("atoll.cli.version", "print the client's and the API server's versions"),
        "api-resources": module_verb("atoll.cli.api_resources", "list the kinds of objects the API serves"),
        "completion": module_verb(
            "atoll.cli.completion", "print the shell code that completes atoll's verbs, flags, kinds and object names"
        ),
    }
)
NO_LAZY_VERBS: Mapping[str, LazyVerb] = MappingProxyType({})


def all_verbs(lazy_verbs: Mapping[str, LazyVerb] = NO_LAZY_VERBS) -> dict[str, LazyVerb]:
    """atoll's verbs and those a package above adds, in the order the help lists them."""
    return {**VERBS, **lazy_verbs}


def build_parser(
    lazy_verbs: Mapping[str, LazyVerb] = NO_LAZY_VERBS, loaded: Mapping[str, Verb] | None = None
) -> argparse.ArgumentParser:
    """The full parser. A verb present in ``loaded`` gets its own flags; the others appear in the
    help only, without their flags. ``loaded`` None: every verb is loaded (tests, completion)."""
    verbs = all_verbs(lazy_verbs)
    if loaded is None:
        loaded = {name: verb.load() for name, verb in verbs.items()}
    parser = OneLineErrorParser(
        prog="atoll",
        description="Declarative virtual machines and containers: apply manifests, inspect, delete.",
    )
    add_client_flags(parser)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, lazy in verbs.items():
        if name in loaded:
            loaded[name].add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=lazy.help, add_help=False)
    return parser


def verb_of(argv: Sequence[str]) -> str | None:
    """The first positional argument (the verb), skipping ``--server VALUE`` (and the other
    top-level flags that take a value) and other flags."""
    skip_value = False
    for token in argv:
        if skip_value:
            skip_value = False
        elif token in VALUE_FLAGS:
            skip_value = True
        elif not token.startswith("-"):
            return token
    return None


def main(argv: Sequence[str] | None = None, *, lazy_verbs: Mapping[str, LazyVerb] = NO_LAZY_VERBS) -> int:
    """Runs one ``atoll`` command line (``sys.argv`` when ``argv`` is None); returns the exit code."""
    verbs = all_verbs(lazy_verbs)
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (atoll/cli/completion.py)
        from atoll.cli.completion import complete, words_before_cursor

        typed = words_before_cursor(os.environ.get("COMP_LINE", ""), int(os.environ.get("COMP_POINT", "0") or 0))
        complete(build_parser(lazy_verbs, _load(verbs, verb_of(typed[:-1]))))  # exits
    argv = list(sys.argv[1:] if argv is None else argv)
    loaded = _load(verbs, verb_of(argv))
    args = build_parser(lazy_verbs, loaded).parse_args(argv)
    run = getattr(args, "run", None) or loaded[args.verb].run
    try:
        return int(run(args) or 0)
    except BrokenPipeError:  # the reader went away (`atoll get pods | head`): stop quietly, as kubectl does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush fails silently
        return EXIT_BROKEN_PIPE


def _load(verbs: Mapping[str, LazyVerb], verb: str | None) -> dict[str, Verb]:
    """The one verb to load (with its flags): the one named, when it is one."""
    return {verb: verbs[verb].load()} if verb is not None and verb in verbs else {}


if __name__ == "__main__":
    sys.exit(main())

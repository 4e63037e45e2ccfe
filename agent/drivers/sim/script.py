"""The tiny language simulated tasks 'run', so tests and demos can script what a workload does.

Where the script comes from (first that applies):

1. the workload annotation ``sim.atoll.dev/script`` (the only way for VMs);
2. a container whose command is a shell with ``-c``: the text after ``-c``
   (``["sh", "-c", "sleep 2; exit 3"]``);
3. a container whose command starts with a statement verb (``["exit", "1"]``, ``["sleep", "5"]``).

Anything else (``nginx``, no command at all) is a service that runs until stopped.

Statements, separated by ``;``, ``&&`` or newlines:

==============  ==============================================================================
``sleep S``     wait S seconds (``infinity``: forever)
``exit N``      end with exit code N
``echo TEXT``   write a log line
``alloc QTY``   use QTY of memory (``200Mi``); over the limit Linux OOM-kills, Windows caps
``ignore-term`` ignore the graceful stop signal, so only the kill after the grace period ends it
``crash``       the guest (VM) or process (container, SIGSEGV) crashes
``poweroff``    the guest shuts down cleanly (a container exits 0)
``reboot``      the guest reboots (VMs): booting again, then the rest of the script
==============  ==============================================================================

A statement the language does not know is treated as a program that runs forever, as a shell
running ``python app.py`` would. A script that runs out of statements exits 0.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from atoll.quantity import QuantityError, to_bytes

SCRIPT_ANNOTATION = "sim.atoll.dev/script"
VERBS = frozenset({"sleep", "exit", "echo", "alloc", "ignore-term", "crash", "poweroff", "reboot"})
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "cmd", "powershell", "pwsh"})
_SEPARATORS = re.compile(r";|&&|\n")


class ScriptError(ValueError):
    """A statement with a bad argument (``exit x``); the message names the statement."""


@dataclass(frozen=True)
class Step:
    verb: str
    number: float = 0.0
    text: str = ""


FOREVER = (Step("sleep", math.inf),)


def script_of(command: Sequence[str], args: Sequence[str], annotation: str = "") -> str | None:
    """The script text a task runs, or None for a service that runs until stopped."""
    if annotation.strip():
        return annotation
    argv = [*command, *args]
    if not argv:
        return None
    program = argv[0].rsplit("/", 1)[-1].lower().removesuffix(".exe")
    if program in _SHELLS:
        for flag in ("-c", "/c", "-command"):
            if flag in (a.lower() for a in argv[1:]):
                index = [a.lower() for a in argv].index(flag)
                return " ".join(argv[index + 1 :]) or None
        return None
    if program in VERBS:
        return shlex.join(argv)
    return None


def parse_script(text: str | None) -> tuple[Step, ...]:
    """The steps of ``text``; None or blank means run forever. Raises ScriptError."""
    if text is None or not text.strip():
        return FOREVER
    steps: list[Step] = []
    for statement in _SEPARATORS.split(text):
        words = shlex.split(statement) if statement.strip() else []
        if not words:
            continue
        steps.append(_parse_statement(words, statement.strip()))
    return tuple(steps) or FOREVER


def _parse_statement(words: list[str], statement: str) -> Step:
    verb, rest = words[0], words[1:]
    if verb not in VERBS:
        return Step("sleep", math.inf)
    if verb == "sleep":
        return Step("sleep", _number(rest, statement, allow_infinity=True))
    if verb == "exit":
        return Step("exit", int(_number(rest or ["0"], statement)))
    if verb == "echo":
        return Step("echo", text=" ".join(rest))
    if verb == "alloc":
        if not rest:
            raise ScriptError(f"script statement {statement!r}: alloc needs a quantity such as 200Mi")
        try:
            return Step("alloc", float(to_bytes(rest[0])))
        except QuantityError as err:
            raise ScriptError(f"script statement {statement!r}: {err}") from None
    return Step(verb)


def _number(words: list[str], statement: str, *, allow_infinity: bool = False) -> float:
    if not words:
        raise ScriptError(f"script statement {statement!r}: a number is missing")
    if allow_infinity and words[0] in ("infinity", "inf"):
        return math.inf
    try:
        value = float(words[0])
    except ValueError:
        raise ScriptError(f"script statement {statement!r}: {words[0]!r} is not a number") from None
    if value < 0 or math.isnan(value):
        raise ScriptError(f"script statement {statement!r}: must not be negative")
    return value

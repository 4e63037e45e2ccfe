"""The argument parser every ``atoll`` verb uses, parsing as kubectl does.

- Flags go before or after positional arguments (``atoll get pod -n prod web``): a verb's parser
  (one without subcommands of its own) parses with argparse's intermixed mode.
- A usage mistake is one line on stderr and exit code 1 (not argparse's usage block and 2).
- A mistyped verb, choice or flag gets "did you mean" (atoll/suggest.py, the one rule for it).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

TYPE_CHECKING = False  # not typing's: see atoll/cli/main.py (start-up time)
if TYPE_CHECKING:
    from typing import Any, NoReturn

EXIT_USAGE = 1
# argparse's nargs for a subcommand's argument and for "everything else": not intermixable.
_NOT_INTERMIXABLE = (argparse.PARSER, argparse.REMAINDER)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with flags anywhere, one-line errors (exit 1) and suggestions for mistakes.

    Contract of ``parse_known_args`` on a parser without subcommands (a verb's): unknown flags and
    surplus arguments are an error here, naming the closest flag, rather than being handed back.
    """

    _intermixing = False

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see '{self.prog} --help')\n")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing or not self._is_leaf():
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            parsed, extras = super().parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
        if extras:
            self.error(self._unrecognized(extras))
        return parsed, extras

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        from atoll.suggest import did_you_mean  # deferred, as below: only a mistake needs them
        from atoll.user_text import bounded_repr

        words = [str(choice) for choice in choices]
        hint = did_you_mean(str(value), words) or f" (choose from {', '.join(words)})"
        raise argparse.ArgumentError(action, f"invalid choice: {bounded_repr(str(value))}{hint}")

    def _is_leaf(self) -> bool:
        return not any(action.nargs in _NOT_INTERMIXABLE for action in self._get_positional_actions())

    def _unrecognized(self, extras: Sequence[str]) -> str:
        from atoll.suggest import did_you_mean
        from atoll.user_text import bounded

        shown = " ".join(bounded(extra, 100) for extra in extras[:5])
        message = f"unrecognized arguments: {shown}"
        flag = next((extra for extra in extras if extra.startswith("-")), None)
        if flag is not None:
            message += did_you_mean(flag.split("=", 1)[0], self._option_string_actions)
        return message


def examples(*lines: str) -> dict[str, Any]:
    """Keyword arguments giving a verb's ``--help`` an ``examples:`` block, one command a line
    (``subparsers.add_parser("get", help=..., **examples("atoll get pods", ...))``)."""
    return {
        "epilog": "examples:\n" + "\n".join(f"  {line}" for line in lines),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }

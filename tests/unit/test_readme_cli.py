"""The README's command list and the CLI's verbs come from one source: every verb the ``atoll``
command offers (atoll/cli/main.py VERBS plus allinone's up) is in the list, and the list names no
verb the command lacks; every verb's --help ends with examples of itself."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from allinone.main import LAZY_VERBS
from atoll.cli.main import all_verbs, build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Using it") :]
    return section[section.index("```sh") : section.index("```\n", section.index("```sh") + 5)]


def test_the_readme_lists_exactly_the_verbs_of_the_command() -> None:
    found = re.findall(r"(?:^|\s|\|)atoll ([a-z][a-z-]*(?:\|[a-z][a-z-]*)*)", readme_commands(), flags=re.MULTILINE)
    listed = {verb for alternatives in found for verb in alternatives.split("|")}  # "label|annotate": both
    assert listed == set(all_verbs(LAZY_VERBS))


def test_every_verb_has_help_with_examples_of_itself() -> None:
    parser = build_parser()
    verbs = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    for name, verb_parser in verbs.choices.items():
        epilog = verb_parser.epilog or ""
        assert epilog.startswith("examples:\n"), f"atoll {name} --help has no examples"
        lines = epilog.splitlines()[1:]
        assert lines and all(f"atoll {name}" in line for line in lines), f"atoll {name}: {lines}"

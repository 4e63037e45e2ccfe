"""``atoll token create USER [--group G]...``: a bearer token for a user, printed once.

Only the token's SHA-256 hash is stored, in the token file the API server reads (default: the
data dir's ``tokens.yaml``, which `atoll up` serves with); the server picks up new tokens within
a second. Grant the user a role with a RoleBinding (``atoll apply``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from atoll.cli.common import EXIT_FAILED, EXIT_OK
from atoll.cli.datadir import DATA_DIR_ENV, default_data_dir
from atoll.cli.parser import examples
from atoll.tokens import TOKEN_FILE_NAME, TokenFileError, add_token
from atoll.user_text import bounded_repr


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "token", help="create bearer tokens for users", description=__doc__.split("\n\n")[1],
        **examples(
            "atoll token create alice --group editors",
        ),
    )
    actions = parser.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token for USER and print it (only its hash is stored)")
    create.add_argument("user", metavar="USER", help="user name the token authenticates as")
    create.add_argument("--group", action="append", default=[], metavar="G", help="group of the user (repeatable)")
    create.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"token file (default: ${DATA_DIR_ENV}/tokens.yaml or ~/.local/share/atoll/tokens.yaml)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    path: Path = (args.token_file or default_data_dir() / TOKEN_FILE_NAME).expanduser()
    problems = [f"user {bounded_repr(args.user)}: must not be empty"] if not args.user.strip() else []
    problems += [f"--group {bounded_repr(group)}: must not be empty" for group in args.group if not group.strip()]
    if problems:
        err.write(f"error: {problems[0]}\n")
        return EXIT_FAILED
    try:
        token = add_token(path, args.user, tuple(args.group))
    except TokenFileError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_FAILED
    except OSError as exc:
        err.write(f"error: cannot write token file: {exc.strerror}: {exc.filename}\n")
        return EXIT_FAILED
    out.write(f"{token}\n")
    err.write(f"token for user {bounded_repr(args.user)} recorded in {path} (only its hash); it is shown only now\n")
    return EXIT_OK

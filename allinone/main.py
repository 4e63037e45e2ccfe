"""The ``atoll`` console script: the verbs of atoll.cli.main plus ``up`` and ``store`` from this package.

``up`` imports every component, so it is offered from above them rather than from the
foundation (atoll never imports allinone). Its module is loaded only when ``up`` is the verb:
``atoll get`` and the other verbs never load the controller, the scheduler or the agent.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from atoll.cli.main import LazyVerb, Verb
from atoll.cli.main import main as cli_main


def _load_up() -> Verb:
    from allinone import up

    return up


def _load_store() -> Verb:
    from allinone import store_cli

    return store_cli


LAZY_VERBS = {
    "up": LazyVerb(help="start a local control plane (API server, controllers, scheduler, agents)", load=_load_up),
    "store": LazyVerb(help="snapshot, restore and migrate the cluster's store", load=_load_store),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``atoll`` console script; returns the exit code."""
    return cli_main(argv, lazy_verbs=LAZY_VERBS)


if __name__ == "__main__":
    sys.exit(main())

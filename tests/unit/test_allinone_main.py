"""The ``atoll`` console script (allinone.main): every verb of atoll.cli.main plus ``up``, whose
components are loaded only when ``up`` is the verb."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from allinone import up
from allinone.main import LAZY_VERBS, main
from atoll.cli.main import build_parser


def test_up_parses_its_own_flags() -> None:
    parser = build_parser(LAZY_VERBS, {"up": up})
    args = parser.parse_args(["up", "--dev", "--listen", "127.0.0.1:0", "--sim-nodes", "3"])
    assert (args.verb, args.dev, args.listen, args.sim_nodes) == ("up", True, "127.0.0.1:0", 3)


def test_the_help_lists_up_beside_the_other_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "start a local control plane" in out and "apply" in out


def test_other_verbs_never_load_the_components() -> None:
    probe = textwrap.dedent(
        """
        import sys
        from allinone.main import main
        main(["--server", "127.0.0.1:1", "get", "gizmos"])
        components = ("controller", "scheduler", "agent")
        loaded = sorted(m for m in sys.modules if m == "allinone.up" or m.split(".")[0] in components)
        print(loaded)
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_bad_up_flag_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["up", "--sim-nodes", "many"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--sim-nodes" in err

"""`atoll certs` and `atoll token` through the real argument parser."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from atoll.cli.main import build_parser
from atoll.tokens import hash_token, read_token_file


def run(*argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    code = args.run(args, out, err)
    return code, out.getvalue(), err.getvalue()


def test_certs_init_then_node_then_check(tmp_path: Path) -> None:
    code, out, _ = run("certs", "init", "--dir", str(tmp_path), "--san", "10.9.8.7", "--node", "n1")
    assert code == 0
    assert f"created {tmp_path / 'nodes' / 'n1.pem'}" in out
    code, out, _ = run("certs", "node", "n2", "--dir", str(tmp_path))
    assert (code, out.splitlines()[0]) == (
        0,
        f"issued {tmp_path / 'nodes' / 'n2.pem'} (user system:node:n2, group system:nodes)",
    )
    code, out, err = run("certs", "check", "--dir", str(tmp_path))
    assert code == 0 and err == ""
    assert f"{tmp_path / 'nodes' / 'n2.pem'}: user=system:node:n2 groups=system:nodes expires" in out


def test_certs_check_warns_about_soon_expiring_certificates(tmp_path: Path) -> None:
    run("certs", "init", "--dir", str(tmp_path))
    run("certs", "node", "n1", "--dir", str(tmp_path), "--days", "10")
    code, _, err = run("certs", "check", "--dir", str(tmp_path))
    assert code == 0
    assert err.splitlines() == [
        f"warning: certificate {tmp_path / 'nodes' / 'n1.pem'} expires in 10 days; renew it soon"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("certs", "node", "n1"), "no CA in"),
        (("certs", "check"), "no certificates in"),
        (("certs", "node", "Bad_Name"), "node name 'Bad_Name'"),
    ],
    ids=["a node certificate needs a CA", "check needs certificates", "a node name must be a DNS name"],
)
def test_certs_errors_are_one_line(tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    if argv[-1] == "Bad_Name":
        run("certs", "init", "--dir", str(tmp_path))
    code, _, err = run(*argv, "--dir", str(tmp_path))
    assert code == 1
    assert len(err.splitlines()) == 1 and message in err


def test_token_create_prints_the_token_once_and_stores_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    code, out, err = run("token", "create", "alice", "--group", "dev", "--group", "ops", "--token-file", str(path))
    token = out.strip()
    assert code == 0 and token.startswith("atoll_")
    assert token not in path.read_text() and token not in err
    entry = read_token_file(path)[0]
    assert (entry.sha256, entry.user, entry.groups) == (hash_token(token), "alice", ("dev", "ops"))


def test_token_create_refuses_an_empty_group(tmp_path: Path) -> None:
    code, out, err = run("token", "create", "alice", "--group", "", "--token-file", str(tmp_path / "t.yaml"))
    assert (code, out) == (1, "")
    assert err == "error: --group '': must not be empty\n"

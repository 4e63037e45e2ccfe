"""Certificates: subjects name users and groups, SANs, expiry warnings, and an idempotent PKI directory."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from atoll import certs, pki
from atoll.certs import Subject

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_issued_certificate_names_user_and_groups_and_chains_to_the_ca() -> None:
    ca = certs.create_ca(now=NOW)
    pair = certs.issue(ca, Subject("system:node:n1", ("system:nodes",)), now=NOW)
    assert certs.subject_of(pair.cert) == Subject("system:node:n1", ("system:nodes",))
    assert pair.cert.issuer == ca.cert.subject
    pair.cert.verify_directly_issued_by(ca.cert)


def test_server_certificate_carries_dns_and_ip_names() -> None:
    ca = certs.create_ca(now=NOW)
    dns_names, ips = certs.split_sans(["localhost", "10.0.0.5", "[::1]", ""])
    pair = certs.issue(ca, Subject("api"), now=NOW, dns_names=dns_names, ip_addresses=ips, server=True)
    assert certs.san_names(pair.cert) == {"localhost", "10.0.0.5", "::1"}
    assert ips == [ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("::1")]


@pytest.mark.parametrize(
    ("valid_days", "checked_after_days", "expected"),
    [
        (365, 0, None),
        (365, 340, "expires in 25 days"),
        (365, 370, "expired 5 days ago"),
    ],
    ids=[
        "a fresh certificate gives no warning",
        "a certificate expiring within 30 days is warned about",
        "an expired certificate says so",
    ],
)
def test_expiry_warning(tmp_path: Path, valid_days: int, checked_after_days: int, expected: str | None) -> None:
    ca = certs.create_ca(now=NOW)
    certs.write_pair(certs.issue(ca, Subject("u"), now=NOW, valid_days=valid_days), tmp_path / "u.pem", tmp_path / "k")
    warning = certs.expiry_warning(tmp_path / "u.pem", NOW + timedelta(days=checked_after_days))
    if expected is None:
        assert warning is None
    else:
        assert warning is not None and expected in warning


def test_key_files_are_private(tmp_path: Path) -> None:
    pair = certs.create_ca(now=NOW)
    certs.write_pair(pair, tmp_path / "ca.pem", tmp_path / "ca-key.pem")
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    assert certs.load_pair(tmp_path / "ca.pem", tmp_path / "ca-key.pem").cert == pair.cert


def test_unreadable_certificate_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(certs.CertificateError, match=r"bad\.pem is not a PEM certificate"):
        certs.load_cert(tmp_path / "bad.pem")


def test_ensure_pki_keeps_the_ca_and_reissues_the_server_certificate_for_a_new_name(tmp_path: Path) -> None:
    first = pki.ensure_pki(tmp_path, now=NOW)
    ca_before = (tmp_path / "ca.pem").read_bytes()
    names = {path.name for path in first.written}
    assert {"ca.pem", "apiserver.pem", "admin.pem", "scheduler.pem", "controller.pem"} <= names
    assert pki.ensure_pki(tmp_path, now=NOW).written == [], "a second run changes nothing"
    again = pki.ensure_pki(tmp_path, sans=["api.example.com"], nodes=["n1"], now=NOW)
    assert {path.name for path in again.written} == {"apiserver.pem", "apiserver-key.pem", "n1.pem", "n1-key.pem"}
    assert (tmp_path / "ca.pem").read_bytes() == ca_before
    assert "api.example.com" in certs.san_names(certs.load_cert(tmp_path / "apiserver.pem"))


def test_component_subjects_follow_the_naming_convention(tmp_path: Path) -> None:
    pki.ensure_pki(tmp_path, now=NOW)
    expected = {
        "admin": Subject("admin", ("system:masters",)),
        "scheduler": Subject("system:scheduler"),
        "controller": Subject("system:controller-manager"),
        "fleet": Subject("system:node-fleet", ("system:node-fleets",)),
        "node:n1": Subject("system:node:n1", ("system:nodes",)),
    }
    for component, subject in expected.items():
        config = pki.client_config(tmp_path, "127.0.0.1:1", component)
        assert config.cert is not None
        assert certs.subject_of(certs.load_cert(Path(config.cert))) == subject, component


@pytest.mark.parametrize(
    "component", ["node:", "node:Bad_Name", "kubelet"], ids=["an empty node name", "an invalid node name", "unknown"]
)
def test_bad_component_names_are_refused(tmp_path: Path, component: str) -> None:
    pki.ensure_pki(tmp_path, now=NOW)
    with pytest.raises(pki.PkiError):
        pki.client_config(tmp_path, "127.0.0.1:1", component)


@pytest.mark.parametrize(
    ("listen", "expected"),
    [("0.0.0.0:7443", "127.0.0.1:7443"), ("[::]:7443", "127.0.0.1:7443"), ("10.1.2.3:7443", "10.1.2.3:7443")],
    ids=["ipv4 wildcard dials loopback", "ipv6 wildcard dials loopback", "a specific address is kept"],
)
def test_client_address(listen: str, expected: str) -> None:
    assert pki.client_address(listen) == expected


def test_internal_client_config_in_dev_mode_is_plaintext(tmp_path: Path) -> None:
    config = pki.internal_client_config(tmp_path, "127.0.0.1:7443", "scheduler", dev=True)
    assert (config.ca, config.cert, config.key) == (None, None, None)
    assert not (tmp_path / "pki").exists()

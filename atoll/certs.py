"""X.509 for atoll with the ``cryptography`` library: a cluster CA and the certificates it signs.

A certificate's subject names who holds it: the common name (CN) is the user and each
organization (O) a group, as in Kubernetes (``CN=system:node:n1, O=system:nodes``). Keys are
ECDSA P-256: quick to generate, and every TLS stack gRPC uses accepts them.

Time is data: every function that looks at the clock takes ``now``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from atoll.atomic_file import write_atomic

DEFAULT_VALID_DAYS = 365
CA_VALID_DAYS = 3650
# The CLI warns about certificates that expire within this many days.
WARN_DAYS = 30
# Backdating absorbs small clock differences between machines.
_BACKDATE = timedelta(minutes=5)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class CertificateError(Exception):
    """A certificate or key file is missing or unreadable; the message names the file."""


@dataclass(frozen=True)
class Subject:
    """Who a certificate names: ``common_name`` is the user, ``organizations`` the groups."""

    common_name: str
    organizations: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_ca(common_name: str = "atoll-ca", *, now: datetime, valid_days: int = CA_VALID_DAYS) -> KeyPair:
    """A self-signed certificate authority valid from ``now`` for ``valid_days``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _base_builder(name, key.public_key(), now, valid_days)
        .issuer_name(name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return KeyPair(builder.sign(key, hashes.SHA256()), key)


def issue(
    ca: KeyPair,
    subject: Subject,
    *,
    now: datetime,
    valid_days: int = DEFAULT_VALID_DAYS,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[IpAddress] = (),
    server: bool = False,
    client: bool = True,
) -> KeyPair:
    """A certificate for ``subject`` signed by ``ca``, valid from ``now`` for ``valid_days``
    (negative: already expired, for tests). ``server`` adds serverAuth and the SANs; ``client``
    adds clientAuth."""
    key = ec.generate_private_key(ec.SECP256R1())
    # An empty common name is left out: such a certificate names no user (the server refuses it).
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name)] if subject.common_name else []
    attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in subject.organizations]
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
    usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    builder = (
        _base_builder(x509.Name(attributes), key.public_key(), now, valid_days)
        .issuer_name(ca.cert.subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(address) for address in ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return KeyPair(builder.sign(ca.key, hashes.SHA256()), key)


def _base_builder(
    name: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime, valid_days: int
) -> x509.CertificateBuilder:
    not_before = now - _BACKDATE
    not_after = now + timedelta(days=valid_days)
    if not_after <= not_before:
        not_before = not_after - timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def split_sans(values: Iterable[str]) -> tuple[list[str], list[IpAddress]]:
    """Subject alternative names as (DNS names, IP addresses); each value is one or the other."""
    dns_names: list[str] = []
    ips: list[IpAddress] = []
    for value in values:
        text = value.strip().strip("[]")
        if not text:
            continue
        try:
            ips.append(ipaddress.ip_address(text))
        except ValueError:
            dns_names.append(text)
    return dns_names, ips


def has_client_auth(cert: x509.Certificate) -> bool:
    """Whether ``cert`` may authenticate a client (extended key usage clientAuth)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage


def subject_of(cert: x509.Certificate) -> Subject:
    """The user (CN) and groups (O) a certificate names."""
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    groups = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return Subject(str(common[0].value) if common else "", tuple(str(attribute.value) for attribute in groups))


def san_names(cert: x509.Certificate) -> set[str]:
    """Every DNS name and IP address (as text) in a certificate's subject alternative names."""
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    names = {str(name) for name in extension.value.get_values_for_type(x509.DNSName)}
    names |= {str(address) for address in extension.value.get_values_for_type(x509.IPAddress)}
    return names


def days_left(cert: x509.Certificate, now: datetime) -> float:
    """Days until ``cert`` expires (negative once it has)."""
    return (cert.not_valid_after_utc - now).total_seconds() / 86400


def expiry_warning(path: Path, now: datetime, warn_days: int = WARN_DAYS) -> str | None:
    """One line when the certificate at ``path`` expired or expires within ``warn_days``, else None."""
    left = days_left(load_cert(path), now)
    if left < 0:
        return f"certificate {path} expired {-left:.0f} days ago; renew it (atoll certs init / atoll certs node)"
    if left < warn_days:
        return f"certificate {path} expires in {left:.0f} days; renew it soon"
    return None


def write_pair(pair: KeyPair, cert_path: Path, key_path: Path) -> None:
    """Writes the certificate and key, each atomically and private to this user (mode 0600)."""
    write_atomic(key_path, pair.key_pem())
    write_atomic(cert_path, pair.cert_pem())


def load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise CertificateError(f"cannot read certificate {path}: {exc.strerror}") from None
    except ValueError:
        raise CertificateError(f"{path} is not a PEM certificate") from None


def load_pair(cert_path: Path, key_path: Path) -> KeyPair:
    cert = load_cert(cert_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        raise CertificateError(f"cannot read key {key_path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise CertificateError(f"{key_path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{key_path}: expected an ECDSA key")
    return KeyPair(cert, key)

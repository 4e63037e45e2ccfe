"""SecurityConfig: what turns a plaintext API server into one with mTLS, authn, authz, audit and limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from atoll.pki import Pki, PkiReport, default_sans, ensure_pki, pki_dir
from atoll.tokens import TOKEN_FILE_NAME

DEFAULT_AUDIT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_AUDIT_BACKUPS = 3
DEFAULT_MAX_WATCHES_PER_USER = 200
DEFAULT_REQUEST_TIMEOUT = 60.0
AUDIT_LOG_NAME = "audit.log"


@dataclass(frozen=True)
class SecurityConfig:
    """Paths are PEM files. ``client_ca`` verifies client certificates; with ``require_client_cert``
    every connection is mutual TLS (gRPC Python cannot ask for an optional client certificate).
    ``token_file`` (``atoll.tokens`` format) is re-read when it changes; None: no tokens.
    ``audit_log`` None: no audit. ``request_timeout`` bounds every unary call (DEADLINE_EXCEEDED)."""

    server_cert: Path
    server_key: Path
    client_ca: Path
    require_client_cert: bool = True
    token_file: Path | None = None
    audit_log: Path | None = None
    audit_max_bytes: int = DEFAULT_AUDIT_MAX_BYTES
    audit_backups: int = DEFAULT_AUDIT_BACKUPS
    max_watches_per_user: int = DEFAULT_MAX_WATCHES_PER_USER
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    @classmethod
    def from_pki(
        cls, directory: Path, *, token_file: Path | None = None, audit_log: Path | None = None
    ) -> SecurityConfig:
        """The config for a PKI directory laid out by ``atoll.pki`` (``atoll certs init``)."""
        pki = Pki(directory)
        return cls(
            server_cert=pki.server_cert,
            server_key=pki.server_key,
            client_ca=pki.ca_cert,
            token_file=token_file,
            audit_log=audit_log,
        )


def secure_data_dir(data_dir: Path, sans: Sequence[str] = ()) -> tuple[SecurityConfig, PkiReport]:
    """What ``atoll up`` serves with outside ``--dev``: certificates in DATA_DIR/pki (created when
    missing; the server certificate names ``sans`` besides this host's names), tokens in
    DATA_DIR/tokens.yaml, the audit log in DATA_DIR/audit.log."""
    report = ensure_pki(pki_dir(data_dir), sans=[*default_sans(), *sans])
    config = SecurityConfig.from_pki(
        pki_dir(data_dir), token_file=data_dir / TOKEN_FILE_NAME, audit_log=data_dir / AUDIT_LOG_NAME
    )
    return config, report

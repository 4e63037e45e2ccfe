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
DEFAULT_MAX_SESSIONS_PER_USER = 32
DEFAULT_REQUEST_TIMEOUT = 60.0
AUDIT_LOG_NAME = "audit.log"
# Audit records of refused calls (see audit_budget.py): per caller, then for all callers together.
DEFAULT_AUDIT_REFUSED_BURST = 20
DEFAULT_AUDIT_REFUSED_PER_SECOND = 0.1
DEFAULT_AUDIT_REFUSED_TOTAL_BURST = 200
DEFAULT_AUDIT_REFUSED_TOTAL_PER_SECOND = 2.0
# Wrong tokens per peer before its tokens are refused unchecked, and how fast it earns tries back.
DEFAULT_FAILED_AUTH_BURST = 10
DEFAULT_FAILED_AUTH_PER_SECOND = 0.2


@dataclass(frozen=True)
class SecurityConfig:
    """Paths are PEM files. ``client_ca`` verifies client certificates; with ``require_client_cert``
    every connection is mutual TLS (gRPC Python cannot ask for an optional client certificate).
    ``token_file`` (``atoll.tokens`` format) is re-read when it changes; None: no tokens.
    ``audit_log`` None: no audit. ``request_timeout`` bounds every unary call (DEADLINE_EXCEEDED).
    ``audit_refused_*``: the budget of refused calls' audit records (audit_budget.py);
    ``failed_auth_*``: wrong tokens per peer (limits.FailedAuthLimiter).
    ``max_sessions_per_user``: exec/attach/console/port-forward sessions open at once per user."""

    server_cert: Path
    server_key: Path
    client_ca: Path
    require_client_cert: bool = True
    token_file: Path | None = None
    audit_log: Path | None = None
    audit_max_bytes: int = DEFAULT_AUDIT_MAX_BYTES
    audit_backups: int = DEFAULT_AUDIT_BACKUPS
    max_watches_per_user: int = DEFAULT_MAX_WATCHES_PER_USER
    max_sessions_per_user: int = DEFAULT_MAX_SESSIONS_PER_USER
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    audit_refused_burst: float = DEFAULT_AUDIT_REFUSED_BURST
    audit_refused_per_second: float = DEFAULT_AUDIT_REFUSED_PER_SECOND
    audit_refused_total_burst: float = DEFAULT_AUDIT_REFUSED_TOTAL_BURST
    audit_refused_total_per_second: float = DEFAULT_AUDIT_REFUSED_TOTAL_PER_SECOND
    failed_auth_burst: float = DEFAULT_FAILED_AUTH_BURST
    failed_auth_per_second: float = DEFAULT_FAILED_AUTH_PER_SECOND

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

"""TLS for the HTTP listener from the API server's SecurityConfig: the same server certificate and
client CA as gRPC. A client certificate is verified when presented but not required, so a browser
can log in with a bearer token; every call still needs a token or a certificate (auth/authn.py)."""

from __future__ import annotations

import ssl

from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.auth.setup import SecurityConfigError


def server_ssl_context(config: SecurityConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.server_cert, config.server_key)
        context.load_verify_locations(cafile=config.client_ca)
    except OSError as exc:
        raise SecurityConfigError(f"cannot read {exc.filename}: {exc.strerror}") from None
    context.verify_mode = ssl.CERT_OPTIONAL
    return context

"""Headless Chromium (Debian's chromium + chromium-driver) through Selenium, and a secure `atoll up`
whose HTTP listener the browser opens, for the web console tests and benchmark."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from atoll.tokens import add_token
from tests.support.system import require_binary
from tests.support.up_process import UpProcess, start_up

API = "/apis/atoll.dev/v1"
ROOT_TOKEN = "tok-console-root"
VIEWER_TOKEN = "tok-console-viewer"
T = TypeVar("T")
_CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ConsoleCluster:
    up: UpProcess
    url: str
    ca: Path

    def call(self, method: str, path: str, body: Any = None, token: str = ROOT_TOKEN) -> tuple[int, Any]:
        """(HTTP status, decoded JSON) of one API request."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        context = ssl.create_default_context(cafile=str(self.ca))
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@contextmanager
def console_cluster(data_dir: Path, *extra: str) -> Iterator[ConsoleCluster]:
    """A secure `atoll up` (mutual TLS gRPC, HTTPS console) with a root and a viewer token."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    add_token(data_dir / "tokens.yaml", "root", ("system:masters",), token=ROOT_TOKEN)
    add_token(data_dir / "tokens.yaml", "vera", (), token=VIEWER_TOKEN)
    up = start_up(data_dir, *up_arguments(port, extra), secure=True, timeout=60)
    cluster = ConsoleCluster(up, f"https://127.0.0.1:{port}", data_dir / "pki" / "ca.pem")
    try:
        binding = {
            "apiVersion": "atoll.dev/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "vera-views"},
            "spec": {"roleRef": "viewer", "subjects": [{"kind": "User", "name": "vera"}]},
        }
        until(lambda: cluster.call("POST", f"{API}/rolebindings", binding)[0] in (201, 409), "the viewer binding")
        yield cluster
    finally:
        cluster.up.kill()


def up_arguments(port: int, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """`atoll up` arguments for a console cluster whose HTTP listener is ``port``."""
    return ("--http-listen", f"127.0.0.1:{port}", *extra)


def until(
    check: Callable[[], T],
    what: str,
    timeout: float = 60.0,
    interval: float = 0.1,
    message: Callable[[], str] | None = None,
) -> T:
    """The first truthy result of ``check``; AssertionError naming ``what`` (and ``message()``,
    what the page shows) after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as error:  # a page mid-redraw, a server not up yet
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    shown = f"; {message()}" if message is not None else ""
    raise AssertionError(f"timed out waiting for {what} (last: {last!r}){shown}")


@contextmanager
def chromium(client_certificate: ClientCertificate | None = None) -> Iterator[Any]:
    """A headless Chromium WebDriver that accepts the test cluster's self-signed certificate; with
    ``client_certificate``, one that holds it and presents it to its origin without asking."""
    require_binary("chromium", "chromium")
    driver_path = require_binary("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = require_binary("chromium", "chromium")
    for argument in _CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    options.accept_insecure_certs = True
    with tempfile.TemporaryDirectory(prefix="atoll-chromium-home-") as home:
        environment = dict(os.environ)
        if client_certificate is not None:
            environment["HOME"] = home  # Chromium on Linux keeps client certificates in $HOME/.pki/nssdb
            client_certificate.install(Path(home))
            # What the AutoSelectCertificateForUrls policy sets; without it Chromium would ask (and
            # headless, wait forever).
            selection = json.dumps({"pattern": client_certificate.origin, "filter": {}})
            options.add_experimental_option("prefs", {"profile.managed_auto_select_certificate_for_urls": [selection]})
        driver = webdriver.Chrome(options=options, service=Service(driver_path, env=environment))
        try:
            yield driver
        finally:
            driver.quit()


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate (PEM files) for a browser to present to ``origin``."""

    cert: Path
    key: Path
    origin: str

    def install(self, home: Path) -> None:
        """Imports the pair into a fresh NSS database under ``home`` (libnss3-tools)."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import NoEncryption, load_pem_private_key, pkcs12

        certutil = require_binary("certutil", "libnss3-tools")
        pk12util = require_binary("pk12util", "libnss3-tools")
        key = load_pem_private_key(self.key.read_bytes(), None)
        assert isinstance(key, pkcs12.PKCS12PrivateKeyTypes)
        bundle = pkcs12.serialize_key_and_certificates(
            b"atoll", key, x509.load_pem_x509_certificate(self.cert.read_bytes()), None, NoEncryption()
        )
        database = home / ".pki" / "nssdb"
        database.mkdir(parents=True)
        (home / "client.p12").write_bytes(bundle)
        subprocess.run([certutil, "-N", "-d", f"sql:{database}", "--empty-password"], check=True, capture_output=True)
        subprocess.run(
            [pk12util, "-i", str(home / "client.p12"), "-d", f"sql:{database}", "-W", ""],
            check=True,
            capture_output=True,
        )

"""Headless Chromium (Debian's chromium + chromium-driver) through Selenium, and a secure `atoll up`
whose HTTP listener the browser opens, for the web console tests and benchmark."""

from __future__ import annotations

import json
import socket
import ssl
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
def chromium() -> Iterator[Any]:
    """A headless Chromium WebDriver that accepts the test cluster's self-signed certificate."""
    require_binary("chromium", "chromium")
    driver_path = require_binary("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = require_binary("chromium", "chromium")
    for argument in _CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    options.accept_insecure_certs = True
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()

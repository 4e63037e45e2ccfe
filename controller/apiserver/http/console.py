"""The web console: plain HTML, JS and CSS from package data (console/), no build step and no CDN.

Served without authentication (it holds no data; every API call it makes carries the user's
token), with headers that keep it from running anything but its own script: a Content Security
Policy of 'self' only (no inline script, no eval, no third-party origin), no framing, no MIME
sniffing, no referrer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from aiohttp import web

_FILES = {
    "/": ("index.html", "text/html"),
    "/console/app.js": ("app.js", "text/javascript"),
    "/console/charts.js": ("charts.js", "text/javascript"),
    "/console/style.css": ("style.css", "text/css"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def add_routes(app: web.Application) -> None:
    """GET / and the console's assets, read once from package data."""
    folder = resources.files(__package__).joinpath("console")
    for path, (name, content_type) in _FILES.items():
        body = folder.joinpath(name).read_bytes()
        app.router.add_get(path, _static(body, content_type))


def _static(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=SECURITY_HEADERS)

    return handle

"""Refuses writes a browser sends on behalf of another site (cross-site request forgery).

The console authenticates with a header, not a cookie, so a forged request carries no credentials
in secure mode; but a ``--dev`` server authenticates nobody, and a form on any page can POST to
127.0.0.1. Browsers name the page that caused a request (``Origin``, ``Sec-Fetch-Site``): a
request that changes something and comes from another origin is refused with 403 before anything
runs. Clients that are not browsers (curl, scripts) send neither header and are unaffected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from atoll.user_text import bounded_repr
from controller.apiserver.http.status import response, status_object

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORBIDDEN = (403, "Forbidden")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def same_origin_writes(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in SAFE_METHODS:
        problem = cross_site_problem(request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"), request.host)
        if problem:
            return response(status_object(_FORBIDDEN, f"cross-site request refused: {problem}"))
    return await handler(request)


def cross_site_problem(origin: str | None, fetch_site: str | None, host: str) -> str:
    """Why a write from ``origin`` (the Origin header) to ``host`` (the Host header) is another
    site's, or "" when it is not (or a non-browser client sent neither header)."""
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {bounded_repr(fetch_site)}"
    if origin is None:
        return ""
    if origin == "null" or urlsplit(origin).netloc != host:
        return f"Origin {bounded_repr(origin)} is not this server ({bounded_repr(host)})"
    return ""

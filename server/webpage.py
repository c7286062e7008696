"""The web page for people, served at `/`: drop documents, watch them being read, see the words
on the page.

Plain files from `server/web/`, sent as they are: no build step, and nothing from another
host, so the page works in an air-gapped network. The page itself holds no data and needs
no key; it speaks the public API like any client, with the key its user gives it.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from .downloads import send_file
from .errors import NotFound

routes = web.RouteTableDef()

FOLDER = Path(__file__).parent / "web"
# The files the page is made of, and their types; nothing else under the folder is served.
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "markdown.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
PATHS = frozenset({"/", *(f"/web/{name}" for name in ASSETS)})
# The browser enforces what the page promises: scripts, styles and requests to this service
# only; page pictures arrive as blobs, downloads leave as blobs.
_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_HEADERS = {
    "Content-Security-Policy": _POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The files change with the service's version; a reload must never mix two versions.
    "Cache-Control": "no-cache",
}


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    """The page."""
    return await send_file(
        request,
        FOLDER / "index.html",
        {**_HEADERS, "Content-Type": "text/html; charset=utf-8"},
    )


@routes.get("/web/{name}")
async def asset(request: web.Request) -> web.StreamResponse:
    """One of the page's scripts, styles or pictures."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise NotFound(f"There is no route {request.method} {request.path}.")
    return await send_file(request, FOLDER / name, {**_HEADERS, "Content-Type": ASSETS[name]})

"""The service's own OpenAPI document, served at /openapi.json."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

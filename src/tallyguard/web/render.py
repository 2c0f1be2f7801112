"""Rendering pages: the Jinja2 environment (autoescaped) and the CSRF token of every form."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tallyguard.web.security import CSRF_COOKIE, current, sign, web_config

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
#: htmx, installed by ``make`` from package-lock.json; pages work without it (plain forms).
HTMX = STATIC / "vendor" / "htmx.min.js"
#: htmx's settings: no eval, no inline styles or scripts (the CSP forbids them; settling
#: copies no style attribute either), no page
#: snapshots in localStorage (they would keep ballot forms and CSRF tokens), and error pages
#: (a 400 carries the form's messages) swapped in like any other page.
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "attributesToSettle": ["class"],
    "selfRequestsOnly": True,
    "historyCacheSize": 0,
    "refreshOnHistoryMiss": True,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "...", "swap": True},
    ],
}


def part(value: str) -> str:
    """One path segment, percent-encoded (audit and jurisdiction names in links)."""
    return quote(value, safe="")


def _htmx() -> dict[str, str] | None:
    """The script tag's source and Subresource-Integrity hash, or None without htmx."""
    if not HTMX.is_file():
        return None
    digest = base64.b64encode(hashlib.sha384(HTMX.read_bytes()).digest()).decode("ascii")
    return {
        "src": "/static/vendor/htmx.min.js",
        "integrity": f"sha384-{digest}",
        "config": json.dumps(HTMX_CONFIG, separators=(",", ":")),
    }


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["part"] = part
    env.filters["percent"] = lambda value: f"{100 * float(value):.2f}%"
    env.globals["htmx"] = _htmx()
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a template with the visitor, the CSRF token of its forms and an ``error`` slot.

    A signed-in visitor's forms carry the session's token; an anonymous
    visitor gets a random secret in the :data:`~tallyguard.web.security.CSRF_COOKIE`
    cookie (set here if missing) and its forms carry the secret's signature.
    """
    config = web_config(request)
    principal = current(request)
    new_cookie = None
    if principal is not None:
        csrf = principal.csrf
    else:
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        if len(cookie) < 32:
            cookie = new_cookie = secrets.token_urlsafe(32)
        csrf = sign(config, cookie)
    values: dict[str, Any] = {
        "error": None,
        "principal": principal,
        "csrf_token": csrf,
        "poll_seconds": config.poll_seconds,
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    if new_cookie is not None:
        response.set_cookie(
            CSRF_COOKIE,
            new_cookie,
            httponly=True,
            secure=config.secure_cookies,
            samesite="strict",
            path="/",
        )
    return response

"""Optional shared-token authentication for every HTTP and WebSocket request.

With ``AUTH_TOKEN`` set, a request must carry the token as ``Authorization: Bearer <token>``,
``X-Auth-Token: <token>``, the query parameter ``?token=<token>`` or the cookie that a
successful query-token request sets (so a browser opened on ``/?token=...`` can load the
page's scripts and open its WebSocket). Anything else gets 401. Comparison is constant-time.
Without a token nothing is checked; binding to a non-loopback address that way is warned about.

A header or cookie whose bytes are not valid UTF-8 is simply not the token (401, never 500).
The Host and Origin checks, which apply whatever the token setting, are in
:mod:`storj_monitor.web.host_check`.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)

COOKIE = "storj_monitor_token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_token(request: web.Request) -> tuple[str | None, bool]:
    """The token a request carries and whether it came in the query string."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip(), False
    if "X-Auth-Token" in request.headers:
        return request.headers["X-Auth-Token"].strip(), False
    if "token" in request.query:
        return request.query["token"], True
    cookie = request.cookies.get(COOKIE)
    return cookie, False


def token_matches(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    try:
        given_bytes = given.encode()
    except UnicodeEncodeError:  # undecodable bytes (surrogates) in a header or cookie
        return False
    return hmac.compare_digest(given_bytes, expected.encode())


def auth_middleware(token: str) -> Middleware:
    """An aiohttp middleware that requires ``token`` on every request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given, from_query = request_token(request)
        if not token_matches(given, token):
            return web.json_response(
                {"error": "unauthorized: a valid token is required"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="storj_monitor"'},
            )
        response = await handler(request)
        if from_query and not response.prepared:
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    return middleware


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, token: str) -> str | None:
    """The warning to print when the server is reachable from other machines without a token."""
    if token or is_loopback(host):
        return None
    return (
        f"WARNING: serving on {host or 'all interfaces'} without an auth token: anyone who can "
        "reach this port sees your node data and can acknowledge alerts. "
        "Set --auth-token (or STORJ_MONITOR_AUTH_TOKEN)."
    )

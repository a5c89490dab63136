"""Host and Origin checks on every request: the defence against DNS rebinding and against
pages of other sites talking to the monitor from the operator's browser.

**Host** (421 Misdirected Request otherwise). A page on ``http://evil.example:8765`` whose name
the attacker re-points at 127.0.0.1 is same-origin with the monitor for the browser, but its
requests still say ``Host: evil.example:8765``. So the host *name* in ``Host`` must be one of:

- ``localhost``, ``127.0.0.1``, ``::1`` (always);
- the address the server is bound to (``--host``), unless it is a wildcard (``0.0.0.0``, ``::``);
- the IP address the connection arrived on, written as an IP literal (so a server bound to
  0.0.0.0 answers ``http://192.168.1.10:8765/`` without configuration: no attacker can serve
  a page from that origin);
- a name in the ``allowed_hosts`` setting: exact (``monitor.example``), a leading dot for a
  domain and its subdomains (``.example.org``), or ``*`` to switch this check off.

The port in ``Host`` is not compared (a reverse proxy may listen on 443). A request without
``Host`` (HTTP/1.0 scripts) is allowed: browsers always send one.

**Origin** (403 otherwise). A request that carries ``Origin`` (browsers send it on WebSocket
handshakes, POSTs and cross-origin fetches) must come from the monitor's own page: the
Origin's host and port equal ``Host``'s (default port of the Origin's scheme when absent), or
the Origin's host name is one the operator listed in ``allowed_hosts`` (a reverse proxy that
rewrites ``Host``). ``*`` does not count for Origin: it never admits pages of other sites.
``X-Forwarded-Host`` is never trusted (any client can send it).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Always allowed as the host name of ``Host``.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("", "0.0.0.0", "::")
#: Distinct refused host names logged (once each), at most; later ones only at DEBUG.
MAX_LOGGED_REFUSALS = 32
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a ``Host`` value: lower case, IPv6 without brackets, one trailing
    dot removed; None when it is not a valid host[:port]."""
    value = value.strip().lower()
    port_text = ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    else:
        if value.count(":") > 1:
            return None  # a bare IPv6 address must be bracketed in Host
        name, sep, port_text = value.partition(":")
        if sep and not port_text:
            return None
    if name.endswith("."):
        name = name[:-1]
    if not name or any(c.isspace() or c in "/\\@?#%" for c in name) or not name.isascii():
        return None
    port: int | None = None
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
            return None
        port = int(port_text)
    return name, port


def _same_ip(name: str, local: str | None) -> bool:
    """True when ``name`` is an IP literal for the connection's local address ``local``."""
    if not local:
        return False
    try:
        a, b = ipaddress.ip_address(name), ipaddress.ip_address(local.split("%")[0])
    except ValueError:
        return False
    a = getattr(a, "ipv4_mapped", None) or a
    b = getattr(b, "ipv4_mapped", None) or b
    return a == b


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Which host names a request may name. Build it with :meth:`build`."""

    names: frozenset[str]  # always allowed (loopback, bound address, configured)
    configured: frozenset[str]  # from allowed_hosts: also admitted as Origin
    suffixes: tuple[str, ...]  # ".example.org" entries
    any_host: bool  # "*" in allowed_hosts

    @classmethod
    def build(cls, bind_host: str, allowed_hosts: Iterable[str] = ()) -> HostPolicy:
        names = set(LOOPBACK_NAMES)
        bound = bind_host.strip().lower().strip("[]")
        if bound not in WILDCARD_BINDS:
            names.add(bound)
        configured: set[str] = set()
        suffixes: list[str] = []
        any_host = False
        for raw in allowed_hosts:
            entry = raw.strip().lower().strip("[]").rstrip(".")
            if entry == "*":
                any_host = True
            elif entry.startswith("."):
                suffixes.append(entry)
            elif entry:
                configured.add(entry)
        return cls(frozenset(names | configured), frozenset(configured), tuple(suffixes), any_host)

    def _listed(self, name: str) -> bool:
        """Named by allowed_hosts (exact or domain suffix); ``*`` excluded."""
        return name in self.configured or any(
            name == s[1:] or name.endswith(s) for s in self.suffixes
        )

    def host_allowed(self, name: str, local_ip: str | None = None) -> bool:
        return self.any_host or name in self.names or self._listed(name) or _same_ip(name, local_ip)

    def origin_allowed(self, origin: str, host: tuple[str, int | None] | None) -> bool:
        """True when ``origin`` (an Origin header) is the monitor's own page (see module doc)."""
        try:
            parts = urlsplit(origin.strip())
            o_name = (parts.hostname or "").rstrip(".")
            o_port = parts.port
        except ValueError:
            return False
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not o_name:
            return False  # "null" (sandboxed pages, file://) and odd schemes
        default = _DEFAULT_PORTS[scheme]
        if host is not None:
            h_name, h_port = host
            if o_name == h_name and (o_port or default) == (h_port or default):
                return True
        return self._listed(o_name)


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def host_middleware(policy: HostPolicy) -> Middleware:
    """Refuse requests naming a host that is not allowed (421) or coming from a page of
    another origin (403), on every route including ``/ws`` and the static files."""
    refused: set[str] = set()

    def note(kind: str, value: str) -> None:
        key = f"{kind}:{value}"
        if key in refused or len(refused) >= MAX_LOGGED_REFUSALS:
            log.debug("refused request with %s %r", kind, value)
            return
        refused.add(key)
        log.warning(
            "refused a request with %s %r (not this monitor; if it is your reverse proxy's "
            "public name, add it to allowed_hosts)",
            kind,
            value,
        )

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        raw_host = request.headers.get(hdrs.HOST)
        host: tuple[str, int | None] | None = None
        if raw_host is not None:
            host = split_host(raw_host)
            transport = request.transport
            sockname = transport.get_extra_info("sockname") if transport is not None else None
            local_ip = sockname[0] if isinstance(sockname, tuple) and sockname else None
            if host is None or not policy.host_allowed(host[0], local_ip):
                note("Host", raw_host[:100])
                return _refuse(421, "misdirected request: this host name is not served here")
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and not policy.origin_allowed(origin, host):
            note("Origin", origin[:100])
            return _refuse(403, "forbidden: request from another origin")
        return await handler(request)

    return middleware

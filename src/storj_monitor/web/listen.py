"""Binding the web server's listening sockets, apart from serving on them.

The Monitor binds first (before any log is read) and serves later, so a port in use or an
address that is not this machine's stops the process with one clear line before it has read,
stored or committed anything. The sockets are created the way asyncio's ``create_server``
does (``SO_REUSEADDR`` on POSIX, ``IPV6_V6ONLY`` for IPv6, one socket per address the host
resolves to); with port 0 every address gets the port the first one was given.
"""

from __future__ import annotations

import errno
import os
import socket

BACKLOG = 128


class BindError(OSError):
    """The server cannot listen; ``str()`` is the one line to show (no ``[Errno N]``)."""

    def __str__(self) -> str:
        return str(self.strerror)


def _hint(exc: OSError) -> str:
    """What to change, by the kind of failure (the port, the address, or privileges)."""
    if exc.errno == errno.EADDRINUSE:
        return "the port is in use (is another storj_monitor running? choose another --port)"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges; choose another --port)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address (check --host; 127.0.0.1 or 0.0.0.0 work)"
    return f"{exc.strerror or exc} (check --host and --port)"


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Listening, non-blocking sockets for ``host``:``port`` (``""`` = every interface).

    Raises OSError whose text is one line naming the address and what to change.
    """
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise BindError(
            errno.EADDRNOTAVAIL,
            f"cannot serve on {shown}: cannot resolve --host {host!r} "
            f"({getattr(exc, 'strerror', None) or exc}); give an address of this machine",
        ) from None
    sockets: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, type_, proto, _name, addr in infos:
            if (family, addr) in seen:
                continue
            seen.add((family, addr))
            sock = socket.socket(family, type_, proto)
            sockets.append(sock)
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                addr = (addr[0], sockets[0].getsockname()[1], *addr[2:])
            try:
                sock.bind(addr)
            except OSError as exc:
                raise BindError(exc.errno, f"cannot serve on {shown}: {_hint(exc)}") from None
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise BindError(errno.EADDRNOTAVAIL, f"cannot serve on {shown}: no address to bind")
    return sockets

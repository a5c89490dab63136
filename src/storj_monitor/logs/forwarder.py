"""A tiny log forwarder for a storage node on another host (standard library only).

Run it next to the node; the monitor connects to it::

    python -m storj_monitor.logs.forwarder --listen 0.0.0.0:9000 --token SECRET /var/log/node.log
    # or, without installing storj_monitor on the node host: copy STANDALONE_FILES (logs/
    # rotation.py, open_file.py, tail.py, forwarder.py) side by side; python3 forwarder.py ...
    # on the monitor:  storj_monitor --node "Remote:nas.local:9000" --set forwarder_token=SECRET

The token (or ``STORJ_MONITOR_FORWARDER_TOKEN``) never travels: each side proves it knows it
with an HMAC of fresh nonces. ``--tls-cert/--tls-key`` encrypt the stream too (the monitor
checks ``forwarder_tls_ca`` or a pinned ``forwarder_tls_fingerprint``).

Protocol v2 (newline-terminated JSON headers; details in docs/log-pipeline.md):
monitor ``{"v":2,"cnonce":C}`` → forwarder ``{"v":2,"nonce":N}`` → monitor ``{"mac":
HMAC-SHA256(token, LABEL|monitor|N|C),"from_end","offsets":[...]}`` → forwarder ``{"ok":true,
"v":2,"path","mac":HMAC(token, LABEL|forwarder|N|C)}`` (or ``{"ok":false,"v":2,"error"}``, a
v1 hello included, then close), then frames ``{"fp","fpl","path","start","end","t","n"}`` +
``n`` bytes of complete lines, and ``{"ping":t}`` when idle.

Authentication runs on one selector thread, bounded (``max_pending`` peers, the oldest evicted
for a new one; ``hello_timeout``; ``max_hello_bytes``): an unauthenticated peer costs no thread.
Each authenticated monitor (up to ``max_monitors``) gets its own thread and stream. The
forwarder keeps no state: each monitor says where to resume (its stored offsets, or what it
received on this run), so no reconnect or restart loses or repeats a line.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import selectors
import socket
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

try:
    from storj_monitor.logs.tail import FileFollower
except ImportError:  # copied next to tail.py on a host without storj_monitor
    from tail import FileFollower  # type: ignore[no-redef, import-not-found]  # standalone copy

log = logging.getLogger("storj_monitor.forwarder")

PROTOCOL_VERSION = 2
PING_INTERVAL = 5.0  # seconds of silence before a ping frame
HELLO_TIMEOUT = 5.0  # seconds a client has to authenticate (TLS handshake included)
MAX_HELLO_BYTES = 256 << 10  # ~2,700 stored offsets; 16 pending peers hold at most 4 MiB
MAX_PENDING = 16  # unauthenticated connections; the oldest is evicted for a new one
MAX_MONITORS = 8  # authenticated monitors streaming at the same time
REFUSAL_LOG_INTERVAL = 10.0  # seconds between refusal log lines (a flood is one line)
_LABEL = b"storj_monitor forwarder v2"
#: Copy these (storj_monitor/logs/) to run the forwarder without storj_monitor: stdlib only.
STANDALONE_FILES = ("rotation.py", "open_file.py", "tail.py", "forwarder.py")


def auth_mac(token: str, role: str, nonce: str, cnonce: str) -> str:
    """HMAC-SHA256 (hex) proving knowledge of ``token`` for this connection's two nonces."""
    msg = b"|".join((_LABEL, role.encode(), nonce.encode(), cnonce.encode()))
    return hmac.new(token.encode(), msg, hashlib.sha256).hexdigest()


def server_tls_context(cert: str, key: str | None = None) -> ssl.SSLContext:
    """TLS 1.2+ server context from PEM files (``key`` may be inside ``cert``)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key or None)
    return ctx


def cert_fingerprint(cert_pem_path: str) -> str:
    """SHA-256 of the first certificate in a PEM file, ``AB:CD:...`` as openssl prints it."""
    with open(cert_pem_path, encoding="ascii", errors="replace") as f:
        text = f.read()
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    i = text.index(begin)
    der = ssl.PEM_cert_to_DER_cert(text[i : text.index(end, i) + len(end)])
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


class _RefusedError(Exception):
    """An unauthenticated peer is turned away; ``str()`` is sent to it and logged."""


@dataclass(slots=True, eq=False)
class _Pending:
    sock: socket.socket
    addr: object
    deadline: float  # time.monotonic()
    handshaken: bool
    buf: bytearray = field(default_factory=bytearray)
    cnonce: str = ""
    nonce: str = ""


@dataclass(frozen=True, slots=True)
class _Offset:
    fingerprint: str
    fingerprint_len: int
    offset: int


def _send_json(sock: socket.socket, obj: object, payload: bytes = b"") -> None:
    sock.sendall(json.dumps(obj, separators=(",", ":")).encode() + b"\n" + payload)


class Forwarder:
    """Serves one log file over TCP (or TLS) to each authenticated monitor, up to ``max_monitors``."""

    def __init__(
        self,
        path: str,
        token: str,
        host: str = "0.0.0.0",
        port: int = 9000,
        *,
        poll_interval: float = 0.05,
        block_bytes: int = 1 << 20,
        tls: ssl.SSLContext | None = None,
        hello_timeout: float = HELLO_TIMEOUT,
        max_hello_bytes: int = MAX_HELLO_BYTES,
        max_pending: int = MAX_PENDING,
        max_monitors: int = MAX_MONITORS,
    ):
        if not token:
            raise ValueError("a token is required (--token or STORJ_MONITOR_FORWARDER_TOKEN)")
        self.path = path
        self.token = token
        self.poll_interval = poll_interval
        self.block_bytes = block_bytes
        self.tls = tls
        self.hello_timeout = hello_timeout
        self.max_hello_bytes = max_hello_bytes
        self.max_pending = max_pending
        self.max_monitors = max_monitors
        self._sock = socket.create_server((host, port), reuse_port=False)
        self.port: int = self._sock.getsockname()[1]
        self._pending: dict[socket.socket, _Pending] = {}
        self.monitors = 0  # authenticated connections streaming now
        self.refused = 0  # unauthenticated connections turned away (evicted, late, bad hello)
        self._refused_logged = 0
        self._last_refusal_log = float("-inf")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def pending(self) -> int:
        """Unauthenticated connections held now (at most ``max_pending``)."""
        return len(self._pending)

    def serve_forever(self) -> None:
        """Accept and authenticate on this thread (a selector); stream on one thread per monitor."""
        log.info("forwarding %s on port %d%s", self.path, self.port, " (TLS)" if self.tls else "")
        self._sock.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ, None)
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                wait = min([0.5] + [p.deadline - now for p in self._pending.values()])
                for key, _ in sel.select(max(wait, 0.0)):
                    if key.data is None:
                        self._accept(sel)
                    else:
                        self._advance(sel, key.data)
                now = time.monotonic()
                for p in [p for p in self._pending.values() if p.deadline <= now]:
                    self._drop(sel, p, f"no hello within {self.hello_timeout:g} s")
        finally:
            for p in list(self._pending.values()):
                self._drop(sel, p, None)
            sel.close()

    def start(self) -> threading.Thread:
        """Serve in a background thread (tests, embedding)."""
        t = threading.Thread(target=self.serve_forever, name="forwarder", daemon=True)
        t.start()
        self._threads.append(t)
        return t

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for t in list(self._threads):
            t.join(5)

    # --- unauthenticated connections (selector thread) --------------------------------
    def _accept(self, sel: selectors.BaseSelector) -> None:
        try:
            conn, addr = self._sock.accept()
        except OSError:  # nothing to accept after all, or the socket was closed by stop()
            return
        if len(self._pending) >= self.max_pending:  # idle peers cannot lock a monitor out
            oldest = min(self._pending.values(), key=lambda p: p.deadline)
            self._drop(sel, oldest, f"evicted: more than {self.max_pending} unauthenticated")
        conn.setblocking(False)
        sock = conn
        if self.tls is not None:
            sock = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        p = _Pending(sock, addr, time.monotonic() + self.hello_timeout, self.tls is None)
        self._pending[sock] = p
        sel.register(sock, selectors.EVENT_READ, p)

    def _drop(self, sel: selectors.BaseSelector, p: _Pending, why: str | None) -> None:
        self._pending.pop(p.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(p.sock)
        p.sock.close()
        if why is not None:
            self._refuse_log(p.addr, why)

    def _refuse_log(self, addr: object, why: str) -> None:
        """One warning per REFUSAL_LOG_INTERVAL, with how many were refused in between."""
        self.refused += 1
        now = time.monotonic()
        if now - self._last_refusal_log >= REFUSAL_LOG_INTERVAL:
            more = self.refused - self._refused_logged - 1
            log.warning("refused %s: %s%s", addr, why, f" (+{more} more refused)" if more else "")
            self._last_refusal_log, self._refused_logged = now, self.refused

    def _advance(self, sel: selectors.BaseSelector, p: _Pending) -> None:
        try:
            if not p.handshaken and isinstance(p.sock, ssl.SSLSocket):  # only TLS starts so
                try:
                    p.sock.do_handshake()
                except ssl.SSLWantReadError:
                    return
                except ssl.SSLWantWriteError:
                    sel.modify(p.sock, selectors.EVENT_WRITE, p)
                    return
                p.handshaken = True
                sel.modify(p.sock, selectors.EVENT_READ, p)
            while True:
                try:
                    data = p.sock.recv(65536)
                except (BlockingIOError, ssl.SSLWantReadError):
                    break
                if not data:
                    raise ConnectionError("closed before authenticating")
                p.buf += data
                if len(p.buf) > self.max_hello_bytes:
                    raise _RefusedError(f"hello too large (more than {self.max_hello_bytes} bytes)")
            while b"\n" in p.buf:
                line, _, rest = bytes(p.buf).partition(b"\n")
                p.buf = bytearray(rest)
                if self._on_line(sel, p, line):
                    return
        except _RefusedError as exc:
            with contextlib.suppress(OSError):
                _send_json(p.sock, {"ok": False, "v": PROTOCOL_VERSION, "error": str(exc)})
            self._drop(sel, p, str(exc))
        except (OSError, ValueError) as exc:  # TLS failure, reset, not JSON
            self._drop(sel, p, f"bad hello ({exc})")

    def _on_line(self, sel: selectors.BaseSelector, p: _Pending, line: bytes) -> bool:
        """Steps 1 and 3 of the protocol; True once the connection is handed to a thread."""
        msg = json.loads(line)
        if not isinstance(msg, dict):
            raise _RefusedError("bad hello")
        if not p.nonce:
            if msg.get("v") != PROTOCOL_VERSION:
                raise _RefusedError(
                    f"protocol v{msg.get('v')} is not supported: this forwarder speaks v"
                    f"{PROTOCOL_VERSION} (the token is no longer sent); upgrade storj_monitor"
                )
            cnonce = msg.get("cnonce")
            if not isinstance(cnonce, str) or not 16 <= len(cnonce) <= 128:
                raise _RefusedError("bad hello (cnonce)")
            p.cnonce, p.nonce = cnonce, secrets.token_hex(32)
            _send_json(p.sock, {"v": PROTOCOL_VERSION, "nonce": p.nonce})
            return False
        mac = msg.get("mac")
        expected = auth_mac(self.token, "monitor", p.nonce, p.cnonce)
        if not isinstance(mac, str) or not hmac.compare_digest(mac.encode(), expected.encode()):
            raise _RefusedError("bad token")
        try:
            offsets = [
                _Offset(str(o["fingerprint"]), int(o["fingerprint_len"]), int(o["offset"]))
                for o in msg.get("offsets", [])
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise _RefusedError(f"bad hello (offsets: {exc})") from None
        with self._lock:
            if self.monitors >= self.max_monitors:
                raise _RefusedError(f"too many monitors (at most {self.max_monitors})")
            self.monitors += 1
        self._pending.pop(p.sock, None)
        sel.unregister(p.sock)
        p.sock.setblocking(True)
        proof = auth_mac(self.token, "forwarder", p.nonce, p.cnonce)
        t = threading.Thread(
            target=self._client,
            args=(p.sock, p.addr, offsets, bool(msg.get("from_end")), proof),
            name="forwarder-client",
            daemon=True,
        )
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()
        return True

    # --- authenticated monitors (one thread each) ---------------------------------------
    def _client(
        self,
        conn: socket.socket,
        addr: object,
        offsets: Sequence[_Offset],
        from_end: bool,
        proof: str,
    ) -> None:
        with conn:
            log.info("monitor %s connected", addr)
            try:
                conn.settimeout(60)
                _send_json(
                    conn, {"ok": True, "v": PROTOCOL_VERSION, "path": self.path, "mac": proof}
                )
                self._stream(conn, offsets, from_end)
            except OSError as exc:
                log.info("monitor %s disconnected: %s", addr, exc)
            finally:
                with self._lock:
                    self.monitors -= 1

    def _stream(self, conn: socket.socket, offsets: Sequence[_Offset], from_end: bool) -> None:
        follower = FileFollower(
            self.path,
            known_offsets=lambda: offsets,
            block_bytes=self.block_bytes,
            max_bytes_per_poll=self.block_bytes,
            from_end=from_end,
        )
        last_sent = time.time()
        try:
            while not self._stop.is_set():
                chunks = follower.poll()
                for c in chunks:
                    payload = ("\n".join(c.lines) + "\n").encode("utf-8")
                    header = {
                        "fp": c.identity.fingerprint,
                        "fpl": c.identity.fingerprint_len,
                        "path": c.identity.path,
                        "start": c.start,
                        "end": c.end,
                        "t": c.arrival,
                        "n": len(payload),
                    }
                    _send_json(conn, header, payload)
                now = time.time()
                if chunks:
                    last_sent = now
                    continue
                if now - last_sent >= PING_INTERVAL:
                    _send_json(conn, {"ping": now})
                    last_sent = now
                self._stop.wait(self.poll_interval)
        finally:
            follower.close()


def _parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="storj_monitor forward",
        description="Stream a storagenode log to a storj_monitor on another host.",
    )
    p.add_argument("log_path", help="the storagenode log file to forward")
    p.add_argument("--listen", default="0.0.0.0:9000", help="HOST:PORT to listen on")
    p.add_argument("--token", default=os.environ.get("STORJ_MONITOR_FORWARDER_TOKEN", ""),
                   help="shared secret (default: $STORJ_MONITOR_FORWARDER_TOKEN)")  # fmt: skip
    p.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate (chain)")
    p.add_argument("--tls-key", metavar="PEM", help="its private key (if not in --tls-cert)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(levelname)s] %(message)s")
    if args.tls_key and not args.tls_cert:
        print("storj_monitor forward: error: --tls-key needs --tls-cert", file=sys.stderr)
        return 2
    try:
        host, port = _parse_listen(args.listen)
        tls = server_tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
        fwd = Forwarder(args.log_path, args.token, host, port, tls=tls)
        if args.tls_cert:
            log.info("TLS certificate SHA-256 fingerprint %s", cert_fingerprint(args.tls_cert))
    except (ValueError, OSError) as exc:  # ssl.SSLError is an OSError
        print(f"storj_monitor forward: error: {exc}", file=sys.stderr)
        return 2
    try:
        fwd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fwd.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

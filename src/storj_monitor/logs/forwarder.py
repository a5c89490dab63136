"""A tiny log forwarder for a storage node on another host (standard library only).

Run it next to the node; the monitor connects to it::

    python -m storj_monitor.logs.forwarder --listen 0.0.0.0:9000 --token SECRET /var/log/node.log
    # or, without installing storj_monitor on the node host: copy logs/tail.py and
    # logs/forwarder.py side by side and run  python3 forwarder.py ...
    # on the monitor:  storj_monitor --node "Remote:nas.local:9000" --set forwarder_token=SECRET

The token may also come from ``STORJ_MONITOR_FORWARDER_TOKEN``. It is a shared secret sent
in clear over TCP: use it on a trusted network or through a tunnel.

Protocol (one TCP connection, newline-terminated JSON headers):

1. monitor → forwarder: ``{"v": 1, "token": T, "from_end": bool, "offsets": [{"fingerprint",
   "fingerprint_len", "offset"}, ...]}`` — every offset the monitor holds for this node.
2. forwarder → monitor: ``{"ok": true, "path": P}`` or ``{"ok": false, "error": why}`` (then
   the connection closes).
3. forwarder → monitor, repeatedly: ``{"fp", "fpl", "path", "start", "end", "t", "n"}`` followed
   by exactly ``n`` bytes of complete lines (``\\n``-terminated); ``t`` is the forwarder's clock
   when it read them live (null for backlog). ``{"ping": t}`` with no payload when idle.

The forwarder keeps no state of its own: the monitor says where to resume (the offsets it
stored, in the same transaction as the events, or what it has already received on this run),
so neither a reconnect nor a restart of either side loses or repeats a line. One monitor at a
time: a new authenticated connection replaces the previous one.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

try:
    from storj_monitor.logs.tail import FileFollower
except ImportError:  # copied next to tail.py on a host without storj_monitor
    from tail import FileFollower  # type: ignore[no-redef]

log = logging.getLogger("storj_monitor.forwarder")

PROTOCOL_VERSION = 1
PING_INTERVAL = 5.0  # seconds of silence before a ping frame
HELLO_TIMEOUT = 10.0  # seconds a client has to authenticate
MAX_HELLO_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class _Offset:
    fingerprint: str
    fingerprint_len: int
    offset: int


def _send_json(sock: socket.socket, obj: object, payload: bytes = b"") -> None:
    sock.sendall(json.dumps(obj, separators=(",", ":")).encode() + b"\n" + payload)


def _read_line(sock: socket.socket, limit: int) -> bytes:
    buf = bytearray()
    while not buf.endswith(b"\n"):
        part = sock.recv(65536)
        if not part:
            raise ConnectionError("peer closed before the end of the line")
        buf += part
        if len(buf) > limit:
            raise ValueError("header too long")
    return bytes(buf)


class Forwarder:
    """Serves one log file to one monitor at a time over TCP."""

    def __init__(
        self,
        path: str,
        token: str,
        host: str = "0.0.0.0",
        port: int = 9000,
        *,
        poll_interval: float = 0.05,
        block_bytes: int = 1 << 20,
    ):
        if not token:
            raise ValueError("a token is required (--token or STORJ_MONITOR_FORWARDER_TOKEN)")
        self.path = path
        self.token = token
        self.poll_interval = poll_interval
        self.block_bytes = block_bytes
        self._sock = socket.create_server((host, port), reuse_port=False)
        self.port: int = self._sock.getsockname()[1]
        self._generation = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def serve_forever(self) -> None:
        self._sock.settimeout(0.5)
        log.info("forwarding %s on port %d", self.path, self.port)
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            t = threading.Thread(
                target=self._client, args=(conn, addr), name="forwarder-client", daemon=True
            )
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

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

    def _client(self, conn: socket.socket, addr: object) -> None:
        with conn:
            try:
                conn.settimeout(HELLO_TIMEOUT)
                hello = json.loads(_read_line(conn, MAX_HELLO_BYTES))
                if not isinstance(hello, dict) or not hmac.compare_digest(
                    str(hello.get("token", "")).encode(), self.token.encode()
                ):
                    log.warning("refused %s: bad token", addr)
                    _send_json(conn, {"ok": False, "error": "bad token"})
                    return
                offsets = [
                    _Offset(str(o["fingerprint"]), int(o["fingerprint_len"]), int(o["offset"]))
                    for o in hello.get("offsets", [])
                ]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("refused %s: bad hello (%s)", addr, exc)
                return
            with self._lock:
                self._generation += 1
                generation = self._generation
            log.info("monitor %s connected", addr)
            _send_json(conn, {"ok": True, "path": self.path, "v": PROTOCOL_VERSION})
            try:
                self._stream(conn, offsets, bool(hello.get("from_end")), generation)
            except OSError as exc:
                log.info("monitor %s disconnected: %s", addr, exc)

    def _stream(
        self, conn: socket.socket, offsets: Sequence[_Offset], from_end: bool, generation: int
    ) -> None:
        conn.settimeout(60)
        follower = FileFollower(
            self.path,
            known_offsets=lambda: offsets,
            block_bytes=self.block_bytes,
            max_bytes_per_poll=self.block_bytes,
            from_end=from_end,
        )
        last_sent = time.time()
        try:
            while not self._stop.is_set() and generation == self._generation:
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
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(levelname)s] %(message)s")
    try:
        host, port = _parse_listen(args.listen)
        fwd = Forwarder(args.log_path, args.token, host, port)
    except (ValueError, OSError) as exc:
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

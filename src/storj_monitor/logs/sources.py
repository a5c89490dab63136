"""Log sources of one node: a local file (``tail.FileFollower``) or a remote forwarder.

Both give the ingest pipeline the same thing: ``poll() -> list[Chunk]`` that never waits,
chunks of complete lines tagged with the file identity and byte offsets to store. Both are
driven from a worker thread, never from the event loop.

The remote source connects to ``host:port`` of a ``logs.forwarder`` (over TLS when a CA file
or a pinned certificate fingerprint is configured), proves it knows the shared token with an
HMAC of the forwarder's nonce (the token never travels), checks the forwarder's proof in turn,
and tells the forwarder every offset it knows (stored in the database, or
received on this run) so the forwarder resumes exactly there. A reader thread receives
frames into a bounded queue (a slow monitor slows the forwarder through TCP, it never
buffers without limit) and reconnects with exponential backoff and jitter.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from storj_monitor.logs.forwarder import PROTOCOL_VERSION, auth_mac
from storj_monitor.logs.open_file import Chunk, FileIdentity, OffsetLike, split_lines
from storj_monitor.logs.tail import FileFollower
from storj_monitor.logs.threaded_source import ThreadedSource
from storj_monitor.model import NodeSpec

log = logging.getLogger(__name__)

BACKOFF_MIN = 0.5  # seconds before the first reconnect attempt
BACKOFF_MAX = 30.0
MAX_FRAME_BYTES = 64 << 20
CLOSE_TIMEOUT = 2.0  # seconds close() waits for the reader thread (a daemon) to end


class LogSource(Protocol):
    """What the ingest pipeline needs of a source."""

    caught_up: bool

    def poll(self) -> list[Chunk]: ...
    def reposition(self, fingerprint: str, offset: int) -> bool: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Known:
    fingerprint: str
    fingerprint_len: int
    offset: int


@dataclass(frozen=True, slots=True)
class ForwarderTls:
    """How the monitor checks a forwarder's certificate: a CA file, pinned SHA-256s, or both."""

    ca_file: str = ""
    fingerprints: tuple[str, ...] = ()  # lower-case hex, no colons

    def context(self) -> ssl.SSLContext:
        if self.ca_file:  # chain and host name checked against the CA
            ctx = ssl.create_default_context(cafile=self.ca_file)
        else:  # the pin is the check (a self-signed certificate names no CA)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def check_pin(self, der: bytes | None) -> None:
        if not self.fingerprints:
            return
        got = hashlib.sha256(der or b"").hexdigest()
        if not any(hmac.compare_digest(got, fp) for fp in self.fingerprints):
            pretty = ":".join(got[i : i + 2] for i in range(0, 64, 2)).upper()
            raise ValueError(f"TLS certificate {pretty} matches no forwarder_tls_fingerprint")


def forwarder_tls(ca_file: str, pins: Sequence[str], node_name: str) -> ForwarderTls | None:
    """TLS settings of one node: ``pins`` are ``FP`` (any node) or ``NAME=FP`` (that node)."""
    mine = []
    for pin in pins:
        name, _, fp = pin.rpartition("=")
        if not name or name == node_name:
            mine.append(fp.replace(":", "").lower())
    if not ca_file and not mine:
        return None
    return ForwarderTls(ca_file, tuple(mine))


def parse_host_port(source: str) -> tuple[str, int]:
    """``nas.local:9000`` / ``[2001:db8::1]:9000`` → (host, port)."""
    host, _, port = source.rpartition(":")
    return host.strip("[]"), int(port)


class RemoteFollower(ThreadedSource):
    """Receives a node's log from a forwarder; same ``poll()`` contract as FileFollower."""

    def __init__(
        self,
        address: str,
        token: str,
        *,
        known_offsets: Callable[[], Sequence[OffsetLike]] = tuple,
        from_end: bool = False,
        connect_timeout: float = 10.0,
        idle_timeout: float = 30.0,
        max_queued_chunks: int = 64,
        tls: ForwarderTls | None = None,
    ):
        super().__init__(f"log-remote-{address}", max_queued_chunks=max_queued_chunks)
        self.address = address
        self.host, self.port = parse_host_port(address)
        self.token = token
        self.tls = tls
        self._tls_context: ssl.SSLContext | None = None
        self._known_offsets = known_offsets
        self._from_end = from_end
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self._delivered: dict[str, _Known] = {}  # fingerprint → what this run received
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.connected = False
        self.last_error: str | None = None
        self.reconnects = 0

    # --- LogSource (poll() from ThreadedSource) ----------------------------------------
    def reposition(self, fingerprint: str, offset: int) -> bool:
        with self._lock:
            known = self._delivered.get(fingerprint)
            if known is None:
                return False
            self._delivered[fingerprint] = _Known(fingerprint, known.fingerprint_len, offset)
        self._drop_connection()  # the forwarder resumes from the corrected offset
        return True

    def close(self) -> None:
        self._stop.set()
        self._drop_connection()
        self._close_thread(CLOSE_TIMEOUT)

    # --- reader thread ---------------------------------------------------------------
    def _drop_connection(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):  # the TCP socket under TLS too, from any thread
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _offsets_for_hello(self) -> list[dict[str, object]]:
        merged: dict[str, _Known] = {}
        try:
            for row in self._known_offsets():
                merged[row.fingerprint] = _Known(row.fingerprint, row.fingerprint_len, row.offset)
        except Exception as exc:  # a read error must not stop reconnecting
            log.warning("%s: cannot read stored offsets: %s", self.address, exc)
        with self._lock:
            merged.update(self._delivered)
        return [
            {"fingerprint": k.fingerprint, "fingerprint_len": k.fingerprint_len, "offset": k.offset}
            for k in merged.values()
        ]

    def _run(self) -> None:
        delay = BACKOFF_MIN
        first = True
        while not self._stop.is_set():
            try:
                self._session(from_end=self._from_end and first)
                delay = BACKOFF_MIN
            except (OSError, ValueError) as exc:
                stopping = self._stop.is_set()  # close() ended the session: nothing to report
                if not stopping and (self.connected or self.last_error != str(exc)):
                    log.warning("log forwarder %s: %s; reconnecting", self.address, exc)
                self.last_error = str(exc)
            finally:
                if self.connected:
                    self.reconnects += 1
                    delay = BACKOFF_MIN  # a session that worked: retry soon, not backed off
                self.connected = False
                self._drop_connection()  # now, not when the makefile() reader is collected
                self._sock = None
            first = False
            if self._stop.wait(delay * random.uniform(0.8, 1.2)):
                return
            delay = min(delay * 2, BACKOFF_MAX)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        if self.tls is None:
            return sock
        try:
            if self._tls_context is None:  # built here: a missing CA file is a logged retry
                self._tls_context = self.tls.context()
            tls_sock = self._tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        try:
            self.tls.check_pin(tls_sock.getpeercert(binary_form=True))
        except BaseException:
            tls_sock.close()
            raise
        return tls_sock

    @staticmethod
    def _reply(reader: Any) -> dict[str, Any]:
        reply = json.loads(reader.readline(MAX_FRAME_BYTES) or b"null")
        if not isinstance(reply, dict):
            raise ConnectionError("forwarder closed the connection during authentication")
        if "error" in reply or reply.get("ok") is False:
            why = reply.get("error")
            if "v" not in reply:  # a forwarder of protocol v1 answers the v2 hello "bad token"
                why = f"{why} (an older forwarder, protocol v1? upgrade it)"
            raise ValueError(f"forwarder refused the connection: {why}")
        return reply

    def _session(self, *, from_end: bool) -> None:
        sock = self._connect()
        self._sock = sock
        with sock:
            if self._stop.is_set():
                return
            cnonce = secrets.token_hex(32)
            sock.sendall(json.dumps({"v": PROTOCOL_VERSION, "cnonce": cnonce}).encode() + b"\n")
            sock.settimeout(self.idle_timeout)
            reader = sock.makefile("rb", buffering=1 << 20)
            try:
                nonce = self._reply(reader).get("nonce")
            except (OSError, json.JSONDecodeError) as exc:
                if self.tls is not None:
                    raise
                hint = "a forwarder with TLS? set forwarder_tls_ca or forwarder_tls_fingerprint"
                raise ConnectionError(f"{exc} ({hint})") from None
            if not isinstance(nonce, str):
                raise ValueError("forwarder sent no challenge (not a storj_monitor forwarder?)")
            hello = {
                "mac": auth_mac(self.token, "monitor", nonce, cnonce),
                "from_end": from_end,
                "offsets": self._offsets_for_hello(),
            }
            sock.sendall(json.dumps(hello).encode() + b"\n")
            reply = self._reply(reader)
            proof = auth_mac(self.token, "forwarder", nonce, cnonce)
            if not hmac.compare_digest(str(reply.get("mac", "")).encode(), proof.encode()):
                raise ValueError("forwarder did not prove it knows the token; not following it")
            self.connected = True
            self.last_error = None
            log.info(
                "log forwarder %s connected (%s, %s)",
                self.address,
                reply.get("path"),
                "TLS" if self.tls else "plain TCP: log lines unencrypted",
            )
            while not self._stop.is_set():
                line = reader.readline(MAX_FRAME_BYTES)
                if not line:
                    raise ConnectionError("forwarder closed the connection")
                header = json.loads(line)
                if "ping" in header:
                    self.caught_up = True
                    continue
                n = int(header["n"])
                payload = reader.read(n)
                if len(payload) != n:
                    raise ConnectionError("forwarder closed the connection mid-frame")
                self._deliver(header, payload)

    def _deliver(self, header: dict[str, Any], payload: bytes) -> None:
        """``header`` is the frame's decoded JSON (``json.loads``: values untyped)."""
        fp, fpl = str(header["fp"]), int(header["fpl"])
        end = int(header["end"])
        lines, _ = split_lines(payload)
        arrival = header.get("t")
        if arrival is not None:
            self.caught_up = True
        chunk = Chunk(
            lines,
            FileIdentity(f"{self.address}:{header.get('path')}", fp, fpl),
            int(header["start"]),
            end,
            float(arrival) if arrival is not None else None,
        )
        self._put(chunk)
        with self._lock:
            self._delivered[fp] = _Known(fp, fpl, end)


def open_source(
    node: NodeSpec,
    *,
    token: str,
    known_offsets: Callable[[], Sequence[OffsetLike]],
    block_bytes: int,
    from_end: bool,
    clock: Callable[[], float] = time.time,
    tls: ForwarderTls | None = None,
) -> LogSource:
    """The source for ``node``: a forwarder client for ``host:port``, ``docker logs`` for
    ``docker:CONTAINER``, standard input for ``-``, else a file follower."""
    from storj_monitor.logs.stream_sources import (
        DOCKER_PREFIX,
        STDIN_SOURCE,
        DockerFollower,
        StdinFollower,
    )

    if node.log_source.startswith(DOCKER_PREFIX):
        container = node.log_source[len(DOCKER_PREFIX):]
        return DockerFollower(container, known_offsets=known_offsets, from_end=from_end, clock=clock)
    if node.log_source == STDIN_SOURCE:
        return StdinFollower(known_offsets=known_offsets, clock=clock)
    if node.is_remote:
        return RemoteFollower(
            node.log_source, token, known_offsets=known_offsets, from_end=from_end, tls=tls
        )
    return FileFollower(
        node.log_source,
        known_offsets=known_offsets,
        block_bytes=block_bytes,
        max_bytes_per_poll=max(block_bytes, 4 << 20),
        from_end=from_end,
        clock=clock,
    )

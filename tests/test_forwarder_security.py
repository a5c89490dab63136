"""The forwarder's connection layer: challenge-response, bounds on unauthenticated peers, TLS,
several monitors. Real sockets on 127.0.0.1; certificates generated here."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from storj_monitor.logs import forwarder as fwd_mod
from storj_monitor.logs import sources
from storj_monitor.logs.forwarder import (
    MAX_HELLO_BYTES,
    MAX_PENDING,
    Forwarder,
    auth_mac,
    cert_fingerprint,
    server_tls_context,
)
from storj_monitor.logs.open_file import Chunk
from storj_monitor.logs.sources import ForwarderTls, RemoteFollower, forwarder_tls
from storj_monitor.settings import SettingsError, defaults

TOKEN = "tok-7f3a9c-do-not-leak"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "BACKOFF_MIN", 0.02)
    monkeypatch.setattr(sources, "BACKOFF_MAX", 0.1)


def wait_for(cond: Callable[[], object], what: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def collect(follower: RemoteFollower, want: list[str], limit: float = 20.0) -> list[Chunk]:
    chunks: list[Chunk] = []
    deadline = time.monotonic() + limit
    while [ln for c in chunks for ln in c.lines] != want:
        got = [ln for c in chunks for ln in c.lines]
        assert len(got) <= len(want), f"more lines than expected: {got}"
        assert time.monotonic() < deadline, f"timed out; got {got}, error {follower.last_error}"
        chunks += follower.poll()
        time.sleep(0.01)
    return chunks


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    log = tmp_path / "node.log"
    log.write_text("a1\na2\n")
    return log


@pytest.fixture
def make_forwarder(log_file: Path) -> Iterator[Callable[..., Forwarder]]:
    started: list[Forwarder] = []

    def make(**kw: object) -> Forwarder:
        f = Forwarder(str(log_file), TOKEN, "127.0.0.1", 0, poll_interval=0.01, **kw)  # type: ignore[arg-type]
        f.start()
        started.append(f)
        return f

    yield make
    for f in started:
        f.stop()


def follower(port: int, token: str = TOKEN, **kw: object) -> RemoteFollower:
    """A started follower (its first poll starts the reader thread)."""
    f = RemoteFollower(f"127.0.0.1:{port}", token, **kw)  # type: ignore[arg-type]
    assert f.poll() == []
    return f


def roundtrip(sock: socket.socket, obj: object) -> dict[str, object]:
    sock.sendall(json.dumps(obj).encode() + b"\n")
    line = sock.makefile("rb").readline()
    reply = json.loads(line)
    assert isinstance(reply, dict)
    return reply


def read_to_eof(sock: socket.socket) -> bytes:
    out = b""
    while part := sock.recv(65536):
        out += part
    return out


# --- item 8: the token never travels ---------------------------------------------------------
def test_the_monitor_never_sends_the_token() -> None:
    """A fake forwarder records every byte the monitor sends: an HMAC, never the token."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(20)
    captured: list[bytes] = []
    nonce = "ab" * 32

    def fake_forwarder() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(20)
            reader = conn.makefile("rb")
            first = reader.readline()
            conn.sendall(json.dumps({"v": 2, "nonce": nonce}).encode() + b"\n")
            second = reader.readline()
            conn.sendall(b'{"ok": false, "v": 2, "error": "test over"}\n')
            captured.extend([first, second])

    t = threading.Thread(target=fake_forwarder)
    t.start()
    f = follower(server.getsockname()[1])
    try:
        t.join(20)
        wait_for(lambda: f.last_error, "the follower to see the refusal")
    finally:
        f.close()
        server.close()
    wire = b"".join(captured)
    assert TOKEN.encode() not in wire and b"token" not in wire
    hello, auth = (json.loads(x) for x in captured)
    assert hello["v"] == 2 and len(hello["cnonce"]) == 64
    assert auth["mac"] == auth_mac(TOKEN, "monitor", nonce, hello["cnonce"])
    assert "test over" in str(f.last_error)


def test_wrong_token_is_refused(make_forwarder: Callable[..., Forwarder]) -> None:
    fwd = make_forwarder()
    with socket.create_connection(("127.0.0.1", fwd.port), timeout=20) as s:
        challenge = roundtrip(s, {"v": 2, "cnonce": "cd" * 32})
        nonce = str(challenge["nonce"])
        assert len(nonce) == 64
        reply = roundtrip(s, {"mac": auth_mac("wrong", "monitor", nonce, "cd" * 32)})
        assert reply == {"ok": False, "v": 2, "error": "bad token"}
        assert read_to_eof(s) == b""
    f = follower(fwd.port, token="wrong")
    try:
        wait_for(lambda: f.last_error, "the refusal")
        assert "bad token" in str(f.last_error) and not f.connected and f.poll() == []
    finally:
        f.close()


def test_a_replayed_mac_is_refused(make_forwarder: Callable[..., Forwarder]) -> None:
    """Each connection gets a fresh nonce: a recorded answer is worthless."""
    fwd = make_forwarder()
    cn = "ef" * 32
    with socket.create_connection(("127.0.0.1", fwd.port), timeout=20) as s:
        first = str(roundtrip(s, {"v": 2, "cnonce": cn})["nonce"])
    with socket.create_connection(("127.0.0.1", fwd.port), timeout=20) as s:
        second = str(roundtrip(s, {"v": 2, "cnonce": cn})["nonce"])
        assert second != first
        reply = roundtrip(s, {"mac": auth_mac(TOKEN, "monitor", first, cn)})
    assert reply["error"] == "bad token"


def test_an_old_monitor_gets_a_clear_error(make_forwarder: Callable[..., Forwarder]) -> None:
    fwd = make_forwarder()
    with socket.create_connection(("127.0.0.1", fwd.port), timeout=20) as s:
        reply = roundtrip(s, {"v": 1, "token": TOKEN, "from_end": False, "offsets": []})
    assert reply["ok"] is False and "protocol v1 is not supported" in str(reply["error"])
    assert "upgrade storj_monitor" in str(reply["error"])


def test_an_impostor_forwarder_is_not_followed() -> None:
    """A server that accepts any answer but cannot prove it knows the token gets no trust."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(20)

    def impostor() -> None:
        conn, _ = server.accept()
        with conn:
            reader = conn.makefile("rb")
            reader.readline()
            conn.sendall(b'{"v": 2, "nonce": "' + b"00" * 32 + b'"}\n')
            reader.readline()
            conn.sendall(b'{"ok": true, "v": 2, "path": "x", "mac": "' + b"0" * 64 + b'"}\n')
            conn.sendall(b'{"fp": "f", "fpl": 3, "path": "x", "start": 0, "end": 4, "t": null, "n": 4}\nevil')
            with contextlib.suppress(OSError):
                reader.read()  # until the monitor hangs up (or resets)

    t = threading.Thread(target=impostor)
    t.start()
    f = follower(server.getsockname()[1])
    try:
        wait_for(lambda: f.last_error, "the monitor to reject the impostor")
        assert "did not prove it knows the token" in str(f.last_error)
        assert f.poll() == [] and not f.connected
    finally:
        f.close()
        t.join(20)
        server.close()


# --- item 4: unauthenticated connections are bounded ----------------------------------------
def test_idle_connections_cost_no_thread_and_do_not_lock_out_a_monitor(
    make_forwarder: Callable[..., Forwarder], log_file: Path
) -> None:
    fwd = make_forwarder()
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", fwd.port), timeout=20) for _ in range(300)]
    try:
        wait_for(lambda: fwd.refused >= 300 - MAX_PENDING, "the forwarder to accept all 300")
        assert fwd.pending <= MAX_PENDING
        assert threading.active_count() == before  # no thread per unauthenticated peer
        f = follower(fwd.port)  # a real monitor still gets in (the oldest idle one is evicted)
        try:
            got = collect(f, ["a1", "a2"])
            assert got[-1].end == 6
            assert threading.active_count() == before + 2  # its reader + its forwarder stream
        finally:
            f.close()
    finally:
        for s in idle:
            s.close()


def test_half_sent_hello_is_closed_at_the_deadline(
    make_forwarder: Callable[..., Forwarder],
) -> None:
    fwd = make_forwarder(hello_timeout=0.2)
    with (
        socket.create_connection(("127.0.0.1", fwd.port), timeout=20) as half,
        socket.create_connection(("127.0.0.1", fwd.port), timeout=20) as silent,
    ):
        half.sendall(b'{"v": 2, "cnon')
        assert read_to_eof(half) == b""  # closed by the forwarder, not by our 20 s timeout
        assert read_to_eof(silent) == b""
    wait_for(lambda: fwd.refused == 2 and fwd.pending == 0, "both to be counted")
    assert fwd_mod.HELLO_TIMEOUT <= 10


def test_oversize_hello_is_refused(make_forwarder: Callable[..., Forwarder]) -> None:
    fwd = make_forwarder()
    assert MAX_HELLO_BYTES <= 1 << 20
    with socket.create_connection(("127.0.0.1", fwd.port), timeout=20) as s:
        s.sendall(b"x" * (MAX_HELLO_BYTES + 1))  # no newline: a hello that never ends
        reply = json.loads(read_to_eof(s))
    assert reply["ok"] is False
    assert reply["error"] == f"hello too large (more than {MAX_HELLO_BYTES} bytes)"
    assert fwd.pending == 0


# --- item 8: several monitors -----------------------------------------------------------------
def test_two_monitors_follow_one_forwarder(
    make_forwarder: Callable[..., Forwarder], log_file: Path
) -> None:
    fwd = make_forwarder()
    a, b = follower(fwd.port), follower(fwd.port)
    try:
        got_a, got_b = collect(a, ["a1", "a2"]), collect(b, ["a1", "a2"])
        with open(log_file, "a") as fh:
            fh.write("a3\na4\na5\n")
        got_a += collect(a, ["a3", "a4", "a5"])
        got_b += collect(b, ["a3", "a4", "a5"])
        for chunks in (got_a, got_b):
            assert [ln for c in chunks for ln in c.lines] == ["a1", "a2", "a3", "a4", "a5"]
            assert chunks[-1].end == 15
        assert a.connected and b.connected and a.reconnects == b.reconnects == 0
        assert fwd.monitors == 2
        time.sleep(0.2)  # nothing more arrives: every line exactly once
        assert a.poll() == [] and b.poll() == []
    finally:
        a.close()
        b.close()


def test_monitors_beyond_the_limit_are_refused(make_forwarder: Callable[..., Forwarder]) -> None:
    fwd = make_forwarder(max_monitors=1)
    a = follower(fwd.port)
    collect(a, ["a1", "a2"])
    b = follower(fwd.port)
    try:
        wait_for(lambda: b.last_error, "the second monitor's refusal")
        assert "too many monitors (at most 1)" in str(b.last_error)
        assert a.connected and a.reconnects == 0
    finally:
        a.close()
        b.close()


# --- item 8: TLS --------------------------------------------------------------------------------
def make_cert(directory: Path, name: str) -> tuple[str, str, str]:
    """A self-signed certificate for 127.0.0.1 (its own CA): cert path, key path, sha256 hex."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path), cert.fingerprint(hashes.SHA256()).hex()


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, tuple[str, str, str]]:
    return {n: make_cert(tmp_path, n) for n in ("forwarder", "other")}


@pytest.fixture
def tls_forwarder(
    make_forwarder: Callable[..., Forwarder], certs: dict[str, tuple[str, str, str]]
) -> Forwarder:
    cert, key, _ = certs["forwarder"]
    return make_forwarder(tls=server_tls_context(cert, key))


def test_tls_with_the_ca_file(tls_forwarder: Forwarder, certs: dict[str, tuple[str, str, str]]) -> None:
    f = follower(tls_forwarder.port, tls=ForwarderTls(ca_file=certs["forwarder"][0]))
    try:
        assert collect(f, ["a1", "a2"])[-1].end == 6
    finally:
        f.close()


def test_tls_with_a_pinned_fingerprint(
    tls_forwarder: Forwarder, certs: dict[str, tuple[str, str, str]]
) -> None:
    pin = certs["forwarder"][2]
    colons = ":".join(pin[i : i + 2] for i in range(0, 64, 2)).upper()
    assert cert_fingerprint(certs["forwarder"][0]) == colons  # what `forward` logs at start
    tls = forwarder_tls("", [colons], "Remote")
    assert tls == ForwarderTls("", (pin,))
    f = follower(tls_forwarder.port, tls=tls)
    try:
        assert collect(f, ["a1", "a2"])[-1].end == 6
    finally:
        f.close()


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("wrong pin", "matches no forwarder_tls_fingerprint"),
        ("other CA", "CERTIFICATE_VERIFY_FAILED"),
        ("plain TCP", "a forwarder with TLS? set forwarder_tls_ca or forwarder_tls_fingerprint"),
    ],
)
def test_tls_refusals(
    tls_forwarder: Forwarder, certs: dict[str, tuple[str, str, str]], how: str, error: str
) -> None:
    tls = {
        "wrong pin": ForwarderTls(fingerprints=(certs["other"][2],)),
        "other CA": ForwarderTls(ca_file=certs["other"][0]),
        "plain TCP": None,
    }[how]
    f = follower(tls_forwarder.port, tls=tls)
    try:
        wait_for(lambda: f.last_error, f"the {how} refusal")
        assert error in str(f.last_error)
        time.sleep(0.1)
        assert f.poll() == [] and not f.connected
    finally:
        f.close()


def test_pins_per_node_and_settings_validation() -> None:
    a, b = "aa" * 32, "bb" * 32
    assert forwarder_tls("", [], "n") is None
    assert forwarder_tls("", [f"NAS={a}", b], "NAS") == ForwarderTls("", (a, b))
    assert forwarder_tls("", [f"NAS={a}"], "Other") is None
    assert forwarder_tls("/ca.pem", [f"NAS={a}"], "Other") == ForwarderTls("/ca.pem", ())
    ok = defaults().replace(forwarder_tls_fingerprint=f"NAS={a.upper()},{b}")
    assert ok.forwarder_tls_fingerprint == [f"NAS={a.upper()}", b]
    with pytest.raises(SettingsError, match="forwarder_tls_fingerprint"):
        defaults().replace(forwarder_tls_fingerprint="abc")


def test_forward_command_rejects_bad_tls_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "node.log"
    log.write_text("x\n")
    argv = [str(log), "--listen", "127.0.0.1:0", "--token", TOKEN]
    assert fwd_mod.main([*argv, "--tls-cert", str(tmp_path / "missing.pem")]) == 2
    assert "storj_monitor forward: error:" in capsys.readouterr().err
    assert fwd_mod.main([*argv, "--tls-key", str(tmp_path / "k.pem")]) == 2
    assert "--tls-key needs --tls-cert" in capsys.readouterr().err

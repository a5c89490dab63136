"""The forwarder and its client on 127.0.0.1: auth, streaming, resume across reconnects."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storj_monitor.logs import sources
from storj_monitor.logs.forwarder import Forwarder
from storj_monitor.logs.open_file import Chunk
from storj_monitor.logs.sources import RemoteFollower, open_source, parse_host_port
from storj_monitor.logs.tail import FileFollower
from storj_monitor.model import NodeSpec

TOKEN = "s3cret"


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    fingerprint_len: int
    offset: int


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "BACKOFF_MIN", 0.02)
    monkeypatch.setattr(sources, "BACKOFF_MAX", 0.1)


@pytest.fixture
def forwarder(tmp_path: Path) -> Iterator[Forwarder]:
    log = tmp_path / "node.log"
    log.write_text("a1\na2\n")
    fwd = Forwarder(str(log), TOKEN, "127.0.0.1", 0, poll_interval=0.01)
    fwd.start()
    yield fwd
    fwd.stop()


def collect(
    follower: RemoteFollower, until: Callable[[list[str]], bool], limit: float = 20.0
) -> list[Chunk]:
    chunks: list[Chunk] = []
    deadline = time.monotonic() + limit
    while not until([line for c in chunks for line in c.lines]):
        assert time.monotonic() < deadline, f"timed out; got {chunks}, error {follower.last_error}"
        chunks += follower.poll()
        time.sleep(0.01)
    return chunks


def lines(chunks: list[Chunk]) -> list[str]:
    return [line for c in chunks for line in c.lines]


def test_parse_host_port() -> None:
    assert parse_host_port("nas.local:9000") == ("nas.local", 9000)
    assert parse_host_port("[2001:db8::1]:9000") == ("2001:db8::1", 9000)


def test_streams_backlog_then_live_lines(forwarder: Forwarder, tmp_path: Path) -> None:
    follower = RemoteFollower(f"127.0.0.1:{forwarder.port}", TOKEN)
    try:
        got = collect(follower, lambda ls: ls == ["a1", "a2"])
        assert got[0].arrival is None and got[-1].end == 6
        with open(tmp_path / "node.log", "a") as f:
            f.write("a3\n")
        live = collect(follower, lambda ls: ls == ["a3"])
        assert live[0].arrival is not None and live[0].start == 6
        assert live[0].identity.fingerprint == got[0].identity.fingerprint
        assert follower.connected
    finally:
        follower.close()


def test_bad_token_is_refused_and_retried_without_data(forwarder: Forwarder) -> None:
    follower = RemoteFollower(f"127.0.0.1:{forwarder.port}", "wrong")
    try:
        deadline = time.monotonic() + 20
        while follower.last_error is None:
            assert time.monotonic() < deadline
            assert follower.poll() == []
            time.sleep(0.01)
        assert "bad token" in follower.last_error
        assert not follower.connected
    finally:
        follower.close()


def test_resumes_from_stored_offsets(forwarder: Forwarder, tmp_path: Path) -> None:
    first = FileFollower(str(tmp_path / "node.log")).poll()
    ident = first[0].identity
    stored = [Stored(ident.fingerprint, ident.fingerprint_len, 3)]  # "a1\n" already stored
    follower = RemoteFollower(f"127.0.0.1:{forwarder.port}", TOKEN, known_offsets=lambda: stored)
    try:
        got = collect(follower, lambda ls: ls == ["a2"])
        assert got[0].start == 3
    finally:
        follower.close()


def test_reconnect_after_forwarder_restart_loses_and_repeats_nothing(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("l1\nl2\n")
    fwd = Forwarder(str(log), TOKEN, "127.0.0.1", 0, poll_interval=0.01)
    port = fwd.port
    fwd.start()
    follower = RemoteFollower(f"127.0.0.1:{port}", TOKEN)
    try:
        got = collect(follower, lambda ls: ls == ["l1", "l2"])
        fwd.stop()
        with open(log, "a") as f:
            f.write("l3\nl4\n")  # written while the forwarder is down
        fwd = Forwarder(str(log), TOKEN, "127.0.0.1", port, poll_interval=0.01)
        fwd.start()
        got += collect(follower, lambda ls: ls == ["l3", "l4"])
        assert lines(got) == ["l1", "l2", "l3", "l4"]
        assert follower.reconnects >= 1
    finally:
        follower.close()
        fwd.stop()


def test_open_source_picks_by_node_spec(tmp_path: Path) -> None:
    local = open_source(
        NodeSpec("n", str(tmp_path / "x.log")),
        token="",
        known_offsets=tuple,
        block_bytes=4096,
        from_end=False,
    )
    assert isinstance(local, FileFollower)
    local.close()
    remote = open_source(
        NodeSpec("n", "127.0.0.1:1", is_remote=True),
        token=TOKEN,
        known_offsets=tuple,
        block_bytes=4096,
        from_end=False,
    )
    assert isinstance(remote, RemoteFollower)
    remote.close()


def test_forwarder_requires_a_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="token"):
        Forwarder(str(tmp_path / "x.log"), "", "127.0.0.1", 0)


def test_backoff_starts_over_after_a_session_that_worked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A link that drops after working reconnects after BACKOFF_MIN, not after the backed-off
    delay of earlier failed attempts (on a flaky link reconnects drifted to 30 s apart)."""
    monkeypatch.setattr(sources.random, "uniform", lambda a, b: 1.0)
    follower = sources.RemoteFollower("127.0.0.1:9", "t")
    calls = iter(["fail"] * 4 + ["worked", "fail", "fail"])
    waits: list[float] = []

    def session(*, from_end: bool) -> None:
        if next(calls) == "worked":
            follower.connected = True
        raise OSError("connection reset")

    def wait(delay: float) -> bool:
        waits.append(delay)
        return len(waits) >= 7

    monkeypatch.setattr(follower, "_session", session)
    monkeypatch.setattr(follower._stop, "wait", wait)
    follower._run()
    m, top = sources.BACKOFF_MIN, sources.BACKOFF_MAX
    assert waits == [min(d, top) for d in (m, 2 * m, 4 * m, 8 * m, m, 2 * m, 4 * m)]
    assert waits[3] > waits[4]  # the delay really was backed off before the working session

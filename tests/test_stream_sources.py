"""docker:CONTAINER and stdin sources, with exact counts (a fake `docker` on PATH)."""

from __future__ import annotations

import io
import itertools
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loglines import T0, transfers
from storj_monitor.logs.stream_sources import (
    DockerFollower,
    StdinFollower,
    docker_stamp_ns,
    stream_identity,
)
from storj_monitor.model import NodeSpec
from storj_monitor.nodespec import parse_node_spec
from storj_monitor.services.bus import Bus
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.store.database import Store
from test_ingest import fast_settings, stored_events, until

FAKES = Path(__file__).parent / "fakes"


def docker_lines(lines: list[str], first: int = 0) -> str:
    """Each line prefixed with a distinct docker receive stamp (ns), 3 ms apart."""
    out = []
    for i, line in enumerate(lines, start=first):
        t = T0 + i * 0.003
        whole = datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%S")
        out.append(f"{whole}.{round((t % 1) * 1e9):09d}Z {line}\n")
    return "".join(out)


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "container.log"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    monkeypatch.setenv("FAKE_DOCKER_CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("FAKE_DOCKER_CONTAINER", "storagenode")
    return log


def test_docker_stamp_and_node_spec() -> None:
    assert docker_stamp_ns("2025-11-28T10:30:15.000000042Z 2025-11-28T10:30:15Z\tINFO") == (
        1_764_325_815 * 10**9 + 42
    )
    assert docker_stamp_ns("2025-11-28T10:30:15Z x") == 1_764_325_815 * 10**9
    assert docker_stamp_ns("2025-11-28T10:30:15Z\tINFO\tno prefix") is None
    assert docker_stamp_ns("garbage") is None
    spec = parse_node_spec("N:docker:storagenode")
    assert (spec.log_source, spec.is_remote) == ("docker:storagenode", False)
    assert parse_node_spec("N:docker:123").is_remote is False
    assert parse_node_spec("N:-").log_source == "-"
    assert stream_identity("docker:a") == stream_identity("docker:a") != stream_identity("-")


async def test_docker_source_stores_every_line_once_across_restarts(
    tmp_path: Path, fake_docker: Path
) -> None:
    lines = transfers(0, 100)  # 200 lines, 100 events
    fake_docker.write_text(docker_lines(lines))
    settings = fast_settings(tmp_path / "d.db")
    node = NodeSpec("n1", "docker:storagenode")
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), node, clock=lambda: T0)
        await ingest.start()
        await until(lambda: stored_events(store) == 100, "the container's history")
        await ingest.stop()
        # While the monitor is down the container writes 50 more transfers.
        more = transfers(100, 50)
        with open(fake_docker, "a") as f:
            f.write(docker_lines(more, first=len(lines)))
        ingest = NodeIngest(settings, store, Bus(), node, clock=lambda: T0)
        await ingest.start()
        await until(lambda: stored_events(store) == 150, "the lines written while down")
        # And live lines after that.
        with open(fake_docker, "a") as f:
            f.write(docker_lines(transfers(150, 10), first=len(lines) + len(more)))
        await until(lambda: stored_events(store) == 160, "live lines")
        await ingest.stop()
        ids = store.read_sync(lambda c: c.execute("SELECT COUNT(DISTINCT piece_id), COUNT(*), "
                                                 "COUNT(duration_ms) FROM events").fetchone())  # fmt: skip
    assert ids == (160, 160, 160)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "logs -f -t storagenode"
    assert any("--since" in c for c in calls[1:])  # the restart resumed from the stored stamp


def test_missing_container_is_retried_and_logged_once(
    fake_docker: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import time

    follower = DockerFollower("no-such-node")
    follower.poll()
    deadline = time.monotonic() + 10
    while "No such container" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    follower.close()
    assert caplog.text.count("No such container: no-such-node") == 1
    assert follower.poll() == []


def test_stdin_lines_in_order_with_offsets() -> None:
    raw = "".join(line + "\n" for line in transfers(0, 3)).encode()
    follower = StdinFollower(stream=io.BytesIO(raw), clock=lambda: T0)
    import time

    chunks = []
    deadline = time.monotonic() + 10
    while not follower.caught_up and time.monotonic() < deadline:
        chunks += follower.poll()
        time.sleep(0.01)
    chunks += follower.poll()
    follower.close()
    assert [line for c in chunks for line in c.lines] == [line + "\n" for line in transfers(0, 3)]
    assert chunks[-1].end == len(raw)
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert follower.reposition(chunks[0].identity.fingerprint, 0) is False

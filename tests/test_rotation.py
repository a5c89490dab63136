"""The rotation set (logs/rotation.py) and the follower across several rotations: every line
read exactly once, in order, whatever happened while it was stopped or between two polls."""

from __future__ import annotations

import gzip
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rotator import RotatedLog
from storj_monitor.logs import rotation
from storj_monitor.logs.forwarder import STANDALONE_FILES
from storj_monitor.logs.open_file import Chunk
from storj_monitor.logs.rotation import fingerprint_of
from storj_monitor.logs.tail import FileFollower


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    fingerprint_len: int
    offset: int


class Committed:
    """What a monitor stores: per identity, the end of the last chunk it consumed."""

    def __init__(self) -> None:
        self.rows: dict[str, Stored] = {}
        self.lines: list[str] = []

    def take(self, chunks: list[Chunk]) -> None:
        for c in chunks:
            ident = c.identity
            prev = self.rows.get(ident.fingerprint)
            assert prev is None or prev.offset == c.start, "a gap or an overlap in one file"
            self.rows[ident.fingerprint] = Stored(ident.fingerprint, ident.fingerprint_len, c.end)
            self.lines += c.lines

    def follower(self, path: Path, **kw: object) -> FileFollower:
        return FileFollower(str(path), known_offsets=lambda: list(self.rows.values()), **kw)  # type: ignore[arg-type]

    def drain(self, f: FileFollower) -> None:
        for _ in range(10_000):
            chunks = f.poll()
            self.take(chunks)
            if not chunks and f.caught_up:
                return
        raise AssertionError("the follower never caught up")


# --- the rotation set ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("node.log", None),
        ("node.log.1", ("n", (-1,))),
        ("node.log.12.gz", ("n", (-12,))),
        ("node.log-20261201", ("d", (20261201,))),
        ("node.log-20261201.gz", ("d", (20261201,))),
        ("node.log-20261201-1764547200", ("d", (20261201, 1764547200))),
        ("node.log.2026-12-01", ("d", (20261201,))),
        ("node.log.2026-12-01T10-00", ("d", (20261201, 10, 0))),
        ("node.log.20261201", ("d", (20261201,))),
        ("node.log.bak", None),
        ("node.log.1.xz", None),
        ("node.log2", None),
        ("other.log.1", None),
    ],
)
def test_rank_of_sibling_names(name: str, expected: object) -> None:
    assert rotation.rank("node.log", name) == expected


def _write(path: Path, text: str, *, gz: bool = False, mtime: float | None = None) -> None:
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(text.encode())
    else:
        path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_scan_orders_oldest_first_and_reads_gz_heads(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    _write(tmp_path / "node.log.3.gz", "c3\n", gz=True)
    _write(tmp_path / "node.log.10.gz", "c10\nmore\n", gz=True)
    _write(tmp_path / "node.log.2", "c2\n")
    _write(tmp_path / "node.log.1", "c1\n")
    _write(tmp_path / "node.log.bak", "bak\n")
    _write(tmp_path / "node.log.4", "")  # empty: nothing to identify or read
    _write(log, "cur\n")
    members = rotation.scan(str(log))
    assert [Path(m.path).name for m in members] == [
        "node.log.10.gz", "node.log.3.gz", "node.log.2", "node.log.1", "node.log",
    ]  # fmt: skip
    first = members[0]
    assert first.compressed and first.size == len("c10\nmore\n")
    assert first.fingerprint == fingerprint_of(b"c10\n")[0]  # type: ignore[index]
    assert [m.current for m in members] == [False, False, False, False, True]


def test_scan_orders_dates_and_mixed_schemes_by_time(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    _write(tmp_path / "node.log-20261203", "d3\n", mtime=3000)
    _write(tmp_path / "node.log-20261201.gz", "d1\n", gz=True, mtime=1000)
    _write(tmp_path / "node.log.2026-12-02", "d2\n", mtime=2000)
    names = [Path(m.path).name for m in rotation.scan(str(log))]
    assert names == ["node.log-20261201.gz", "node.log.2026-12-02", "node.log-20261203"]
    _write(tmp_path / "node.log.1", "n1\n", mtime=2500)  # numbered and dated: by mtime
    names = [Path(m.path).name for m in rotation.scan(str(log))]
    assert names == [
        "node.log-20261201.gz",
        "node.log.2026-12-02",
        "node.log.1",
        "node.log-20261203",
    ]


def test_a_corrupt_gz_sibling_is_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "node.log.1.gz").write_bytes(b"not gzip at all")
    _write(tmp_path / "node.log", "cur\n")
    with caplog.at_level(logging.WARNING):
        members = rotation.scan(str(tmp_path / "node.log"))
    assert [Path(m.path).name for m in members] == ["node.log"]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        f"cannot read rotated file {tmp_path / 'node.log.1.gz'}"
    ]


def _member(
    name: str, fp: str, size: int, *, current: bool = False, gz: bool = False
) -> rotation.Member:
    return rotation.Member(name, fp, 3, size, 0.0, gz, current)


def test_unread_starts_at_the_oldest_known_identity() -> None:
    members = [
        _member("n.4", "old", 10),  # never read: predates the monitor
        _member("n.3", "a", 10),  # read to its end
        _member("n.2", "b", 10),  # read half
        _member("n.1.gz", "c", 10, gz=True),  # never seen: rotated while stopped
        _member("n", "d", 10, current=True),
    ]
    plan = rotation.unread(members, {"a": 10, "b": 5, "zz": 3})
    assert [(m.path, off) for m, off in plan.files] == [("n.2", 5), ("n.1.gz", 0)]
    assert plan.continues
    assert rotation.unread(members, {"zz": 3}) == rotation.Plan([], False)
    assert rotation.unread(members, {"d": 4}) == rotation.Plan([], True)


def test_unread_reads_one_copy_of_an_identity() -> None:
    plain, packed = _member("n.1", "a", 10), _member("n.1.gz", "a", 10, gz=True)
    plan = rotation.unread([packed, plain, _member("n", "b", 1, current=True)], {"a": 4})
    assert [(m.path, off) for m, off in plan.files] == [("n.1", 4)]
    # copytruncate caught between its copy and its truncation: the current file is read
    cur = _member("n", "a", 12, current=True)
    assert rotation.unread([_member("n.1", "a", 10), cur], {"a": 4}).files == []


def test_a_plain_file_compressed_since_the_scan_is_opened_as_gz(tmp_path: Path) -> None:
    _write(tmp_path / "node.log.1", "g1\ng2\n")
    (member,) = [m for m in rotation.scan(str(tmp_path / "node.log")) if not m.current]
    _write(tmp_path / "node.log.1.gz", "g1\ng2\n", gz=True)
    os.unlink(tmp_path / "node.log.1")
    opened = rotation.open_member(member, 3)
    assert opened is not None and opened.stream is not None
    try:
        assert opened.path.endswith(".gz") and opened.stream.read() == b"g2\n"
    finally:
        opened.stream.close()
    os.unlink(tmp_path / "node.log.1.gz")
    assert rotation.open_member(member, 3) is None


# --- the follower across rotations -----------------------------------------------------------
SEQUENCES = [
    ("rename", "copytruncate", "gzip"),
    ("gzip", "rename", "copytruncate"),
    ("copytruncate", "copytruncate", "copytruncate"),
    ("dated", "dated", "dated"),
    ("copytruncate+gzip", "rename", "copytruncate+gzip"),
]


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_three_rotations_while_stopped_lose_nothing(
    tmp_path: Path, sequence: tuple[str, ...]
) -> None:
    log = RotatedLog(tmp_path / "node.log")
    log.write(100)
    state = Committed()
    f = state.follower(log.path)
    state.drain(f)
    f.close()  # the monitor stops; its offsets are committed
    for how in sequence:
        log.write(100)
        log.rotate(how)
    log.write(100)
    f = state.follower(log.path)
    state.drain(f)
    assert state.lines == log.written  # 400 lines, each once, in order
    log.write(7)  # and it follows on
    state.drain(f)
    f.close()
    assert state.lines == log.written


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_rotations_between_two_polls_lose_nothing(
    tmp_path: Path, sequence: tuple[str, ...]
) -> None:
    log = RotatedLog(tmp_path / "node.log")
    log.write(50)
    state = Committed()
    f = state.follower(log.path)
    state.drain(f)
    for how in sequence:
        log.write(50)  # not read before the rotation: for copytruncate, only the copy has them
        log.rotate(how)
    log.write(50)
    state.drain(f)
    f.close()
    assert state.lines == log.written


def test_copytruncate_tail_is_read_from_the_copy(tmp_path: Path) -> None:
    log = RotatedLog(tmp_path / "node.log")
    log.write(3)
    state = Committed()
    f = state.follower(log.path)
    state.drain(f)
    tail = log.write(2)
    log.rotate("copytruncate")
    new = log.write(2)
    chunks = f.poll()
    state.take(chunks)
    assert [line for c in chunks for line in c.lines] == tail + new
    assert chunks[0].identity.path == str(tmp_path / "node.log.1") and f.truncations == 1
    f.close()


def test_restart_in_the_middle_of_a_rotated_file(tmp_path: Path) -> None:
    log = RotatedLog(tmp_path / "node.log")
    log.write(100)
    state = Committed()
    f = state.follower(log.path)
    state.drain(f)
    f.close()
    log.write(100)
    log.rotate("rename")  # lines 0-199, node.log.2 after the next rotation
    log.write(300)
    log.rotate("gzip")  # lines 200-499, node.log.1.gz: the crash comes while reading it
    log.write(100)
    f = state.follower(log.path, block_bytes=512, max_bytes_per_poll=512)
    while len(state.lines) < 350:
        state.take(f.poll())
    f.close()  # crash: what was consumed is what was committed
    assert 350 <= len(state.lines) < 500 and state.lines == log.written[: len(state.lines)]
    assert len(state.rows) == 2  # the first file, and part of node.log.1.gz
    f = state.follower(log.path)
    state.drain(f)
    f.close()
    assert state.lines == log.written


def test_older_unknown_rotated_files_are_not_read(tmp_path: Path) -> None:
    log = RotatedLog(tmp_path / "node.log")
    log.write(5)
    log.rotate("rename")
    log.write(5)
    log.rotate("gzip")
    log.write(5)
    state = Committed()
    f = state.follower(log.path)  # first start: only the current file, as before
    state.drain(f)
    f.close()
    assert state.lines == log.written[10:]
    log.write(5)
    log.rotate("rename")
    log.write(5)
    f = state.follower(log.path, from_end=True)  # a continuation: from_end does not apply
    state.drain(f)
    f.close()
    assert state.lines == log.written[10:]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(1, 20)),
        st.tuples(
            st.sampled_from(["rename", "copytruncate", "gzip", "copytruncate+gzip"]), st.just(0)
        ),
        st.tuples(st.sampled_from(["poll", "restart"]), st.just(0)),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
# A copytruncate whose next write leaves the file exactly as long as it was at the last
# check: only its modification time says it changed (39 of 40 lines were lost).
@example(ops=[("write", 1), ("write", 17), ("write", 20), ("copytruncate", 0)])
def test_any_rotations_polls_and_restarts_read_each_line_once(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int]]
) -> None:
    path = tmp_path_factory.mktemp("rot") / "node.log"
    log = RotatedLog(path)
    log.write(1)
    state = Committed()
    f = state.follower(path, block_bytes=256, max_bytes_per_poll=256)
    state.take(f.poll())  # the monitor has seen the log once: later files continue it
    try:
        for op, n in ops:
            if op == "write":
                log.write(n)
            elif op == "poll":
                state.take(f.poll())
            elif op == "restart":
                f.close()
                f = state.follower(path, block_bytes=256, max_bytes_per_poll=256)
            elif path.exists():
                log.rotate(op)
        log.write(1)  # a renamed-away file is left once the next one exists
        state.drain(f)
    finally:
        f.close()
    assert state.lines == log.written


def test_the_forwarder_runs_from_its_copied_files(tmp_path: Path) -> None:
    """On a node host without storj_monitor: STANDALONE_FILES (rotation.py, open_file.py,
    tail.py, forwarder.py) side by side, standard library only (-S: no site-packages, so no
    storj_monitor)."""
    import shutil
    import subprocess
    import sys

    src = Path(rotation.__file__).parent
    assert STANDALONE_FILES == ("rotation.py", "open_file.py", "tail.py", "forwarder.py")
    for name in STANDALONE_FILES:
        shutil.copy(src / name, tmp_path / name)
    RotatedLog(tmp_path / "node.log").write(1)
    (tmp_path / "node.log").rename(tmp_path / "node.log.1")
    fp = fingerprint_of((tmp_path / "node.log.1").read_bytes())
    assert fp is not None
    code = (  # a known file rotated away: the follower finds it through rotation.py
        "import forwarder, tail\n"
        f"row = tail.rotation.Position({fp[0]!r}, {fp[1]}, 0)\n"
        "f = tail.FileFollower('node.log', known_offsets=lambda: [row])\n"
        "print(tail.rotation.__name__, [c.identity.path for c in f.poll()])\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["rotation", f"[{str(tmp_path / 'node.log.1')!r}]"]


def test_the_forwarder_files_import_only_each_other_and_the_standard_library() -> None:
    """A module the forwarder's files start to import must join STANDALONE_FILES (and the
    docs' copy instructions), or the forwarder copied to a node host breaks."""
    import ast
    import sys

    src = Path(rotation.__file__).parent
    ours = {name.removesuffix(".py") for name in STANDALONE_FILES}
    imported: set[str] = set()
    for name in STANDALONE_FILES:
        for node in ast.walk(ast.parse((src / name).read_text(), name)):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module == "storj_monitor.logs":
                imported.update(f"storj_monitor.logs.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module is not None, name
                imported.add(node.module)
    outside = {
        m for m in imported
        if m.removeprefix("storj_monitor.logs.") not in ours
        and m.split(".")[0] not in sys.stdlib_module_names | {"__future__"}
    }  # fmt: skip
    assert outside == set()
    assert {m.removeprefix("storj_monitor.logs.") for m in imported} >= ours - {"forwarder"}


def test_reposition_inside_a_rotated_gz(tmp_path: Path) -> None:
    """After a write conflict the ingest moves the follower back to the stored offset, also
    in a compressed rotated file."""
    log = RotatedLog(tmp_path / "node.log")
    log.write(1)
    state = Committed()
    f = state.follower(log.path)
    state.drain(f)
    f.close()
    log.write(9)
    log.rotate("gzip")
    log.write(1)
    f = state.follower(log.path, block_bytes=64, max_bytes_per_poll=64)
    chunks = f.poll()
    assert chunks[0].identity.path.endswith("node.log.1.gz") and chunks[-1].end > 34
    assert f.reposition(chunks[0].identity.fingerprint, 34)
    again: list[str] = []
    for _ in range(100):
        again += [line for c in f.poll() for line in c.lines]
    f.close()
    assert again == log.written[1:]

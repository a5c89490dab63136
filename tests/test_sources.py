"""The local file follower on real files: partial lines, CRLF, rotation, truncation, restart."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storj_monitor.logs.open_file import Chunk, split_lines
from storj_monitor.logs.rotation import fingerprint_of
from storj_monitor.logs.tail import FileFollower


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    fingerprint_len: int
    offset: int


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def lines_of(chunks: list[Chunk]) -> list[str]:
    return [line for c in chunks for line in c.lines]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def stored_after(chunks: list[Chunk]) -> Stored:
    last = chunks[-1]
    return Stored(last.identity.fingerprint, last.identity.fingerprint_len, last.end)


def test_split_lines_keeps_partial_and_normalises_crlf() -> None:
    assert split_lines(b"a\r\nb\nc") == (["a", "b"], 5)
    assert split_lines(b"no newline") == ([], 0)
    lines, used = split_lines(b"\xff\xfebad\n")
    assert lines == ["\ufffd\ufffdbad"] and used == 6


def test_fingerprint_needs_a_complete_first_line() -> None:
    assert fingerprint_of(b"partial") is None
    fp = fingerprint_of(b"first\nsecond")
    assert fp is not None and fp[1] == 6
    assert fingerprint_of(b"first\nother") == fp  # only the first line counts
    long = fingerprint_of(b"x" * 5000)
    assert long is not None and long[1] == 1024


def test_partial_line_is_held_until_complete(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_bytes(b"one\ntw")
    f = FileFollower(str(log))
    first = f.poll()
    assert lines_of(first) == ["one"]
    assert first[-1].end == 4
    append(log, b"o\nthree")
    assert lines_of(f.poll()) == ["two"]
    append(log, b"\n")
    assert lines_of(f.poll()) == ["three"]
    assert f.poll() == []
    f.close()


def test_crlf_and_invalid_utf8(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_bytes(b"alpha\r\nbe\xfft\xc3\r\n")
    f = FileFollower(str(log))
    assert lines_of(f.poll()) == ["alpha", "be\ufffdt\ufffd"]
    f.close()


def test_backlog_has_no_arrival_and_live_lines_do(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("old 1\nold 2\n")
    clock = Clock(500.0)
    f = FileFollower(str(log), clock=clock)
    backlog = f.poll()
    assert [c.arrival for c in backlog] == [None]
    assert f.caught_up
    clock.t = 501.25
    append(log, b"new\n")
    live = f.poll()
    assert lines_of(live) == ["new"] and live[0].arrival == 501.25
    f.close()


def test_missing_file_is_waited_for_and_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    f = FileFollower(str(log), from_end=True, clock=Clock(7.0))
    assert f.poll() == []
    assert f.poll() == []
    log.write_text("a\nb\n")
    chunks = f.poll()
    assert lines_of(chunks) == ["a", "b"]
    assert chunks[0].start == 0 and chunks[0].arrival == 7.0  # appeared while we waited: live
    f.close()


def test_rename_rotation_finishes_old_file_then_reads_new(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("a1\na2\n")
    f = FileFollower(str(log))
    assert lines_of(f.poll()) == ["a1", "a2"]
    old_identity = f.identity
    os.rename(log, tmp_path / "node.log.1")
    append(tmp_path / "node.log.1", b"a3 written after the rename\n")  # writer not reopened yet
    assert lines_of(f.poll()) == ["a3 written after the rename"]  # path missing: keep old
    log.write_text("b1\n")
    chunks = f.poll()
    assert lines_of(chunks) == ["b1"]
    assert chunks[-1].identity != old_identity and chunks[-1].start == 0
    assert f.rotations == 1
    append(log, b"b2\n")
    assert lines_of(f.poll()) == ["b2"]
    f.close()


def test_rename_rotation_reads_old_remainder_in_the_same_poll(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("a1\n")
    f = FileFollower(str(log))
    f.poll()
    append(log, b"a2\na-partial")
    os.rename(log, tmp_path / "node.log.1")
    log.write_text("b1\n")
    chunks = f.poll()
    assert lines_of(chunks) == ["a2", "a-partial", "b1"]  # the partial last line is kept
    assert chunks[0].identity.fingerprint != chunks[-1].identity.fingerprint
    f.close()


def test_copytruncate_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("first 1\nfirst 2\n")
    f = FileFollower(str(log))
    assert lines_of(f.poll()) == ["first 1", "first 2"]
    with open(log, "r+b") as fh:  # what logrotate's copytruncate does after copying
        fh.truncate(0)
    append(log, b"second 1\n")
    chunks = f.poll()
    assert lines_of(chunks) == ["second 1"]
    assert chunks[0].start == 0 and f.truncations == 1
    f.close()


def test_truncate_and_regrow_past_offset_is_noticed_by_fingerprint(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("x1\n")
    f = FileFollower(str(log))
    f.poll()
    log.write_text("a much longer new first line\nand more\n")  # truncated and regrown
    chunks = f.poll()
    assert lines_of(chunks) == ["a much longer new first line", "and more"]
    f.close()


def test_restart_resumes_from_stored_offset(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("l1\nl2\n")
    f = FileFollower(str(log))
    stored = stored_after(f.poll())
    f.close()
    append(log, b"l3\n")
    again = FileFollower(str(log), known_offsets=lambda: [stored])
    chunks = again.poll()
    assert lines_of(chunks) == ["l3"] and chunks[0].start == stored.offset
    again.close()


def test_restart_with_from_end_still_resumes_a_known_file(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("l1\nl2\n")
    stored = stored_after(FileFollower(str(log)).poll())
    append(log, b"l3\nl4\n")
    f = FileFollower(str(log), known_offsets=lambda: [stored], from_end=True)
    assert lines_of(f.poll()) == ["l3", "l4"]
    f.close()


def test_from_end_skips_history_of_an_unknown_file(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("old\nold\npart")
    f = FileFollower(str(log), from_end=True)
    assert f.poll() == []
    append(log, b"ial\nnew\n")
    assert lines_of(f.poll()) == ["partial", "new"]
    f.close()


def test_stored_offset_beyond_a_shrunk_file_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("head\n")
    fp = fingerprint_of(b"head\n")
    assert fp is not None
    f = FileFollower(str(log), known_offsets=lambda: [Stored(fp[0], fp[1], 10_000)])
    assert lines_of(f.poll()) == ["head"]
    f.close()


def test_restart_finishes_a_file_rotated_while_stopped(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("a1\n")
    f = FileFollower(str(log))
    stored = stored_after(f.poll())
    f.close()
    # While the monitor was down: more lines, rotation by rename, a new file.
    append(log, b"a2\na3\n")
    os.rename(log, tmp_path / "node.log.1")
    (tmp_path / "node.log.2.gz").write_bytes(b"compressed, never read")
    log.write_text("b1\n")
    again = FileFollower(str(log), known_offsets=lambda: [stored])
    chunks = again.poll()
    assert lines_of(chunks) == ["a2", "a3", "b1"]
    assert chunks[0].identity.fingerprint == stored.fingerprint
    assert chunks[0].start == stored.offset
    again.close()


def test_huge_line_without_newline_is_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storj_monitor.logs.tail as tail

    monkeypatch.setattr(tail, "MAX_LINE_BYTES", 1500)
    log = tmp_path / "node.log"
    log.write_bytes(b"x" * 3000)
    f = FileFollower(str(log), block_bytes=4096)
    chunks = f.poll()
    assert lines_of(chunks) == ["x" * 3000]
    f.close()


def test_blocks_smaller_than_lines(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    lines = [f"line {i} " + "y" * (i * 7) for i in range(200)]
    log.write_text("\n".join(lines) + "\n")
    f = FileFollower(str(log), block_bytes=64, max_bytes_per_poll=64)
    got: list[str] = []
    for _ in range(10_000):
        chunks = f.poll()
        got += lines_of(chunks)
        if f.caught_up and not chunks:
            break
    assert got == lines
    f.close()


def test_works_without_os_pread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no os.pread: the fallback must not move the read position."""
    monkeypatch.delattr(os, "pread")
    log = tmp_path / "node.log"
    log.write_text("w1\nw2\n")
    f = FileFollower(str(log))
    assert lines_of(f.poll()) == ["w1", "w2"]
    append(log, b"w3\n")
    assert lines_of(f.poll()) == ["w3"]  # the fingerprint check read byte 0 in between
    f.close()


def test_a_backup_copy_of_the_current_file_is_not_read_twice(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("c1\n")
    f = FileFollower(str(log))
    stored = stored_after(f.poll())
    f.close()
    append(log, b"c2\n")
    (tmp_path / "node.log.bak").write_bytes(log.read_bytes())  # same first line: a copy
    again = FileFollower(str(log), known_offsets=lambda: [stored])
    assert lines_of(again.poll()) == ["c2"]
    again.close()


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(
        st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))),
        min_size=1,
        max_size=25,
    ),
    cuts=st.lists(st.integers(1, 40), min_size=1, max_size=40),
    crlf=st.booleans(),
    block=st.sampled_from([7, 64, 4096]),
)
def test_any_split_of_the_appends_yields_exactly_the_lines(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    cuts: list[int],
    crlf: bool,
    block: int,
) -> None:
    log = tmp_path_factory.mktemp("fuzz") / "node.log"
    data = "".join(line + ("\r\n" if crlf else "\n") for line in lines).encode()
    f = FileFollower(str(log), block_bytes=block, max_bytes_per_poll=block)
    got: list[str] = []
    pos, i = 0, 0
    while pos < len(data):
        step = cuts[i % len(cuts)]
        append(log, data[pos : pos + step])
        pos, i = pos + step, i + 1
        got += lines_of(f.poll())
    for _ in range(len(data) + 2):  # drain (small blocks need several polls)
        got += lines_of(f.poll())
    f.close()
    assert got == lines


def test_a_directory_at_the_path_is_reported_once_and_waited_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "node.log"
    path.mkdir()
    f = FileFollower(str(path))
    with caplog.at_level("WARNING", logger="storj_monitor.logs.tail"):
        for _ in range(5):
            assert f.poll() == []
    assert [r.getMessage() for r in caplog.records] == [
        f"cannot read {path}: not a regular file; retrying"
    ]
    path.rmdir()
    path.write_text("ok\n")
    assert lines_of(f.poll()) == ["ok"]
    f.close()


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(
        st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))),
        max_size=30,
    ),
    crlf=st.booleans(),
    block=st.sampled_from([1, 5, 64, 4096]),
    unfinished=st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))),
)
def test_block_lines_reads_exactly_the_lines(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    crlf: bool,
    block: int,
    unfinished: str,
) -> None:
    from storj_monitor.logs.blocks import BlockLines

    log = tmp_path_factory.mktemp("blocks") / "node.log"
    body = "".join(line + ("\r\n" if crlf else "\n") for line in lines).encode()
    log.write_bytes(body + unfinished.encode())
    fd = os.open(log, os.O_RDONLY)
    try:
        reader = BlockLines(fd, block)
        got: list[str] = []
        covered = 0
        while True:
            chunk, used, eof = reader.read(block)
            got += chunk
            covered += used
            if eof:
                break
        assert got == lines and covered == len(body)
        assert reader.held == len(unfinished.encode())
        tail, used = reader.finish()
        assert tail == ([unfinished] if unfinished else []) and reader.held == 0
    finally:
        os.close(fd)

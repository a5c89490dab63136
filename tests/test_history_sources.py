"""``--ingest-log`` over every log source an operator has: ``.gz``/``.bz2``/``.xz`` files, glob
patterns over a rotation set (oldest first, durations paired across files), reruns, corrupt
archives, and ``node scores`` lines reaching ``reputation_history``."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loglines import SAT, stamp, text, transfers
from storj_monitor.cli import main
from storj_monitor.logs import logfiles
from storj_monitor.services.history import LogFileError, import_log
from storj_monitor.services.ingest_log_command import run_history_ingest
from storj_monitor.settings import defaults

COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}
SAT2 = "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"


def scores_line(t: float, sat: str, audit: float, online: float, suspension: float) -> str:
    return (
        f"{stamp(t)}\tINFO\treputation:service\tnode scores updated\t"
        f'{{"Process": "storagenode", "Satellite ID": "{sat}", "Total Audits": 27323, '
        f'"Successful Audits": 27320, "Audit Score": {audit}, "Online Score": {online}, '
        f'"Suspension Score": {suspension}, "Audit Score Delta": 0, "Online Score Delta": 0, '
        '"Suspension Score Delta": 0}'
    )


def run(db: Path, log: Path, *, process: bool = False):  # type: ignore[no-untyped-def]
    return import_log(
        str(db), "n1", str(log), max_pending=1000, ttl_seconds=3600, writer_process=process,
        block_bytes=4096,
    )  # fmt: skip


def query(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def n_events(db: Path) -> int:
    return int(query(db, "SELECT COUNT(*) FROM events")[0][0])


def n_paired(db: Path) -> int:
    return int(query(db, "SELECT COUNT(*) FROM events WHERE duration_ms = 1000")[0][0])


def settings_for(db: Path):  # type: ignore[no-untyped-def]
    return defaults().replace(db_path=str(db), log_read_block_bytes=4096)


# --- compressed files -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
@pytest.mark.parametrize("process", [False, True], ids=["inline", "writer-process"])
def test_compressed_file_imports_its_lines_once(tmp_path: Path, suffix: str, process: bool) -> None:
    body = text(transfers(0, 300)).encode()  # 600 lines, ~200 KB: many 4 KiB blocks
    log, db = tmp_path / f"node.log.3{suffix}", tmp_path / "s.db"
    log.write_bytes(COMPRESS[suffix](body))
    r = run(db, log, process=process)
    assert (r.lines, r.events, r.unparseable) == (600, 300, 0)
    assert (r.start_offset, r.end_offset, r.partial_tail_bytes) == (0, len(body), 0)
    assert n_events(db) == 300 and n_paired(db) == 300
    again = run(db, log, process=process)
    assert (again.start_offset, again.lines, again.events) == (len(body), 0, 0)
    assert n_events(db) == 300
    assert query(db, "SELECT path, offset FROM log_offsets") == [(str(log), len(body))]


def test_last_line_of_an_archive_counts_without_a_newline(tmp_path: Path) -> None:
    lines = transfers(0, 3)
    log, db = tmp_path / "node.log.1.gz", tmp_path / "s.db"
    log.write_bytes(gzip.compress((text(lines[:-1]) + lines[-1]).encode()))
    r = run(db, log)  # just written, but an archive is complete
    assert (r.events, r.partial_tail_bytes) == (3, 0)


def test_plain_file_then_its_gz_adds_nothing_and_a_longer_gz_adds_the_rest(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    plain = tmp_path / "node.log.1"
    head = text(transfers(0, 10)).encode()
    plain.write_bytes(head)
    assert run(db, plain).events == 10
    gz = tmp_path / "node.log.1.gz"  # logrotate compressed it
    gz.write_bytes(gzip.compress(head))
    plain.unlink()
    r = run(db, gz)
    assert (r.start_offset, r.lines, r.events) == (len(head), 0, 0)
    assert n_events(db) == 10
    # The plain file was imported while still growing: the .gz holds 5 more transfers.
    whole = head + text(transfers(10, 5)).encode()
    gz.write_bytes(gzip.compress(whole))
    r = run(db, gz)
    assert (r.start_offset, r.end_offset, r.events) == (len(head), len(whole), 5)
    assert n_events(db) == 15


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_compressed_data_under_a_plain_name_is_recognised_by_its_first_bytes(
    tmp_path: Path, compress: Callable[[bytes], bytes]
) -> None:
    log, db = tmp_path / "node.log.1", tmp_path / "s.db"
    log.write_bytes(compress(text(transfers(0, 12)).encode()))
    r = run(db, log)
    assert (r.lines, r.events, r.unparseable) == (24, 12, 0)


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("node.log.1.zst", b"\x28\xb5\x2f\xfd" + bytes(100), "zstd"),
        ("node.log.1", b"\x28\xb5\x2f\xfd" + bytes(100), "zstd"),
        ("node.log.1.lz4", b"\x04\x22\x4d\x18" + bytes(100), "lz4"),
        ("node.log.1.zip", b"PK\x03\x04" + bytes(100), "zip"),
    ],
)
def test_unsupported_compression_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, kind: str
) -> None:
    log, db = tmp_path / name, tmp_path / "s.db"
    log.write_bytes(data)
    assert main(["--db", str(db), "--ingest-log", f"n1:{log}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"storj_monitor: error: {log}: {kind}-compressed; only gzip, bzip2 and xz are read "
        "(decompress it first); nothing of it was imported"
    ]


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _bad_crc(data: bytes) -> bytes:
    return data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (_truncated, "Compressed file ended before the end-of-stream marker"),
        (_bad_crc, "CRC check failed"),
        (lambda data: b"not gzip at all\n" * 100, "Not a gzipped file"),
    ],
    ids=["truncated", "bad-crc", "not-gzip"],
)
def test_corrupt_gz_in_a_set_is_one_error_and_nothing_of_it_is_stored(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[bytes], bytes],
    why: str,
) -> None:
    recent = time.time() - 3 * 3600
    older = tmp_path / "node.log.3.gz"
    older.write_bytes(gzip.compress(text(transfers(0, 10, recent)).encode()))
    corrupt = tmp_path / "node.log.2.gz"  # 50 transfers, its first half decompresses fine
    corrupt.write_bytes(damage(gzip.compress(text(transfers(100, 50, recent + 100)).encode())))
    newer = tmp_path / "node.log.1"
    newer.write_text(text(transfers(200, 7, recent + 200)))
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "--ingest-log", f"n1:{tmp_path}/node.log.*"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"storj_monitor: error: {corrupt}: not a valid gzip file (")
    assert why in err[0] and err[0].endswith("; nothing of it was imported")
    assert n_events(db) == 17  # the files before and after it, nothing of it
    stored = {p for (p,) in query(db, "SELECT path FROM log_offsets")}
    assert stored == {str(older), str(newer)}


def test_damaged_data_reached_while_importing_is_a_file_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file changed between the check and the read: a clear error, not a crash."""
    from storj_monitor.logs import compressed

    log, db = tmp_path / "node.log.1.gz", tmp_path / "s.db"
    log.write_bytes(_truncated(gzip.compress(text(transfers(0, 300)).encode())))
    monkeypatch.setattr(compressed, "check", lambda stream, path, block_bytes=0: 10**6)
    with pytest.raises(LogFileError, match="not a valid gzip file"):
        run(db, log)
    assert n_events(db) == 0 and query(db, "SELECT * FROM log_offsets") == []  # batch unsent


# --- glob patterns over a rotation set ----------------------------------------------------------


def _rotation_set(tmp_path: Path, t: float) -> tuple[list[Path], int]:
    """40 transfers over four files, oldest first; three of them start in one file and
    finish in the next. Modification times as logrotate leaves them."""
    lines = transfers(0, 40, t)
    cuts = [0, 21, 41, 61, 80]  # odd: between a "started" line and its finish line
    names = ["node.log-20261201.gz", "node.log.2.gz", "node.log.1", "node.log"]
    paths = []
    for k, name in enumerate(names):
        body = text(lines[cuts[k] : cuts[k + 1]]).encode()
        path = tmp_path / name
        path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
        mtime = time.time() - 3600 * (len(names) - k)
        os.utime(path, (mtime, mtime))
        paths.append(path)
    return paths, 40


def test_glob_imports_a_rotation_set_oldest_first_with_durations_across_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    paths, total = _rotation_set(folder, time.time() - 7200)
    (folder / "other.log").write_text(text(transfers(500, 3)))  # not matched by the pattern
    assert logfiles.expand([f"{folder}/node.log*"]) == [str(p) for p in paths]
    db = tmp_path / "s.db"
    assert run_history_ingest(settings_for(db), "n1", f"{folder}/node.log*") == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("n1: ")] == [
        f"n1: {p}" for p in paths
    ]
    assert n_events(db) == total
    assert n_paired(db) == total  # including the three that span two files
    assert len(query(db, "SELECT * FROM log_offsets")) == 4
    # A rerun adds nothing.
    assert run_history_ingest(settings_for(db), "n1", f"{folder}/node.log*") == 0
    out = capsys.readouterr().out
    assert out.count("nothing new to import") == 4
    assert n_events(db) == total


def test_shell_expanded_paths_are_put_in_rotation_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, total = _rotation_set(tmp_path, time.time() - 7200)
    db = tmp_path / "s.db"
    shell_order = sorted(str(p) for p in paths)  # what `node.log*` expands to in a shell
    assert main(["--db", str(db), "--ingest-log", "n1:", *shell_order]) == 0
    assert (n_events(db), n_paired(db)) == (total, total)
    capsys.readouterr()
    first, *rest = shell_order
    assert main(["--db", str(db), "--ingest-log", f"n1:{first}", *rest]) == 0
    assert capsys.readouterr().out.count("nothing new to import") == 4
    assert n_events(db) == total


def test_pattern_that_matches_nothing_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "--ingest-log", f"n1:{tmp_path}/node.log*"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"storj_monitor: error: no file matches {tmp_path}/node.log*"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["node.log", "node.log.1", "node.log.10", "node.log.2.gz"],
         ["node.log.10", "node.log.2.gz", "node.log.1", "node.log"]),
        (["node.log-20261202", "node.log", "node.log-20261130.xz", "node.log-20261201.bz2"],
         ["node.log-20261130.xz", "node.log-20261201.bz2", "node.log-20261202", "node.log"]),
        (["node.log.2026-12-02", "node.log.2026-11-30.gz"],
         ["node.log.2026-11-30.gz", "node.log.2026-12-02"]),
        (["b.log.1", "a.log", "b.log", "a.log.1.gz"], ["a.log.1.gz", "a.log", "b.log.1", "b.log"]),
    ],
)  # fmt: skip
def test_rotation_order_by_name(names: list[str], expected: list[str]) -> None:
    folder = "/nonexistent-dir"
    got = logfiles.rotation_order([f"{folder}/{n}" for n in names])
    assert got == [f"{folder}/{n}" for n in expected]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("node.log", ("node.log", "c", ())),
        ("node.log.1", ("node.log", "n", (-1,))),
        ("node.log.12.bz2", ("node.log", "n", (-12,))),
        ("node-1.log.3.gz", ("node-1.log", "n", (-3,))),
        ("node.log-20261201", ("node.log", "d", (20261201,))),
        ("node.log-20261201-1700.xz", ("node.log", "d", (20261201, 1700))),
        ("node.log.2026-12-01.gz", ("node.log", "d", (20261201,))),
        ("storagenode_2026-12-01", ("storagenode", "d", (20261201,))),
        ("node.log.bak", ("node.log.bak", "c", ())),
        ("node.log.gz", ("node.log", "c", ())),
        ("node.log.1234567", ("node.log.1234567", "c", ())),
    ],
)
def test_rotation_key(name: str, key: tuple) -> None:  # type: ignore[type-arg]
    assert logfiles.rotation_key(name) == key


def test_mixed_numbered_and_dated_names_go_by_modification_time(tmp_path: Path) -> None:
    names = ["node.log.1", "node.log-20261201.gz", "node.log", "node.log.2.gz"]
    ages = {"node.log-20261201.gz": 4, "node.log.2.gz": 3, "node.log.1": 2, "node.log": 1}
    for name in names:
        (tmp_path / name).write_text("x\n")
        mtime = time.time() - 3600 * ages[name]
        os.utime(tmp_path / name, (mtime, mtime))
    got = logfiles.rotation_order([str(tmp_path / n) for n in names])
    assert got == [str(tmp_path / n) for n in sorted(names, key=lambda n: -ages[n])]


# --- reputation lines -----------------------------------------------------------------------------


@pytest.mark.parametrize("process", [False, True], ids=["inline", "writer-process"])
def test_reputation_lines_of_an_imported_file_reach_reputation_history(
    tmp_path: Path, process: bool
) -> None:
    t = 1_796_000_000.0
    lines = [
        *transfers(0, 3, t),
        scores_line(t + 10, SAT, 0.975, 0.9973, 1),
        *transfers(3, 2, t + 20),
        scores_line(t + 30, SAT2, 1, 0.95, 0.99),
    ]
    log, db = tmp_path / "node.log.1.gz", tmp_path / "s.db"
    log.write_bytes(gzip.compress(text(lines).encode()))
    r = run(db, log, process=process)
    assert (r.events, r.records, r.scores) == (5, 2, 2)
    rows = query(
        db,
        "SELECT timestamp, node_name, satellite_id, audit_score, online_score, "
        "suspension_score, total_audits, source FROM reputation_history ORDER BY timestamp",
    )
    assert rows == [
        (t + 10, "n1", SAT, 97.5, 99.73, 100.0, 27323, "log"),
        (t + 30, "n1", SAT2, 100.0, 95.0, 99.0, 27323, "log"),
    ]
    assert run(db, log, process=process).scores == 0  # a rerun adds nothing
    assert len(query(db, "SELECT * FROM reputation_history")) == 2


def test_ctrl_c_in_a_set_stops_there_and_a_rerun_imports_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    import storj_monitor.services.history as history
    import storj_monitor.services.ingest_log_command as command

    paths, total = _rotation_set(tmp_path, time.time() - 7200)
    db = tmp_path / "s.db"
    monkeypatch.setattr(command, "IMPORT_BLOCK_BYTES", 4096)
    settings = defaults().replace(db_path=str(db), log_read_block_bytes=4096)
    real_budget = history._Importer._budget
    reads = {"n": 0}

    def ctrl_c_in_the_second_file(self, pos, held, block_bytes):  # type: ignore[no-untyped-def]
        reads["n"] += 1
        if self.result.path == str(paths[1]) and pos > 0 and reads["n"] < 10**6:
            reads["n"] = 10**6
            signal.raise_signal(signal.SIGINT)  # the user presses Ctrl-C
        return real_budget(self, pos, held, block_bytes)

    monkeypatch.setattr(history._Importer, "_budget", ctrl_c_in_the_second_file)
    assert run_history_ingest(settings, "n1", f"{tmp_path}/node.log*") == 130
    assert "interrupted: run the same command again" in capsys.readouterr().out
    stored = {p for (p,) in query(db, "SELECT path FROM log_offsets")}
    assert stored == {str(paths[0]), str(paths[1])}  # the third and fourth were not started
    assert 0 < n_events(db) < total
    monkeypatch.setattr(history._Importer, "_budget", real_budget)
    assert run_history_ingest(settings, "n1", f"{tmp_path}/node.log*") == 0
    assert n_events(db) == total


@given(
    numbers=st.sets(st.integers(1, 999_999), min_size=1, max_size=8),
    suffixes=st.lists(st.sampled_from(["", ".gz", ".bz2", ".xz"]), min_size=8, max_size=8),
    base=st.sampled_from(["node.log", "storagenode.log", "node-1.log", "node.log.d"]),
)
def test_numbered_rotation_order_is_highest_number_first_live_file_last(
    numbers: set[int], suffixes: list[str], base: str
) -> None:
    names = [f"{base}.{n}{suffix}" for n, suffix in zip(sorted(numbers), suffixes, strict=False)]
    got = logfiles.rotation_order([f"/d/{n}" for n in [*names, base][::-1]])
    assert got == [f"/d/{n}" for n in [*names[::-1], base]]


@given(days=st.sets(st.dates(date(1970, 1, 1), date(9999, 12, 31)), min_size=1, max_size=8), dashed=st.booleans())
def test_dated_rotation_order_is_oldest_date_first(days: set[date], dashed: bool) -> None:
    fmt = ".%Y-%m-%d" if dashed else "-%Y%m%d"
    names = [f"node.log{d.strftime(fmt)}.gz" for d in sorted(days)]
    got = logfiles.rotation_order([f"/d/{n}" for n in ["node.log", *names[::-1]]])
    assert got == [f"/d/{n}" for n in [*names, "node.log"]]

"""LineParser: every piece message in both dialects, every record kind, every line shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from storj_monitor.logs.parser import (
    RECORD_KINDS,
    LineParser,
    PieceLine,
    snake_key,
    split_remote_ip,
)
from storj_monitor.model import LogRecord

SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
PIECE = "FHYH7EZZYUILLE7NH7YUD5LPG5WT676FEEVVME2LLSM2AWURGQGA"
TS = "2025-10-06T00:00:03Z"
T0 = 1759708803.0  # TS as UTC unix seconds

OLD = {"piece": "Piece ID", "sat": "Satellite ID", "action": "Action", "addr": "Remote Address",
       "size": "Size", "offset": "Offset", "space": "Available Space", "process": "Process"}  # fmt: skip
NEW = {k: v.lower().replace(" ", "_") for k, v in OLD.items()}
DIALECTS = pytest.mark.parametrize("keys", [OLD, NEW], ids=["old", "new"])


def zap_fields(fields: dict[str, Any]) -> str:
    """zap's console JSON column: spaced separators, insertion order."""
    return json.dumps(fields, ensure_ascii=False)


def console(
    level: str, logger: str | None, message: str, fields: dict[str, Any], ts: str = TS
) -> str:
    cols = [ts, level] + ([logger] if logger else []) + [message, zap_fields(fields)]
    return "\t".join(cols) + "\n"


def piece_fields(
    keys: dict[str, str], action: str, addr: str = "77.125.83.254:43119", **extra: Any
) -> dict[str, Any]:
    fields = {
        keys["process"]: "storagenode",
        keys["piece"]: PIECE,
        keys["sat"]: SAT,
        keys["action"]: action,
    }
    fields[keys["addr"]] = addr
    for name, value in extra.items():
        fields[keys.get(name, name)] = value
    return fields


def parse_one(line: str, node: str = "node1") -> PieceLine | LogRecord | None:
    return LineParser(node).parse(line)


# -- piece lines -----------------------------------------------------------------------------

PIECE_CASES = [
    # message, level, action, started, status, extra fields, error
    ("upload started", "DEBUG", "PUT", True, None, {"space": 1843000000000}, None),
    ("upload started", "INFO", "PUT_REPAIR", True, None, {"space": 5}, None),
    ("uploaded", "INFO", "PUT", False, "success", {"size": 92416}, None),
    ("uploaded", "INFO", "PUT_REPAIR", False, "success", {"size": 2319360}, None),
    ("upload canceled", "INFO", "PUT", False, "canceled", {"size": 327680}, None),
    ("upload failed", "DEBUG", "PUT", False, "failed", {"size": 851968, "error": "unexpected EOF"}, "unexpected EOF"),
    ("upload failed", "WARN", "PUT", False, "failed", {"size": 0, "error": "write tcp 1.2.3.4:1->5.6.7.8:2: write: broken pipe"}, "broken pipe"),
    ("upload failed", "ERROR", "PUT_REPAIR", False, "failed", {"size": 0, "error": "manager closed: read: connection reset by peer"}, "connection reset"),
    ("download started", "DEBUG", "GET", True, None, {"offset": 0, "size": 1002752}, None),
    ("download started", "INFO", "GET_AUDIT", True, None, {"offset": 256, "size": 256}, None),
    ("downloaded", "INFO", "GET", False, "success", {"offset": 0, "size": 2319360}, None),
    ("downloaded", "INFO", "GET_AUDIT", False, "success", {"offset": 1819904, "size": 256}, None),
    ("downloaded", "INFO", "GET_REPAIR", False, "success", {"offset": 0, "size": 2319360}, None),
    ("download canceled", "INFO", "GET", False, "canceled", {"offset": 70144, "size": 1280, "reason": "context canceled"}, "context canceled"),
    ("download canceled", "INFO", "GET_REPAIR", False, "canceled", {"offset": 0, "size": 1280}, None),
    ("download canceled (race lost or node shutdown)", "INFO", "GET", False, "canceled", {"offset": 0, "size": 1280}, None),
    ("download failed", "ERROR", "GET", False, "failed", {"offset": 0, "size": 92928, "error": "context deadline exceeded"}, "timeout"),
    ("download failed", "ERROR", "GET_AUDIT", False, "failed", {"offset": 491776, "size": 256, "error": "file does not exist"}, "file does not exist"),
]  # fmt: skip


@DIALECTS
@pytest.mark.parametrize(
    ("message", "level", "action", "started", "status", "extra", "category"), PIECE_CASES
)
def test_piece_messages(
    keys: dict[str, str], message: str, level: str, action: str, started: bool,
    status: str | None, extra: dict[str, Any], category: str | None,
) -> None:  # fmt: skip
    line = console(level, "piecestore", message, piece_fields(keys, action, **extra))
    piece = parse_one(line)
    assert isinstance(piece, PieceLine)
    assert piece.started is started
    assert piece.status == status
    assert piece.action == action
    assert piece.level == level
    assert piece.timestamp == T0
    assert piece.precise_ts is None
    assert piece.piece_id == PIECE
    assert piece.satellite_id == SAT
    assert piece.remote_addr == "77.125.83.254:43119"
    assert piece.remote_ip == "77.125.83.254"
    assert piece.size == extra.get("size")
    assert piece.available_space == (extra.get("space") if started else None)
    expected_error = extra.get("error") or extra.get("reason")
    assert piece.error == expected_error
    assert piece.error_category == category


@DIALECTS
def test_ipv6_remote_address(keys: dict[str, str]) -> None:
    line = console(
        "INFO",
        "piecestore",
        "uploaded",
        piece_fields(keys, "PUT", "[2001:db8::5]:51544", size=181504),
    )
    piece = parse_one(line)
    assert isinstance(piece, PieceLine)
    assert piece.remote_ip == "2001:db8::5"
    assert piece.remote_addr == "[2001:db8::5]:51544"


@pytest.mark.parametrize(
    ("addr", "ip"),
    [
        ("79.127.219.34:47146", "79.127.219.34"),
        ("[2a01:4f8:c17:b8f::2]:34310", "2a01:4f8:c17:b8f::2"),
        ("2001:db8::5", "2001:db8::5"),
        ("10.0.0.1", "10.0.0.1"),
        ("", None),
        (None, None),
        ("[]:5", None),
        ("[broken", None),
    ],
)
def test_split_remote_ip(addr: str | None, ip: str | None) -> None:
    assert split_remote_ip(addr) == ip


def test_file_found_in_trash_is_not_a_result() -> None:
    parser = LineParser("n")
    line = console(
        "WARN", "piecestore", "file found in trash", piece_fields(OLD, "GET", offset=0, size=55808)
    )
    assert parser.parse(line) is None
    assert parser.ignored == 1 and parser.piece_lines == 0


def test_race_lost_twin_is_not_a_second_event() -> None:
    parser = LineParser("n")
    fields = piece_fields(OLD, "GET", offset=0, size=1280)
    race = parser.parse(
        console("INFO", "piecestore", "download canceled (race lost or node shutdown)", fields)
    )
    twin = parser.parse(
        console("DEBUG", "piecestore", "download canceled", {**fields, "error": "context canceled"})
    )
    assert isinstance(race, PieceLine) and race.status == "canceled"
    assert twin is None
    assert parser.piece_lines == 1 and parser.ignored == 1
    # A later, unrelated cancel of another piece still counts.
    other = {**fields, "Piece ID": "Z" * 52}
    assert isinstance(
        parser.parse(console("DEBUG", "piecestore", "download canceled", other)), PieceLine
    )


@pytest.mark.parametrize("era", ["v1.99-v1.112", "v1.86-v1.98"])
def test_race_lost_upload_is_one_canceled_operation(era: str) -> None:
    """v1.86–v1.112: ``upload canceled (race lost or node shutdown)`` then a DEBUG
    ``upload failed`` for the same piece; until v1.98 the race-lost line has only the piece ID."""
    parser = LineParser("n")
    full = piece_fields(OLD, "PUT")
    race_fields = full if era == "v1.99-v1.112" else {"Process": "storagenode", "Piece ID": PIECE}
    race = parser.parse(
        console("INFO", "piecestore", "upload canceled (race lost or node shutdown)", race_fields)
    )
    twin = parser.parse(
        console("DEBUG", "piecestore", "upload failed", {**full, "error": "context canceled"})
    )
    assert isinstance(race, PieceLine)
    assert (race.action, race.status, race.piece_id) == ("PUT", "canceled", PIECE)
    assert twin is None
    assert parser.piece_lines == 1 and parser.ignored == 1
    # An ordinary upload failure (no race-lost line before it) is still a failure.
    other = parser.parse(console("ERROR", "piecestore", "upload failed", {**full, "Piece ID": "Q" * 52, "error": "disk full"}))
    assert isinstance(other, PieceLine) and other.status == "failed"


def test_old_race_lost_download_with_only_the_piece_id() -> None:
    parser = LineParser("n")
    race = parser.parse(console("INFO", "piecestore", "download canceled (race lost or node shutdown)",
                                {"Process": "storagenode", "Piece ID": PIECE}))  # fmt: skip
    assert isinstance(race, PieceLine)
    assert (race.action, race.status, race.satellite_id) == ("GET", "canceled", None)


def test_old_delete_lines_have_no_action_field() -> None:
    line = console("INFO", "piecestore", "deleted", {"Process": "storagenode", "Satellite ID": SAT, "Piece ID": PIECE, "Remote Address": "1.2.3.4:5"})  # fmt: skip
    piece = parse_one(line)
    assert isinstance(piece, PieceLine)
    assert (piece.action, piece.status) == ("DELETE", "success")


def test_piece_line_without_action_is_unparseable() -> None:
    parser = LineParser("n")
    assert (
        parser.parse(
            console("INFO", "piecestore", "uploaded", {"Process": "storagenode", "Piece ID": PIECE})
        )
        is None
    )
    assert parser.unparseable == 1


@pytest.mark.parametrize("message", ["upload rejected, too many requests", "upload internal error"])
def test_piecestore_lines_without_piece_fields_are_records(message: str) -> None:
    record = parse_one(
        console(
            "ERROR",
            "piecestore",
            message,
            {"Process": "storagenode", "error": "context deadline exceeded"},
        )
    )
    assert isinstance(record, LogRecord)
    assert record.kind in ("upload_rejected", "upload_internal_error")
    assert record.fields["error"] == "context deadline exceeded"


def test_duplicate_keys_keep_the_last() -> None:
    line = TS + '\tINFO\tpiecestore\tuploaded\t{"Process": "storagenode", "Piece ID": "A", "Piece ID": "B", "Satellite ID": "S", "Action": "PUT", "Size": 1}'  # fmt: skip
    piece = parse_one(line)
    assert isinstance(piece, PieceLine) and piece.piece_id == "B"


def test_odd_value_types_are_coerced_or_dropped() -> None:
    line = console("INFO", "piecestore", "uploaded", {"Piece ID": 7, "Satellite ID": SAT, "Action": "PUT", "Size": "2048", "Remote Address": 5})  # fmt: skip
    piece = parse_one(line)
    assert isinstance(piece, PieceLine)
    assert (piece.piece_id, piece.size, piece.remote_addr, piece.remote_ip) == (
        "7",
        2048,
        None,
        None,
    )


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2025-10-06T00:00:03Z", T0),
        ("2025-10-06T01:00:03+01:00", T0),
        ("2025-10-05T17:00:03-07:00", T0),
        ("2025-10-06T01:00:03+0100", T0),
        ("2025-10-06T00:00:03.123Z", T0 + 0.123),
        ("2025-10-06T01:00:03.123+0100", T0 + 0.123),
        ("2025-10-06T00:00:03.123456789Z", T0 + 0.123456789),
        ("2025-10-06T00:00:03", T0),
    ],
)
def test_timestamp_forms(ts: str, expected: float) -> None:
    piece = parse_one(
        console("INFO", "piecestore", "uploaded", piece_fields(OLD, "PUT", size=1), ts=ts)
    )
    assert isinstance(piece, PieceLine)
    assert piece.timestamp == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "ts", ["2025-13-06T00:00:03Z", "yesterday", "2025-10-06T00:00:03+25:00", ""]
)
def test_bad_timestamps_are_unparseable(ts: str) -> None:
    parser = LineParser("n")
    assert (
        parser.parse(console("INFO", "piecestore", "uploaded", piece_fields(OLD, "PUT"), ts=ts))
        is None
    )
    assert parser.unparseable == 1


# -- line shapes -------------------------------------------------------------------------------


def test_crlf_line_endings() -> None:
    line = console("INFO", "piecestore", "uploaded", piece_fields(NEW, "PUT", size=5)).replace(
        "\n", "\r\n"
    )
    piece = parse_one(line)
    assert isinstance(piece, PieceLine) and piece.size == 5
    record = parse_one(
        console("INFO", None, "Node 1abc started", {"Process": "storagenode"}).replace("\n", "\r\n")
    )
    assert isinstance(record, LogRecord) and record.fields["node_id"] == "1abc"


def test_caller_column() -> None:
    line = "\t".join([TS, "INFO", "piecestore", "piecestore/endpoint.go:367", "uploaded", zap_fields(piece_fields(OLD, "PUT", size=9))])  # fmt: skip
    piece = parse_one(line)
    assert isinstance(piece, PieceLine) and piece.size == 9
    root = "\t".join([TS, "WARN", "storagenode/peer.go:12", "Disk space is less than requested. Allocated space is", zap_fields({"Process": "storagenode", "bytes": 5})])  # fmt: skip
    record = parse_one(root)
    assert isinstance(record, LogRecord) and record.kind == "disk_space"


def test_docker_json_file_wrapper_gives_precise_time() -> None:
    inner = console("INFO", "piecestore", "downloaded", piece_fields(NEW, "GET", offset=0, size=3))
    line = json.dumps({"log": inner, "stream": "stderr", "time": "2025-10-06T00:00:03.482913377Z"})
    piece = parse_one(line)
    assert isinstance(piece, PieceLine)
    assert piece.timestamp == T0
    assert piece.precise_ts == pytest.approx(T0 + 0.482913377, abs=1e-6)


def test_docker_logs_t_prefix_gives_precise_time() -> None:
    inner = console("INFO", "piecestore", "downloaded", piece_fields(OLD, "GET", offset=0, size=3))
    piece = parse_one("2025-10-06T00:00:04.250000000Z " + inner)
    assert isinstance(piece, PieceLine)
    assert piece.timestamp == T0
    assert piece.precise_ts == pytest.approx(T0 + 1.25)


@pytest.mark.parametrize(
    "prefix",
    ["Oct  6 00:00:03 host storagenode[123]: ", "Oct 6 00:00:03 nas docker/storagenode[99]: "],
)
def test_journald_and_syslog_prefixes(prefix: str) -> None:
    piece = parse_one(
        prefix + console("INFO", "piecestore", "uploaded", piece_fields(NEW, "PUT", size=1))
    )
    assert isinstance(piece, PieceLine)
    assert piece.timestamp == T0 and piece.precise_ts is None


def test_journalctl_precise_prefix() -> None:
    prefix = "2025-10-06T00:00:03.500000+00:00 host storagenode[123]: "
    piece = parse_one(
        prefix + console("INFO", "piecestore", "uploaded", piece_fields(NEW, "PUT", size=1))
    )
    assert isinstance(piece, PieceLine) and piece.precise_ts == pytest.approx(T0 + 0.5)


@DIALECTS
def test_json_encoding(keys: dict[str, str]) -> None:
    obj = {
        "L": "INFO",
        "T": TS,
        "N": "piecestore",
        "M": "downloaded",
        **piece_fields(keys, "GET", offset=0, size=181504),
    }
    piece = parse_one(json.dumps(obj, separators=(",", ":")) + "\n")
    assert isinstance(piece, PieceLine)
    assert (piece.status, piece.action, piece.size, piece.timestamp) == (
        "success",
        "GET",
        181504,
        T0,
    )


def test_json_encoding_record_drops_zap_keys() -> None:
    obj = {"L": "ERROR", "T": TS, "N": "contact:service", "C": "contact/service.go:1", "M": "ping satellite failed ", "Process": "storagenode", "Satellite ID": SAT, "attempts": 3, "error": "boom"}  # fmt: skip
    record = parse_one(json.dumps(obj))
    assert isinstance(record, LogRecord)
    assert record.kind == "ping_failed"
    assert record.fields == {"satellite_id": SAT, "attempts": 3, "error": "boom"}


def test_json_encoding_inside_docker_wrapper() -> None:
    inner = json.dumps(
        {
            "L": "INFO",
            "T": TS,
            "N": "piecestore",
            "M": "uploaded",
            **piece_fields(NEW, "PUT", size=1),
        }
    )
    line = json.dumps({"log": inner + "\n", "stream": "stdout", "time": "2025-10-06T00:00:03.1Z"})
    piece = parse_one(line)
    assert isinstance(piece, PieceLine) and piece.precise_ts == pytest.approx(T0 + 0.1)


def test_docker_t_prefix_before_json_encoding() -> None:
    inner = json.dumps(
        {
            "L": "INFO",
            "T": TS,
            "N": "piecestore",
            "M": "uploaded",
            **piece_fields(NEW, "PUT", size=1),
        }
    )
    piece = parse_one("2025-10-06T00:00:03.750Z " + inner)
    assert isinstance(piece, PieceLine) and piece.precise_ts == pytest.approx(T0 + 0.75)


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARN", "ERROR", "DPANIC", "PANIC", "FATAL"])
def test_all_levels(level: str) -> None:
    record = parse_one(
        console(level, None, "Unrecoverable error", {"Process": "storagenode", "error": "x"})
    )
    assert isinstance(record, LogRecord) and record.level == level and record.kind == "fatal"


@pytest.mark.parametrize(
    ("line", "counter"),
    [
        ("2025-10-06 07:00:01,134 INFO spawned: 'storagenode' with pid 38", "ignored"),
        ("2025-10-06 07:00:02,140 INFO success: storagenode entered RUNNING state, process has stayed up", "ignored"),
        ("", "ignored"),
        ("\r\n", "ignored"),
        ("\tstorj.io/storj/storagenode/piecestore.(*Endpoint).Upload:545", "unparseable"),
        ("goroutine 1 [running]:", "unparseable"),
        ("panic: runtime error: invalid memory address", "unparseable"),
        ('Error: Error during preflight check for storagenode databases: preflight: database "piece_expiration"', "unparseable"),
        ("\tTables: []*dbschema.Table{", "unparseable"),
        ("downloading storagenode 45% |████      |", "unparseable"),
        (TS + "\tNOTALEVEL\tpiecestore\tuploaded\t{}", "unparseable"),
        (TS + "\tINFO\tpiecestore\tuploaded\t{broken json", "unparseable"),
        (TS + '\tINFO\tpiecestore\tuploaded\t["a list"]', "ignored"),  # no JSON column: a 3-column line
        ("{not json at all", "unparseable"),
        ('{"neither": "zap nor docker"}', "unparseable"),
        ("[1, 2, 3]", "unparseable"),
        (TS + "\tDEBUG\tcontact:endpoint\tpinged\t{\"Process\": \"storagenode\"}", "ignored"),
        (TS + "\tINFO\tRunning on version\t{\"Process\": \"storagenode-updater\", \"Version\": \"v1.145.3\"}", "ignored"),
        (TS + "\tINFO\tConfiguration loaded\t{\"Process\": \"storagenode-updater\", \"Location\": \"/app/config/config.yaml\"}", "ignored"),
    ],
)  # fmt: skip
def test_non_event_lines_are_counted(line: str, counter: str) -> None:
    parser = LineParser("n")
    assert parser.parse(line) is None
    assert getattr(parser, counter) == 1
    assert parser.lines == 1
    assert parser.piece_lines == parser.records == 0


def test_counters_add_up() -> None:
    parser = LineParser("n")
    lines = [
        console("INFO", "piecestore", "uploaded", piece_fields(OLD, "PUT", size=1)),
        console(
            "INFO", "hashstore", "finished compaction", {"Process": "storagenode", "duration": "1s"}
        ),
        console("DEBUG", "orders", "cleaning", {"Process": "storagenode"}),
        "garbage",
    ]
    for line in lines:
        parser.parse(line)
    assert (
        parser.lines,
        parser.piece_lines,
        parser.records,
        parser.ignored,
        parser.unparseable,
    ) == (4, 1, 1, 1, 1)


# -- records -----------------------------------------------------------------------------------

RECORD_CASES = [
    # logger, message, old fields, new fields, kind, satellite, duration_ms, expected normalised fields (subset)
    ("hashstore", "finished compaction",
     {"satellite": SAT, "store": "s1", "duration": "1m37.535705102s", "stats": {"NumLogs": 210, "LenLogs": "390.9 GiB"}},
     {"satellite": SAT, "store": "s1", "duration": "1m37.535705102s", "stats": {"NumLogs": 210, "LenLogs": "390.9 GiB"}},
     "hashstore_compaction", SAT, 97535.705102, {"store": "s1", "stats": {"NumLogs": 210, "LenLogs": "390.9 GiB"}}),
    ("hashstore", "hashtbl rewritten",
     {"satellite": SAT, "store": "s0", "duration": "1.848210926s", "total records": 706320, "reclaim ratio": "NaN"},
     {"satellite": SAT, "store": "s0", "duration": "1.848210926s", "total_records": 706320, "reclaim_ratio": "NaN"},
     "hashstore_compaction", SAT, 1848.210926, {"total_records": 706320, "reclaim_ratio": "NaN"}),
    ("hashstore", "beginning compaction", {"satellite": SAT, "store": "s0", "stats": {}}, {"satellite": SAT, "store": "s0", "stats": {}},
     "hashstore_compaction", SAT, None, {"store": "s0"}),
    ("pieces", "used-space-filewalker completed",
     {"Satellite ID": SAT, "Lazy File Walker": True, "Total Pieces Size": 1941971737884, "Total Pieces Content Size": 1932261879195, "Total Pieces Count": 1765428, "Duration": "27m7.168320336s"},
     {"satellite_id": SAT, "lazy_file_walker": True, "total_pieces_size": 1941971737884, "total_pieces_content_size": 1932261879195, "total_pieces_count": 1765428, "duration": "27m7.168320336s"},
     "used_space_filewalker", SAT, 1627168.320336, {"total_pieces_size": 1941971737884, "total_pieces_count": 1765428, "lazy_file_walker": True}),
    ("pieces", "used-space-filewalker failed", {"Satellite ID": SAT, "error": "lazyfilewalker: signal: killed"}, {"satellite_id": SAT, "error": "lazyfilewalker: signal: killed"},
     "used_space_filewalker", SAT, None, {"error": "lazyfilewalker: signal: killed"}),
    ("lazyfilewalker.used-space-filewalker", "subprocess finished successfully", {"satelliteID": SAT}, {"satellite_id": SAT},
     "lazyfilewalker", SAT, None, {}),
    ("lazyfilewalker.gc-filewalker", "subprocess exited with status", {"satelliteID": SAT, "status": 1, "error": "exit status 1"}, {"satellite_id": SAT, "status": 1, "error": "exit status 1"},
     "lazyfilewalker", SAT, None, {"status": 1}),
    ("lazyfilewalker.gc-filewalker.subprocess", "gc-filewalker completed",
     {"satelliteID": SAT, "Trashed Pieces": 24414, "piecesCount": 632837, "Total Pieces To Trash": 24414, "Pieces Skipped": 0},
     {"satellite_id": SAT, "trashed_pieces": 24414, "pieces_count": 632837, "total_pieces_to_trash": 24414, "pieces_skipped": 0},
     "gc_filewalker", SAT, None, {"trashed_pieces": 24414, "pieces_count": 632837}),
    ("pieces:trash", "emptying trash finished", {"Satellite ID": SAT, "elapsed": "15.475214484s"}, {"satellite_id": SAT, "elapsed": "15.475214484s"},
     "trash", SAT, 15475.214484, {}),
    ("lazyfilewalker.trash-cleanup-filewalker.subprocess", "trash-filewalker completed",
     {"satelliteID": SAT, "bytesDeleted": 6170432512, "numKeysDeleted": 4122}, {"satellite_id": SAT, "bytes_deleted": 6170432512, "num_keys_deleted": 4122},
     "trash", SAT, None, {"bytes_deleted": 6170432512, "num_keys_deleted": 4122}),
    ("retain", "Moved pieces to trash during retain",
     {"Deleted pieces": 24414, "Failed to delete": 0, "Pieces failed to read": 0, "Pieces count": 632837, "Satellite ID": SAT, "Duration": "24m17.305833601s", "Retain Status": "enabled"},
     {"deleted_pieces": 24414, "failed_to_delete": 0, "pieces_failed_to_read": 0, "pieces_count": 632837, "satellite_id": SAT, "duration": "24m17.305833601s", "retain_status": "enabled"},
     "retain", SAT, 1457305.833601, {"deleted_pieces": 24414, "failed_to_delete": 0, "pieces_count": 632837, "retain_status": "enabled"}),
    ("piecestore", "New bloomfilter is received", {"satellite": SAT, "creation": "2025-10-03T14:56:00Z"}, {"satellite": SAT, "creation": "2025-10-03T14:56:00Z"},
     "retain", SAT, None, {"creation": "2025-10-03T14:56:00Z"}),
    ("contact:service", "ping satellite failed ", {"Satellite ID": SAT, "attempts": 3, "error": "ping satellite: connect: connection refused"},
     {"satellite_id": SAT, "attempts": 3, "error": "ping satellite: connect: connection refused"},
     "ping_failed", SAT, None, {"attempts": 3}),
    ("reputation:service", "node scores updated",
     {"Satellite ID": SAT, "Total Audits": 27323, "Successful Audits": 27323, "Audit Score": 1, "Online Score": 0.9973071642693655, "Suspension Score": 1, "Audit Score Delta": 0, "Online Score Delta": 0.0002, "Suspension Score Delta": 0},
     {"satellite_id": SAT, "total_audits": 27323, "successful_audits": 27323, "audit_score": 1, "online_score": 0.9973071642693655, "suspension_score": 1, "audit_score_delta": 0, "online_score_delta": 0.0002, "suspension_score_delta": 0},
     "reputation", SAT, None, {"total_audits": 27323, "audit_score": 1, "online_score": 0.9973071642693655, "suspension_score": 1, "online_score_delta": 0.0002}),
    ("reputation:service", "node scores worsened",
     {"Satellite ID": SAT, "Audit Score": 0.99994, "Online Score": 0.9981, "Suspension Score": 1},
     {"satellite_id": SAT, "audit_score": 0.99994, "online_score": 0.9981, "suspension_score": 1},
     "reputation", SAT, None, {"audit_score": 0.99994}),
    ("version", "Running on allowed version.", {"Version": "1.138.4"}, {"version": "1.138.4"}, "version", None, None, {"version": "1.138.4"}),
    ("version", "version not allowed/outdated", {"current version": "1.100.0", "minimum allowed version": "1.104.0"},
     {"current_version": "1.100.0", "minimum_allowed_version": "1.104.0"}, "version", None, None, {"current_version": "1.100.0"}),
    ("version:chore", "outdated software version", {"error": "old"}, {"error": "old"}, "version", None, None, {"error": "old"}),
    ("piecestore:monitor", "readability check done", {"Duration": "162.857µs"}, {"duration": "162.857µs"}, "storage_check", None, 0.162857, {}),
    ("piecestore:monitor", "error verifying location and/or readability of storage directory", {"error": "x"}, {"error": "x"}, "storage_check", None, None, {"error": "x"}),
    ("piecestore:monitor", "timed out while verifying writability of storage directory", {"timeout": "1m0s"}, {"timeout": "1m0s"}, "storage_check", None, None, {"timeout": "1m0s"}),
    ("orders", "failed to settle orders for satellite", {"satelliteID": SAT, "satellite ID": SAT, "error": "order: unable to connect"},
     {"satellite_id": SAT, "error": "order: unable to connect"}, "orders", SAT, None, {"error": "order: unable to connect"}),
    ("orders", "finished", {"satelliteID": SAT, "count": 6128}, {"satellite_id": SAT, "count": 6128}, "orders", SAT, None, {"count": 6128}),
    ("collector", "expired pieces collection completed", {"count": 242}, {"count": 242}, "collector", None, None, {"count": 242}),
    ("piecestore", "upload rejected, too many requests", {"live requests": 101, "requestLimit": 100}, {"live_requests": 101, "request_limit": 100},
     "upload_rejected", None, None, {"live_requests": 101, "request_limit": 100}),
    (None, "Disk space is less than requested. Allocated space is", {"bytes": 2000000000000}, {"bytes": 2000000000000}, "disk_space", None, None, {"bytes": 2000000000000}),
    (None, "Used more space than allocated. Allocated space is", {"bytes": 5}, {"bytes": 5}, "disk_space", None, None, {"bytes": 5}),
    (None, "Node 1Ve9ayJ5r4sN8wmVQeS1Lcs3bCJ7FVq1YnyaXkqyFM7Hpa4t2C started", {}, {}, "startup", None, None, {"node_id": "1Ve9ayJ5r4sN8wmVQeS1Lcs3bCJ7FVq1YnyaXkqyFM7Hpa4t2C"}),
    (None, "Public server started on [::]:28967", {}, {}, "startup", None, None, {"address": "[::]:28967"}),
    (None, "Private server started on 127.0.0.1:7778", {}, {}, "startup", None, None, {"address": "127.0.0.1:7778"}),
    (None, "Configuration loaded", {"Location": "/app/config/config.yaml"}, {"location": "/app/config/config.yaml"}, "startup", None, None, {"location": "/app/config/config.yaml"}),
    (None, "failure during run", {"error": "boom"}, {"error": "boom"}, "fatal", None, None, {"error": "boom"}),
]  # fmt: skip


@pytest.mark.parametrize("dialect", ["old", "new"])
@pytest.mark.parametrize(
    ("logger", "message", "old_fields", "new_fields", "kind", "satellite", "duration", "expected"),
    RECORD_CASES,
    ids=[f"{c[0]}:{c[1][:30]}" for c in RECORD_CASES],
)
def test_record_kinds(
    dialect: str, logger: str | None, message: str, old_fields: dict[str, Any], new_fields: dict[str, Any],
    kind: str, satellite: str | None, duration: float | None, expected: dict[str, Any],
) -> None:  # fmt: skip
    fields = (
        {"Process": "storagenode", **old_fields}
        if dialect == "old"
        else {"process": "storagenode", **new_fields}
    )
    record = parse_one(console("INFO", logger, message, fields), node="node7")
    assert isinstance(record, LogRecord)
    assert record.kind == kind and kind in RECORD_KINDS
    assert record.node_name == "node7"
    assert record.message == message
    assert record.timestamp == T0
    assert record.satellite_id == satellite
    assert record.duration_ms == (pytest.approx(duration) if duration is not None else None)
    for key, value in expected.items():
        assert record.fields[key] == value
    assert "process" not in record.fields
    assert all(k == snake_key(k) for k in record.fields)


def test_wrong_logger_is_not_a_record() -> None:
    assert (
        parse_one(
            console("INFO", "somethingelse", "finished compaction", {"Process": "storagenode"})
        )
        is None
    )
    assert parse_one(console("INFO", "bandwidth", "finished", {"Process": "storagenode"})) is None


def test_record_with_broken_json_keeps_the_message() -> None:
    record = parse_one(TS + '\tERROR\tcontact:service\tping satellite failed \t{"Process": "storag')
    assert isinstance(record, LogRecord) and record.kind == "ping_failed" and record.fields == {}


def test_record_without_json_column() -> None:
    record = parse_one(TS + "\tINFO\tNode 1abc started")
    assert isinstance(record, LogRecord) and record.fields == {"node_id": "1abc"}


@pytest.mark.parametrize(
    ("key", "snake"),
    [
        ("Piece ID", "piece_id"),
        ("satelliteID", "satellite_id"),
        ("satellite ID", "satellite_id"),
        ("curr logSlots", "curr_log_slots"),
        ("curr logSlots size", "curr_log_slots_size"),
        ("bloomFilterSize", "bloom_filter_size"),
        ("errorVerbose", "error_verbose"),
        ("Total Pieces To Trash", "total_pieces_to_trash"),
        ("piece_id", "piece_id"),
        ("instance ID", "instance_id"),
        ("lazy-file walker", "lazy_file_walker"),
    ],
)
def test_snake_key(key: str, snake: str) -> None:
    assert snake_key(key) == snake


@pytest.mark.parametrize("value", [T0, T0 * 1e3, T0 * 1e9, int(T0)])
def test_json_encoding_with_epoch_time(value: float) -> None:
    obj = {
        "L": "INFO",
        "T": value,
        "N": "piecestore",
        "M": "uploaded",
        **piece_fields(NEW, "PUT", size=1),
    }
    piece = parse_one(json.dumps(obj))
    assert isinstance(piece, PieceLine) and piece.timestamp == pytest.approx(T0)


def test_nested_docker_wrappers_are_refused() -> None:
    inner = json.dumps({"log": "x\n", "time": "2025-10-06T00:00:03.1Z"})
    parser = LineParser("n")
    assert parser.parse(json.dumps({"log": inner, "time": "2025-10-06T00:00:03.1Z"})) is None
    assert parser.unparseable == 1 and parser.internal_errors == 0


@pytest.mark.parametrize(
    ("size", "expected"),
    [("2048", 2048), (" 7 ", 7), ("--5", None), ("²", None), ("1e3", None), (2048.0, 2048),
     (1e300, None), (True, None), ([1], None), ("9" * 30, None)],
)  # fmt: skip
def test_odd_sizes(size: object, expected: object) -> None:
    parser = LineParser("n")
    fields = {"Piece ID": PIECE, "Satellite ID": SAT, "Action": "PUT", "Size": size}
    piece = parser.parse(TS + "\tINFO\tpiecestore\tuploaded\t" + json.dumps(fields))
    assert isinstance(piece, PieceLine) and piece.size == expected
    assert parser.internal_errors == 0


@pytest.mark.parametrize("value", [10**400, -1, float("inf"), 1e300])
def test_json_encoding_with_absurd_epoch_time(value: float) -> None:
    parser = LineParser("n")
    obj = {"L": "INFO", "T": value, "N": "piecestore", "M": "uploaded", **piece_fields(NEW, "PUT")}
    assert parser.parse(json.dumps(obj)) is None
    assert parser.unparseable == 1 and parser.internal_errors == 0


_FIELDS = '{"Piece ID": "P", "Satellite ID": "S", "Action": "GET", "Remote Address": "1.2.3.4:5"}'


@pytest.mark.parametrize(
    ("line", "fine"),
    [
        (f"2026-11-28T10:30:15Z\tDEBUG\tpiecestore\tdownload started\t{_FIELDS}", False),
        (f"2026-11-28T11:30:15+01:00\tDEBUG\tpiecestore\tdownload started\t{_FIELDS}", False),
        (f"2026-11-28T10:30:15.12Z\tDEBUG\tpiecestore\tdownload started\t{_FIELDS}", False),
        (f"2023-06-01T10:30:15.123+0100\tDEBUG\tpiecestore\tdownload started\t{_FIELDS}", True),
        (f"2026-11-28T10:30:15.123456789Z\tDEBUG\tpiecestore\tdownload started\t{_FIELDS}", True),
        (f"2026-11-28 10:30:15,123\tDEBUG\tpiecestore\tdownload started\t{_FIELDS}", True),
        ('{"L": "DEBUG", "T": "2026-11-28T10:30:15.123Z", "N": "piecestore", "M": '
         '"download started", "Piece ID": "P", "Satellite ID": "S", "Action": "GET"}', True),
        ('{"L": "DEBUG", "T": 1764325815.123, "N": "piecestore", "M": '
         '"download started", "Piece ID": "P", "Satellite ID": "S", "Action": "GET"}', True),
        ('{"L": "DEBUG", "T": 1764325815, "N": "piecestore", "M": '
         '"download started", "Piece ID": "P", "Satellite ID": "S", "Action": "GET"}', False),
    ],
)  # fmt: skip
def test_stamp_precision_is_kept(line: str, fine: bool) -> None:
    """``fine_ts``: the log's own stamp had milliseconds or finer (durations: log_millis)."""
    item = LineParser("n").parse(line)
    assert isinstance(item, PieceLine)
    assert item.fine_ts is fine

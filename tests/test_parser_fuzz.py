"""Hypothesis: no input string makes the parser (or the pairer behind it) raise."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.logs.pairing import Pairer
from storj_monitor.logs.parser import LineParser, PieceLine
from storj_monitor.logs.timestamps import parse_timestamp
from storj_monitor.model import LogRecord

SAMPLE = Path(__file__).parent / "fixtures" / "real-node-v1.13x.log"
REAL_LINES = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
GENERATED = list(LogGenerator(seed=3, background_per_hour=20_000).lines(300))
DOCKER = list(LogGenerator(seed=4, docker=True).lines(50))


def as_json_encoding(line: str) -> str:
    """The same entry as ``--log.encoding=json`` writes it."""
    ts, level, logger, message, fields = line.rstrip("\n").split("\t")
    return json.dumps({"L": level, "T": ts, "N": logger, "M": message, **json.loads(fields)})


JSON_ENCODED = [as_json_encoding(line) for line in GENERATED[:50] if line.count("\t") == 4]
SEEDS = REAL_LINES + GENERATED + DOCKER + JSON_ENCODED
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(parser: LineParser, pairer: Pairer, line: str) -> None:
    before = parser.lines
    result = parser.parse(line)
    assert result is None or isinstance(result, (PieceLine, LogRecord))
    assert parser.lines == before + 1
    assert parser.lines == (
        parser.piece_lines + parser.records + parser.ignored + parser.unparseable
        + parser.rejected
    )  # fmt: skip
    assert len(parser.rejected_lines) == parser.rejected
    assert parser.internal_errors == 0, line
    if isinstance(result, PieceLine):
        pairer.feed(result, arrival=1.0)


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    check(LineParser("n"), Pairer("n"), text)


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                "\t",
                "{",
                "}",
                '"',
                ":",
                " ",
                "Z",
                "\r",
                "\n",
                "[",
                "]",
                "2025-10-06T00:00:03Z",
                "INFO",
                "piecestore",
                "uploaded",
                "download canceled",
                '"Piece ID"',
                '"Size"',
                "null",
                "1e999",
                "NaN",
                "\\u0000",
                '{"log":',
                '"M":',
                '"T":',
            ]
        ),
        max_size=40,
    )
)
def test_structured_noise(tokens: list[str]) -> None:  # fmt: skip
    check(LineParser("n"), Pairer("n"), "".join(tokens))


@st.composite
def mutated_line(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        if not line:
            break
        pos = draw(st.integers(0, len(line) - 1))
        op = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "duplicate"]))
        char = draw(
            st.sampled_from(["\t", "{", "}", '"', ":", " ", "\\", "0", "\x00", "é", "\r", ",", "-"])
        )
        if op == "delete":
            line = line[:pos] + line[pos + 1 :]
        elif op == "insert":
            line = line[:pos] + char + line[pos:]
        elif op == "replace":
            line = line[:pos] + char + line[pos + 1 :]
        elif op == "truncate":
            line = line[:pos]
        else:
            line = line[:pos] + line
    return line


@SETTINGS
@given(st.lists(mutated_line(), min_size=1, max_size=10))
def test_mutated_real_and_generated_lines(lines: list[str]) -> None:
    parser, pairer = LineParser("n"), Pairer("n", max_pending=3)
    for line in lines:
        check(parser, pairer, line)
    assert pairer.pending <= 3


@SETTINGS
@given(
    st.sampled_from(SEEDS),
    st.sampled_from(
        [
            "Piece ID",
            "piece_id",
            "Size",
            "size",
            "Action",
            "action",
            "Remote Address",
            "remote_address",
            "duration",
            "Duration",
            "Satellite ID",
            "Available Space",
            "error",
            "reason",
            "T",
            "L",
            "M",
            "N",
        ]
    ),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),  # NaN is not JSON: json.dumps would write a bare NaN
        st.text(max_size=20),
        st.from_regex(r"[-+ 0-9².eE]{0,8}", fullmatch=True),  # numbers written as strings
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
)
def test_fields_of_any_type(line: str, key: str, value: object) -> None:  # fmt: skip
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            return
        if "log" in obj:  # docker wrapper: change a field of the inner line instead
            return
        obj[key] = value
        check(LineParser("n"), Pairer("n"), json.dumps(obj))
        return
    head, sep, fields = line.rpartition("\t")
    if not sep or not fields.startswith("{"):
        return
    try:
        obj = json.loads(fields)
    except ValueError:
        return
    obj[key] = value
    check(LineParser("n"), Pairer("n"), head + "\t" + json.dumps(obj) + "\n")


@SETTINGS
@given(st.text(max_size=45))
def test_parse_timestamp_never_raises(text: str) -> None:
    result = parse_timestamp(text)
    assert result is None or isinstance(result, float)


def test_every_seed_line_parses_without_internal_errors() -> None:
    parser, pairer = LineParser("n"), Pairer("n")
    for line in SEEDS:
        check(parser, pairer, line)
    assert parser.unparseable == 1  # the shell prompt in the real sample

"""Lines → events and records: the parser and the pairer wired together (pure, no I/O).

Shared by the live follower and the historical import so both compute the same events,
durations included. This loop runs once per log line, so it is written for speed.

The fast path: about half of all lines are ``... started`` lines, and nearly all the others
are plain console piecestore result lines (``TS⇥LEVEL⇥piecestore⇥MESSAGE⇥{JSON}``). Those are
read right here, straight into the pairer (a start line becomes one dict entry keyed on a
tuple) and into an events row tuple (``store.events`` column order), with no intermediate
``PieceLine`` or ``Event``. Time stamps: ``….123Z`` is the head's seconds (the last line's,
or from ``parse_timestamp``'s cache of heads) plus the fraction from a fixed table; a
whole-second stamp is looked up in the parser's cache (it repeats line after line); any other
is read as ``parse_timestamp`` does (its second from the cache of heads, its fraction sliced
off), so millisecond to nanosecond stamps stay on the fast path although nearly every one is
new. ``download canceled`` and ``upload failed`` lines are read here too, unless one is the
DEBUG twin of a race-lost line. Whatever the fast path is not sure about (another shape, a
stamp that does not parse, a missing field or one of an unexpected type, broken JSON,
race-lost and delete lines and their twins) goes through ``LineParser.parse`` and
``Pairer.feed`` unchanged, so both paths give the same results (the parser tests and the
pipeline property test check it).

Bad lines (a log time outside the sane window around ``now``, a negative size) are not
events: they come out in ``bad`` as (line, reason), for the store's ``bad_lines`` table.
The fast path takes a time only inside the window (the parser's cache holds in-window times
only; any other time is checked here) and leaves the rest to the parser, which rejects them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import orjson

from storj_monitor.logs.errors import categorize_error
from storj_monitor.logs.pairing import Pairer
from storj_monitor.logs.parser import LineParser
from storj_monitor.logs.piece_lines import (
    CANCELED,
    LEVELS,
    PIECE_MESSAGES,
    PLAIN,
    TS_CACHE_MAX,
    UPLOAD_FAILED,
    PieceLine,
    split_remote_ip,
)
from storj_monitor.logs.rejects import MAX_SIZE
from storj_monitor.logs.timestamps import (
    FRACTION_MARKS,
    HEAD_SECONDS,
    MILLIS_Z,
    parse_timestamp,
)
from storj_monitor.model import Event, LogRecord

#: The piece messages the fast path takes: message -> (is a start line, status, may be the
#: DEBUG twin of a race-lost line). A twin (``download canceled``, ``upload failed``) at DEBUG
#: whose piece the parser saw race lost is not an event: the parser takes it.
_FAST_MESSAGES = {
    m: (spec[0], spec[1], spec[2] != PLAIN)
    for m, spec in PIECE_MESSAGES.items()
    if spec[2] in (PLAIN, CANCELED, UPLOAD_FAILED)
}

#: An events row: the fields of ``model.Event`` in order (= the ``events`` columns).
Row = tuple[Any, ...]
_EVENT_FIELDS = (
    "timestamp", "node_name", "action", "status", "size", "satellite_id", "piece_id",
    "remote_ip", "error", "error_category", "duration_ms", "duration_source",
)  # fmt: skip
_event_row = attrgetter(*_EVENT_FIELDS)
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


@dataclass(slots=True)
class Processed:
    """What a run of lines produced."""

    events: list[Event] = field(default_factory=list)
    records: list[LogRecord] = field(default_factory=list)
    #: (log timestamp, free bytes) of the newest ``upload started`` line that said it.
    available_space: tuple[float, int] | None = None
    #: Rejected lines: (line, reason) (``parser.BAD_*``).
    bad: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class ProcessedRows:
    """What a run of lines produced, events as row tuples (the bulk import's form)."""

    rows: list[Row] = field(default_factory=list)
    records: list[LogRecord] = field(default_factory=list)
    #: (log timestamp, free bytes) of the newest ``upload started`` line that said it.
    available_space: tuple[float, int] | None = None
    #: Rejected lines: (line, reason) (``parser.BAD_*``).
    bad: list[tuple[str, str]] = field(default_factory=list)


class LineProcessor:
    """Parses and pairs the lines of one node, keeping the pairing state between calls."""

    def __init__(self, node_name: str, *, max_pending: int, ttl_seconds: float):
        self.node_name = node_name
        self.parser = LineParser(node_name)
        self.pairer = Pairer(node_name, max_pending, ttl_seconds)

    def process(
        self, lines: list[str], arrival: float | None = None, now: float | None = None
    ) -> Processed:
        """Parse and pair ``lines``; ``arrival`` (UTC unix seconds) when they were read live;
        ``now`` (UTC unix seconds) moves the sane window's end (None: keep the last one)."""
        out = self.process_rows(lines, arrival, now)
        events = [Event(*row) for row in out.rows]
        return Processed(events, out.records, out.available_space, out.bad)

    def process_rows(
        self, lines: list[str], arrival: float | None = None, now: float | None = None
    ) -> ProcessedRows:
        """:meth:`process` with events as row tuples in ``events`` column order."""
        out = ProcessedRows()
        if now is not None:
            self.parser.set_now(now)
        add_row = out.rows.append
        slow = self._slow_line
        pairer = self.pairer
        waiting = pairer.waiting  # the pairer's own dict: start lines go straight in
        take = waiting.pop
        next_sweep, max_pending = pairer.next_sweep, pairer.max_pending
        paired = unmatched = 0
        ts_cache, parse_ts, marks = self.parser.ts_cache, parse_timestamp, FRACTION_MARKS
        race_lost = self.parser.race_lost
        heads, millis_z = HEAD_SECONDS, MILLIS_Z
        messages, levels, node, intern = _FAST_MESSAGES, LEVELS, self.node_name, sys.intern
        # Lines the parser saw before: every line not taken here goes through it once, so
        # the fast path's piece lines are the lines it did not count.
        parser_lines = self.parser.lines
        max_size = MAX_SIZE  # a local: read once per line
        window_start, window_end = self.parser.window_start, self.parser.window_end
        space: tuple[float, int] | None = None
        # The last millisecond stamp's head and its seconds: the next line nearly always shares it.
        last_head, last_secs = "", 0.0
        for line in lines:
            try:
                ts_text, level, logger, message, fields_text = line.split("\t")
            except ValueError:  # not five columns
                space, next_sweep = slow(line, arrival, out, space)
                continue
            spec = messages.get(message)
            if spec is None or logger != "piecestore" or level not in levels:
                space, next_sweep = slow(line, arrival, out, space)
                continue
            # ``…:15.123Z`` (the storagenode's own millisecond stamps): parse_timestamp's
            # arithmetic inlined, the head's seconds (the last line's, or one it has read
            # once) plus the fraction from a table; no whole-second cache lookup first (such
            # a stamp is never in it)
            if len(ts_text) == 24 and (fraction := millis_z.get(ts_text[19:])) is not None:
                head = ts_text[:19]
                if head != last_head and (secs := heads.get(head)) is not None:
                    last_head, last_secs = head, secs
                timestamp = last_secs + fraction if head == last_head else None
            else:
                timestamp = None
            if timestamp is not None:
                fine = True
                if not window_start <= timestamp <= window_end:
                    space, next_sweep = slow(line, arrival, out, space)
                    continue
            elif (timestamp := ts_cache.get(ts_text)) is not None:
                fine = False  # ts_cache holds stamps without a fraction only
            else:
                # ``…:15.1Z`` to ``…:15.123456789Z``: as above, the fraction sliced off
                fine = False
                secs = heads.get(ts_text[:19])
                rest = ts_text[19:]
                if (
                    secs is not None
                    and rest[:1] == "."
                    and rest[-1:] == "Z"
                    and 4 < len(rest) < 22
                    and rest[1:-1].isdecimal()
                ):
                    timestamp, fine = secs + float(rest[:-1]), True
                else:
                    timestamp = parse_ts(ts_text)
                    if timestamp is not None:
                        if ts_text[19:20] in marks:  # parser.has_subsecond, inlined
                            fine = len(ts_text) > 22 and ts_text[20:23].isdigit()
                        elif window_start <= timestamp <= window_end:  # as the parser does
                            if len(ts_cache) >= TS_CACHE_MAX:
                                ts_cache.clear()
                            ts_cache[ts_text] = timestamp
                if timestamp is None or not window_start <= timestamp <= window_end:
                    space, next_sweep = slow(line, arrival, out, space)
                    continue
            try:
                fields = _loads(fields_text)
            except _JSONDecodeError:
                fields = None
            if type(fields) is not dict:
                space, next_sweep = slow(line, arrival, out, space)
                continue
            try:  # a missing key: the parser's .get gives None, which it does not take either
                if "piece_id" in fields:  # v1.146 and later
                    action, piece_id = fields["action"], fields["piece_id"]
                    satellite_id, remote_addr = fields["satellite_id"], fields["remote_address"]
                    size = fields.get("size")
                else:
                    action, piece_id = fields["Action"], fields["Piece ID"]
                    satellite_id, remote_addr = fields["Satellite ID"], fields["Remote Address"]
                    size = fields.get("Size")
            except KeyError:
                space, next_sweep = slow(line, arrival, out, space)
                continue
            if (
                type(action) is not str
                or type(piece_id) is not str
                or type(satellite_id) is not str
                or type(remote_addr) is not str
                or (size is not None and (type(size) is not int or not 0 <= size <= max_size))
            ):
                space, next_sweep = slow(line, arrival, out, space)
                continue
            starts, status, twin = spec
            if twin and level == "DEBUG" and piece_id in race_lost:
                space, next_sweep = slow(line, arrival, out, space)  # not an event
                continue
            key = (piece_id, satellite_id, action, remote_addr)
            if timestamp >= next_sweep:
                next_sweep = pairer.sweep(timestamp)
            if starts:  # a start line: remembered by the pairer
                free = fields.get("Available Space", fields.get("available_space"))
                if free is not None:
                    if type(free) is not int:
                        space, next_sweep = slow(line, arrival, out, space)
                        continue
                    space = (timestamp, free)
                pending = len(waiting)
                waiting[key] = entry = (timestamp, None, arrival, fine)
                if len(waiting) == pending:  # a repeated start replaces the old one, at the back
                    del waiting[key]
                    waiting[key] = entry
                elif pending >= max_pending:
                    pairer.bound()
                continue
            error = fields.get("error")
            if error is None and status == "canceled":
                error = fields.get("reason")
            if error is not None:
                if type(error) is not str:
                    error = str(error)
                category = categorize_error(error)
            else:
                category = None
            cut = remote_addr.rfind(":")  # "ip:port": the ip (else split_remote_ip's way)
            remote_ip = remote_addr[:cut] if cut > 0 else None
            if remote_ip is None or ":" in remote_ip:
                remote_ip = split_remote_ip(remote_addr)
            # Pairer.finish inlined; this line has no docker time, so no "precise" duration.
            started = take(key, None)
            if started is None:
                unmatched += 1
                duration_ms = source = None
            else:
                paired += 1
                start_ts, _precise, start_arrival, start_fine = started
                if fine and start_fine:
                    duration_ms, source = (timestamp - start_ts) * 1000.0, "log_millis"
                elif arrival is not None and start_arrival is not None:
                    duration_ms, source = (arrival - start_arrival) * 1000.0, "arrival"
                else:
                    duration_ms, source = (timestamp - start_ts) * 1000.0, "log_seconds"
                if duration_ms < 0.0:
                    duration_ms = 0.0
            # Interned: the same few strings on every row (cheap to pickle, hash and store).
            add_row((
                timestamp, node, intern(action), status, size, intern(satellite_id), piece_id,
                remote_ip,
                error, category, duration_ms, source,
            ))  # fmt: skip
        parser = self.parser
        parser.piece_lines += len(lines) - (parser.lines - parser_lines)
        pairer.paired += paired
        pairer.unmatched += unmatched
        out.available_space = space
        if self.parser.rejected_lines:
            out.bad, self.parser.rejected_lines = self.parser.rejected_lines, []
        return out

    def _slow_line(
        self,
        line: str,
        arrival: float | None,
        out: ProcessedRows,
        space: tuple[float, int] | None,
    ) -> tuple[tuple[float, int] | None, float]:
        """Any line through the full parser and pairer.

        Returns the newest available space and the pairer's next sweep time (which
        ``Pairer.feed`` may have moved)."""
        pairer = self.pairer
        item = self.parser.parse(line)
        if item is None:
            return space, pairer.next_sweep
        if type(item) is PieceLine:
            event = pairer.feed(item, arrival)
            if event is not None:
                out.rows.append(_event_row(event))
            elif item.available_space is not None:
                space = (item.timestamp, item.available_space)
        else:
            out.records.append(item)
        return space, pairer.next_sweep

    @property
    def lines(self) -> int:
        return int(self.parser.lines)

    @property
    def unparseable(self) -> int:
        return int(self.parser.unparseable)

    @property
    def ignored(self) -> int:
        return int(self.parser.ignored)

    @property
    def rejected(self) -> int:
        """Bad lines (time outside the sane window, negative size) seen so far."""
        return int(self.parser.rejected)

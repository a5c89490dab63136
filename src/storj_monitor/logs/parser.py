"""Storagenode log lines -> piece lines (to be paired into events) and typed records.

Pure: no I/O, no clock, never raises (a line that cannot be read is counted, not thrown).

Shapes understood (see docs/reference storj-log-format.md):

* console: ``TS<TAB>LEVEL<TAB>[LOGGER<TAB>][CALLER<TAB>]MESSAGE<TAB>{JSON}``;
* ``--log.encoding=json``: ``{"L": level, "T": time, "N": logger, "M": message, ...fields}``;
* docker's json-file wrapper ``{"log": "<line>\\n", "stream": ..., "time": "<RFC3339Nano>"}``
  and the ``docker logs -t`` prefix ``<RFC3339Nano> <line>``: the docker stamp becomes
  ``precise_ts`` (nanosecond receipt time, which pairing prefers for durations);
* journald / syslog prefixes (``Nov 28 10:30:15 host storagenode[1]: <line>``);
* CRLF endings, every zap level, both field dialects (``"Piece ID"`` before v1.146,
  ``"piece_id"`` after), duplicate keys (the last wins), ``"NaN"`` strings.

The common piece lines take a fast path: one ``split("\\t")``, one dict lookup on the message,
one ``orjson.loads`` of the fields, key lookups chosen by dialect, and the timestamp (cached
when whole seconds; otherwise its second from a cache and its fraction sliced off).
(``logs.pipeline.LineProcessor.process_rows`` repeats this fast path inline for ingest,
with the same tables: ``PIECE_MESSAGES``, ``LEVELS``, ``LineParser.ts_cache``.)
Everything else goes through the record table (``logs.records``, :data:`RECORD_KINDS`),
where keys are normalised to snake_case. Times are UTC unix seconds, sizes bytes, durations ms.

Bad lines (``logs.rejects``): a time outside the sane window (:meth:`LineParser.set_now`) or
a negative size; only in-window times enter the timestamp cache, so fast paths never see them.
"""

from __future__ import annotations

from typing import Any

import orjson

from storj_monitor.logs.errors import categorize_error
from storj_monitor.logs.piece_lines import (
    CALLER_TAIL,
    CANCELED,
    DELETE,
    LEVEL_ALIASES,
    LEVELS,
    PIECE_MESSAGES,
    PLAIN,
    RACE_LOST_ACTION,
    RACE_MEMORY,
    SUPERVISORD,
    TS_CACHE_MAX,
    UPLOAD_FAILED,
    ZAP_JSON_KEYS,
    PieceLine,
    as_int,
    as_str,
    epoch_seconds,
    split_remote_ip,
)
from storj_monitor.logs.records import RECORD_KINDS, build_record, record_kind, snake_key
from storj_monitor.logs.rejects import (
    BAD_SIZE,
    BAD_TIME,
    MAX_REJECTED_CHARS,
    MAX_SIZE,
    RejectedLineError,
)
from storj_monitor.logs.timestamps import (
    FRACTION_MARKS,
    has_subsecond,
    parse_timestamp,
    sane_window,
    split_wrapper_prefix,
    wrapper_prefix_time,
)
from storj_monitor.model import LogRecord, Status

_loads = orjson.loads

__all__ = ["LEVELS", "PIECE_MESSAGES", "PLAIN", "RECORD_KINDS", "LineParser", "PieceLine",
           "snake_key", "split_remote_ip"]  # fmt: skip


class LineParser:
    """Parses the lines of one node's log. Keeps a little state (timestamp cache, the last
    race-lost downloads) and counters; one instance per log source.

    Counters: ``lines`` seen, ``piece_lines`` and ``records`` returned, ``ignored`` (valid
    lines not worth keeping: debug chatter, supervisord, updater, duplicates),
    ``unparseable`` (not a log line: stack frames, garbage, broken JSON on a piece line),
    ``rejected`` (bad lines: a time outside the sane window, a negative size; each also in
    ``rejected_lines`` as (line, reason) until the pipeline takes them).
    """

    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        self.piece_lines = 0
        self.records = 0
        self.ignored = 0
        self.unparseable = 0
        self.rejected = 0
        self.rejected_by_reason: dict[str, int] = {}
        self.rejected_lines: list[tuple[str, str]] = []
        #: Log times believed (UTC unix seconds, inclusive); see :meth:`set_now`.
        self.window_start, self.window_end = sane_window(None)
        #: Lines that hit a bug here (counted as unparseable too); the fuzz tests keep it 0.
        self.internal_errors = 0
        #: log time text -> UTC unix seconds of stamps without a fraction, which repeat line
        #: after line (stamps with one are nearly all different: never cached here).
        #: Shared (never replaced) with the pipeline's fast path.
        self.ts_cache: dict[str, float] = {}
        #: Piece ids of recent race-lost transfers, whose DEBUG ``download canceled`` /
        #: ``upload failed`` twin must not become a second event (the oldest race-lost
        #: lines carry only the piece id, so the id alone is the key). Shared (never
        #: replaced) with the pipeline's fast path, which only reads it.
        self.race_lost: dict[str | None, None] = {}

    @property
    def lines(self) -> int:
        """Lines seen: every line lands in exactly one of the five counters."""
        return self.piece_lines + self.records + self.ignored + self.unparseable + self.rejected

    def set_now(self, now: float) -> None:
        """Believe log times up to a day after ``now`` (UTC unix seconds) from here on."""
        start, end = sane_window(now)
        if end < self.window_end:  # the clock went back: cached times may be too new now
            self.ts_cache.clear()
        self.window_start, self.window_end = start, end

    def _in_window(self, timestamp: float | None) -> float | None:
        """A wrapper's (docker) time, or None when it is outside the sane window."""
        if timestamp is not None and not self.window_start <= timestamp <= self.window_end:
            return None
        return timestamp

    def parse(self, line: str) -> PieceLine | LogRecord | None:
        """One physical line (with or without its line ending) -> a piece line, a record or None."""
        try:
            result = self._parse(line, None)
            if type(result) is PieceLine:
                self.piece_lines += 1
                return result
        except orjson.JSONDecodeError:  # a piece line with broken JSON
            result = False
        except RejectedLineError as exc:
            reason = exc.args[0]
            self.rejected += 1
            self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + 1
            self.rejected_lines.append((line.rstrip("\r\n")[:MAX_REJECTED_CHARS], reason))
            return None
        except Exception:  # a parser bug costs one line, never the pipeline
            self.internal_errors += 1
            result = False
        if result is None:
            self.ignored += 1
            return None
        if result is False or result is True:
            self.unparseable += 1
            return None
        self.records += 1
        return result

    def _timestamp(self, text: str) -> float | None:
        """:func:`parse_timestamp` for the log's own time column, cached unless the stamp
        has a fraction."""
        cache = self.ts_cache
        timestamp = cache.get(text)
        if timestamp is None:
            timestamp = parse_timestamp(text)
            if timestamp is not None:
                if not self.window_start <= timestamp <= self.window_end:
                    raise RejectedLineError(BAD_TIME)
                if text[19:20] in FRACTION_MARKS:  # nearly all different: not cached
                    return timestamp
                if len(cache) >= TS_CACHE_MAX:
                    cache.clear()
                cache[text] = timestamp
        return timestamp

    # -- shapes ------------------------------------------------------------------------------

    def _parse(self, line: str, precise: float | None) -> PieceLine | LogRecord | bool | None:
        """None = ignored, False = unparseable.

        Fast path: a plain console piecestore line (nearly all of them), whatever the
        precision of its stamp. A trailing line ending sits after the JSON column, where
        orjson skips it.
        """
        parts = line.split("\t")
        if len(parts) == 5:
            ts_text, level, logger, message, fields_text = parts
            if logger == "piecestore":
                spec = PIECE_MESSAGES.get(message)
                if spec is not None and level in LEVELS and fields_text[:1] == "{":
                    timestamp = self._timestamp(ts_text)
                    if timestamp is not None:
                        fine = has_subsecond(ts_text)
                        fields = _loads(fields_text)
                        return self._piece(timestamp, precise, level, spec, fields, fine)
        elif len(parts) == 1 and line[:1] == "{":
            return self._parse_json(line, precise)  # docker json-file, --log.encoding=json
        return self._parse_any(line, precise)

    def _parse_any(self, line: str, precise: float | None) -> PieceLine | LogRecord | bool | None:
        """Every other shape: prefixes, caller column, records, untabbed lines."""
        line = line.rstrip("\r\n")
        parts = line.split("\t")
        if len(parts) < 3:
            return self._parse_untabbed(line, precise)
        ts_text = parts[0]
        timestamp = self._timestamp(ts_text)
        if timestamp is None:
            ts_text, prefix_ts = split_wrapper_prefix(ts_text)
            timestamp = self._timestamp(ts_text)
            if timestamp is None:
                return False
            if precise is None:
                precise = self._in_window(prefix_ts)
        level = parts[1]
        if level not in LEVELS:
            level = LEVEL_ALIASES.get(level.upper(), level.upper())
            if level not in LEVELS:
                return False
        last = parts[-1]
        if last[:1] == "{":
            fields_text: str | None = last
            middle = parts[2:-1]
        else:
            fields_text = None
            middle = parts[2:]
        if len(middle) == 2:
            logger, message = middle
            if logger.endswith(CALLER_TAIL) and ".go:" in logger:
                logger = ""  # root logger with --log.caller
        elif len(middle) == 1:
            logger, message = "", middle[0]
        elif len(middle) >= 3:
            logger, message = middle[0], middle[-1]
        else:
            return False

        spec = PIECE_MESSAGES.get(message)
        if spec is not None and logger == "piecestore":
            if fields_text is None:
                return False
            try:
                fields = orjson.loads(fields_text)
            except orjson.JSONDecodeError:
                return False
            if type(fields) is not dict:
                return False
            return self._piece(timestamp, precise, level, spec, fields, has_subsecond(ts_text))
        return self._record(timestamp, level, logger, message, fields_text)

    def _parse_untabbed(
        self, line: str, precise: float | None
    ) -> PieceLine | LogRecord | bool | None:
        """JSON encodings, docker wrappers, prefixes in front of them, and non-log lines."""
        if not line.strip() or SUPERVISORD.match(line):
            return None
        start = line.find("{")
        if start < 0 or (start > 0 and line[start - 1] != " "):
            return False  # stack frames, panics, "Error: ..." output, shell noise
        if start > 0:
            # "<docker -t stamp> {json}" or "<journald prefix> {json}"
            prefix_ts = self._in_window(wrapper_prefix_time(line[:start]))
            return self._parse(line[start:], precise if precise is not None else prefix_ts)
        return self._parse_json(line, precise)

    def _parse_json(self, line: str, precise: float | None) -> PieceLine | LogRecord | bool | None:
        """A line that is one JSON object: docker's json-file wrapper or zap's JSON encoding."""
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        if type(obj) is not dict:
            return False
        inner = obj.get("log")
        if isinstance(inner, str) and "M" not in obj:
            # docker json-file: {"log": "<line>\n", "stream": "stdout", "time": "...Z"}
            if inner.startswith('{"log"'):
                return False  # docker never nests its wrapper; refuse deep recursion
            docker_ts = self._in_window(parse_timestamp(obj.get("time")))
            return self._parse(inner, docker_ts if docker_ts is not None else precise)
        return self._zap_json(obj, precise)

    def _zap_json(
        self, obj: dict[str, Any], precise: float | None
    ) -> PieceLine | LogRecord | bool | None:
        """``--log.encoding=json``: ``{"L": ..., "T": ..., "N": ..., "M": ..., fields...}``."""
        message = obj.get("M")
        level = obj.get("L")
        if not isinstance(message, str) or not isinstance(level, str):
            return False
        level = level.upper()
        level = LEVEL_ALIASES.get(level, level)
        if level not in LEVELS:
            return False
        raw_ts = obj.get("T")
        if isinstance(raw_ts, (int, float)) and not isinstance(raw_ts, bool):
            timestamp: float | None = epoch_seconds(raw_ts)
            if timestamp is not None and not self.window_start <= timestamp <= self.window_end:
                raise RejectedLineError(BAD_TIME)
            fine = isinstance(raw_ts, float) or raw_ts > 1e11  # float seconds, millis, nanos
        elif isinstance(raw_ts, str):
            timestamp, fine = self._timestamp(raw_ts), has_subsecond(raw_ts)
        else:
            timestamp = None
        if timestamp is None:
            return False
        logger = obj.get("N") or ""
        if not isinstance(logger, str):
            return False
        spec = PIECE_MESSAGES.get(message)
        if spec is not None and logger == "piecestore":
            return self._piece(timestamp, precise, level, spec, obj, fine)
        fields = {k: v for k, v in obj.items() if k not in ZAP_JSON_KEYS}
        return self._record(timestamp, level, logger, message, fields)

    # -- piece lines -------------------------------------------------------------------------

    def _piece(
        self,
        timestamp: float,
        precise: float | None,
        level: str,
        spec: tuple[bool, Status | None, int],
        fields: dict[str, Any],
        fine: bool,
    ) -> PieceLine | bool | None:
        if type(fields) is not dict:
            return False
        if "piece_id" in fields:  # v1.146 and later
            action = fields.get("action")
            piece_id = fields.get("piece_id")
            satellite_id = fields.get("satellite_id")
            size = fields.get("size")
            remote_addr = fields.get("remote_address")
        else:
            action = fields.get("Action")
            piece_id = fields.get("Piece ID")
            satellite_id = fields.get("Satellite ID")
            size = fields.get("Size")
            remote_addr = fields.get("Remote Address")
        started, status, special = spec
        if type(action) is not str:
            if special == DELETE:
                action = "DELETE"
            elif special in RACE_LOST_ACTION:
                action = RACE_LOST_ACTION[special]
            else:
                return False
        if type(piece_id) is not str and piece_id is not None:
            piece_id = str(piece_id)
        if type(satellite_id) is not str and satellite_id is not None:
            satellite_id = str(satellite_id)
        if type(size) is not int and size is not None:
            size = as_int(size)
        if size is not None and not 0 <= size <= MAX_SIZE:
            raise RejectedLineError(BAD_SIZE)
        if type(remote_addr) is str:
            host, sep, _port = remote_addr.rpartition(":")
            remote_ip = host if sep and host and ":" not in host else split_remote_ip(remote_addr)
        else:
            remote_addr = remote_ip = None

        if special:
            race_lost = self.race_lost
            twin = special in (CANCELED, UPLOAD_FAILED)
            if twin and level == "DEBUG" and piece_id in race_lost:
                del race_lost[piece_id]
                return None  # the race-lost line already counted this transfer
            if special in RACE_LOST_ACTION:
                race_lost[piece_id] = None
                if len(race_lost) > RACE_MEMORY:
                    del race_lost[next(iter(race_lost))]

        if started:
            space = fields.get("Available Space", fields.get("available_space"))
            if space is not None and type(space) is not int:
                space = as_int(space)
            return PieceLine(
                True, timestamp, precise, level, action, None, size, satellite_id, piece_id,
                remote_ip, remote_addr, None, None, space, fine,
            )  # fmt: skip
        error = fields.get("error")
        if error is None and status == "canceled":
            error = fields.get("reason")
        if error is not None:
            error = as_str(error)
            category = categorize_error(error)
        else:
            category = None
        return PieceLine(
            False, timestamp, precise, level, action, status, size, satellite_id, piece_id,
            remote_ip, remote_addr, error, category, None, fine,
        )  # fmt: skip

    # -- records -----------------------------------------------------------------------------

    def _record(
        self,
        timestamp: float,
        level: str,
        logger: str,
        message: str,
        fields_source: str | dict[str, Any] | None,
    ) -> LogRecord | None:
        """A kept non-piece line, or None; its JSON is read only when the message matters."""
        kind = record_kind(logger, message)
        if kind is None:
            return None
        if isinstance(fields_source, str):
            try:
                raw = orjson.loads(fields_source)
            except orjson.JSONDecodeError:
                raw = {}  # keep the message even when its fields are cut off
        else:
            raw = fields_source
        return build_record(self.node_name, timestamp, kind, level, message, raw)

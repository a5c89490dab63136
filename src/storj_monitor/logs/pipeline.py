"""Lines → events and records: the parser and the pairer wired together (pure, no I/O).

Shared by the live follower and the historical import so both compute the same events,
durations included. This loop runs once per log line, so it is written for speed: bound
methods in locals, one type check per parsed line, no per-line allocation of our own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storj_monitor.logs.pairing import Pairer
from storj_monitor.logs.parser import LineParser, PieceLine
from storj_monitor.model import Event, LogRecord


@dataclass(slots=True)
class Processed:
    """What a run of lines produced."""

    events: list[Event] = field(default_factory=list)
    records: list[LogRecord] = field(default_factory=list)
    #: (log timestamp, free bytes) of the newest ``upload started`` line that said it.
    available_space: tuple[float, int] | None = None


class LineProcessor:
    """Parses and pairs the lines of one node, keeping the pairing state between calls."""

    def __init__(self, node_name: str, *, max_pending: int, ttl_seconds: float):
        self.node_name = node_name
        self.parser = LineParser(node_name)
        self.pairer = Pairer(node_name, max_pending, ttl_seconds)

    def process(self, lines: list[str], arrival: float | None = None) -> Processed:
        """Parse and pair ``lines``; ``arrival`` (UTC unix seconds) when they were read live."""
        out = Processed()
        events = out.events
        records = out.records
        add_event = events.append
        add_record = records.append
        parse = self.parser.parse
        feed = self.pairer.feed
        piece_type = PieceLine
        space: PieceLine | None = None
        for line in lines:
            item = parse(line)
            if item is None:
                continue
            if type(item) is piece_type:
                ev = feed(item, arrival)
                if ev is not None:
                    add_event(ev)
                elif item.available_space is not None:
                    space = item
            else:
                add_record(item)  # type: ignore[arg-type]
        if space is not None and space.available_space is not None:
            out.available_space = (space.timestamp, space.available_space)
        return out

    @property
    def lines(self) -> int:
        return int(self.parser.lines)

    @property
    def unparseable(self) -> int:
        return int(self.parser.unparseable)

    @property
    def ignored(self) -> int:
        return int(self.parser.ignored)

"""Per-minute and per-hour aggregates of piece operations: the write path.

Reads and retention of these tables are in :mod:`storj_monitor.store.rollup_queries`.

Why: a day at 200 operations/s is 17 M raw events; percentiles, success rates and bandwidth
over long windows must be sums over a few thousand aggregate rows instead. The ingest
writer calls :func:`write_rollups` in the SAME transaction as the raw event insert, so the
aggregates never disagree with the events after a crash.

* ``rollups_minute`` / ``rollups_hour``: one row per (node_name, bucket_start, satellite_id
  or '', action, status, error_category or ''): ``count``, ``bytes`` (sum of sizes),
  ``duration_count``/``duration_sum_ms``/min/max over the operations that had a duration,
  and where those durations came from (``precise_count``, ``arrival_count``,
  ``log_seconds_count``, ``field_count``, ``log_millis_count``).
* ``latency_minute`` / ``latency_hour``: the same sums per (node_name, bucket_start,
  action) only, plus the latency histogram (analytics.sketch blob, log-spaced buckets;
  NULL when no operation had a duration). Latency statistics read only these, so a week
  of percentiles reads ~1,000 rows, not ~30,000.

Times are UTC unix seconds, durations ms, sizes bytes. The aggregation is vectorised with
numpy (the ingest target is 200,000 lines/s); the rows already stored for the batch's
buckets are read back and merged in the same numpy pass (histograms add counts per
bucket), then replaced.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from itertools import count as _counter
from itertools import pairwise, repeat
from operator import itemgetter
from typing import Any

import numpy as np

from storj_monitor.analytics import sketch
from storj_monitor.model import Event

MINUTE = 60
HOUR = 3600
TABLES: dict[int, str] = {MINUTE: "rollups_minute", HOUR: "rollups_hour"}
LATENCY_TABLES: dict[int, str] = {MINUTE: "latency_minute", HOUR: "latency_hour"}

#: Duration sources in the order of the ``*_count`` columns (``log_millis`` came with
#: schema v4, so its column is the last); index ``len(SOURCES)`` = no source.
SOURCES: tuple[str, ...] = ("precise", "arrival", "log_seconds", "field", "log_millis")
_NS = len(SOURCES)
_SOURCE_CODE: dict[str | None, int] = {s: i for i, s in enumerate(SOURCES)}

KEY_COLUMNS = ("node_name", "bucket_start", "satellite_id", "action", "status", "error_category")
VALUE_COLUMNS = (
    "count",
    "bytes",
    "duration_count",
    "duration_sum_ms",
    "duration_min_ms",
    "duration_max_ms",
    *(f"{s}_count" for s in SOURCES),
)
_ALL_COLUMNS = ", ".join((*KEY_COLUMNS, *VALUE_COLUMNS))
_N_COLUMNS = len(KEY_COLUMNS) + len(VALUE_COLUMNS)
_REPLACE = {
    t: f"INSERT OR REPLACE INTO {t} ({_ALL_COLUMNS}) VALUES ({', '.join('?' * _N_COLUMNS)})"
    for t in TABLES.values()
}
_EXISTING = {
    t: f"SELECT {_ALL_COLUMNS} FROM {t} WHERE node_name = ? AND bucket_start = ?"
    for t in TABLES.values()
}
_LATENCY_COLUMNS = ", ".join(("node_name", "bucket_start", "action", *VALUE_COLUMNS, "hist"))
_LATENCY_REPLACE = {
    t: f"INSERT OR REPLACE INTO {t} ({_LATENCY_COLUMNS}) "
    f"VALUES ({', '.join('?' * (4 + len(VALUE_COLUMNS)))})"
    for t in LATENCY_TABLES.values()
}
_LATENCY_EXISTING = {
    t: f"SELECT {_LATENCY_COLUMNS} FROM {t} WHERE node_name = ? AND bucket_start = ?"
    for t in LATENCY_TABLES.values()
}
# Positions of the aggregation columns (time, node, satellite, action, status, error
# category, size, duration, source) in an events row tuple (store.events column order).
_ROW_GETTERS = tuple(itemgetter(i) for i in (0, 1, 5, 2, 3, 9, 4, 10, 11))
_COUNT_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype("<u1"),
    2: np.dtype("<u2"),
    4: np.dtype("<u4"),
}


def write_rollups(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Add a batch of events to the rollups and latency histograms (inside the caller's
    transaction; outside one, it opens its own)."""
    if not events:
        return
    cols: list[list[Any]] = [
        [e.timestamp for e in events],
        [e.node_name for e in events],
        [e.satellite_id for e in events],
        [e.action for e in events],
        [e.status for e in events],
        [e.error_category for e in events],
        [e.size for e in events],
        [e.duration_ms for e in events],
        [e.duration_source for e in events],
    ]
    _write_columns(conn, cols)


def write_rollup_rows(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """:func:`write_rollups` for events given as row tuples (``store.events.event_rows``)."""
    if rows:
        _write_columns(conn, [list(map(get, rows)) for get in _ROW_GETTERS])


def _write_columns(conn: sqlite3.Connection, cols: Sequence[Sequence[Any]]) -> None:
    """Aggregate the batch per (key, minute) and (key, hour), merge with the rows already
    stored for those buckets, and write the results.

    Safe because the caller's write transaction holds the database's only write lock
    between the read-back and the write.
    """
    if not conn.in_transaction:  # the read-merge-replace must not interleave with a writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            _write_columns(conn, cols)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return
    ts_col, node_col, sat_col, action_col, status_col, err_col, size_col, dur_col, src_col = cols
    n = len(ts_col)
    ts = np.array(ts_col, dtype=np.float64)
    sizes = np.nan_to_num(np.array(size_col, dtype=np.float64), nan=0.0)
    durations = np.array(dur_col, dtype=np.float64)  # None -> NaN
    d_idx = np.flatnonzero(~np.isnan(durations))
    sources = np.fromiter(map(_SOURCE_CODE.get, src_col, repeat(_NS)), np.int64, n)[d_idx]
    # Factorise the string key: id = position of the key's first occurrence in the batch.
    codes: dict[tuple[Any, ...], int] = {}
    key_ids = np.fromiter(
        map(
            codes.setdefault,
            zip(node_col, sat_col, action_col, status_col, err_col, strict=True),
            _counter(),
        ),
        np.int64,
        n,
    )
    # compact key ids 0..K-1 (first positions are increasing, so searchsorted maps them)
    keys = list(codes)
    key_ids = np.searchsorted(np.fromiter(codes.values(), np.int64, len(codes)), key_ids)
    # (node, action) of each key, for the latency histograms
    pair_codes: dict[tuple[str, str], int] = {}
    pair_of_key = np.array(
        [pair_codes.setdefault((k[0], k[2]), len(pair_codes)) for k in keys], np.int64
    )
    pairs = list(pair_codes)
    d_vals = durations[d_idx]
    pair_ids = pair_of_key[key_ids]
    d_buckets = sketch.bucket_indexes(d_vals).astype(np.int64) - sketch.ZERO_INDEX  # >= 0
    for seconds, table in TABLES.items():
        starts = np.floor(ts / seconds) * seconds
        batch = _Batch(starts, seconds, key_ids, keys, _rollup_key, sizes, d_idx, d_vals, sources)
        batch.merge_stored(conn, _EXISTING[table], len(KEY_COLUMNS))
        conn.executemany(_REPLACE[table], batch.rows())
        lat_table = LATENCY_TABLES[seconds]
        lat = _LatencyBatch(
            starts, seconds, pair_ids, pairs, _latency_key, sizes, d_idx, d_vals, sources
        )
        lat.add_cells(d_buckets)
        lat.merge_stored(conn, _LATENCY_EXISTING[lat_table], 3)
        conn.executemany(_LATENCY_REPLACE[lat_table], lat.rows())


def _rollup_key(k: tuple[Any, ...], start: float) -> tuple[Any, ...]:
    return (k[0], start, k[1] or "", k[2], k[3], k[4] or "")


def _latency_key(k: tuple[Any, ...], start: float) -> tuple[Any, ...]:
    return (k[0], start, k[1])


#: The dense grouping's table may have this many cells per row of the batch (at least
#: ``_DENSE_MIN_CELLS``); beyond, a batch spread over a long time span is grouped by sorting.
_DENSE_CELLS_PER_ROW = 64
_DENSE_MIN_CELLS = 1 << 20


def _groups(
    starts: np.ndarray, seconds: int, ids: np.ndarray, n_ids: int
) -> tuple[np.ndarray, list[int], list[float]]:
    """Group positions by (id, time bucket) (ids are 0..n_ids-1, starts multiples of
    ``seconds``): (group of each position, id of each group, start of each group), groups
    ordered by id then start.

    Without sorting when the batch's ids × time buckets table is small (the normal case: a
    batch covers seconds to hours); its size is bounded by the row count, never by the time
    span, so one row dated 0001 or 9999 cannot make it allocate gigabytes.
    """
    s0 = float(starts.min())
    span = (float(starts.max()) - s0) / seconds + 1.0
    if not span * n_ids <= max(_DENSE_MIN_CELLS, _DENSE_CELLS_PER_ROW * starts.size):
        return _sorted_groups(starts, ids)  # also NaN or infinite times
    codes = np.rint((starts - s0) / seconds).astype(np.int64)
    m = int(codes.max()) + 1
    combined = ids * m + codes
    present = np.bincount(combined, minlength=n_ids * m) > 0
    inverse = (np.cumsum(present) - 1)[combined]
    groups = np.flatnonzero(present)
    return inverse, (groups // m).tolist(), (s0 + (groups % m) * float(seconds)).tolist()


def _sorted_groups(
    starts: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, list[int], list[float]]:
    """:func:`_groups` by sorting: memory O(rows) whatever the time span."""
    order = np.lexsort((starts, ids))
    s_ids, s_starts = ids[order], starts[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = (s_ids[1:] != s_ids[:-1]) | (s_starts[1:] != s_starts[:-1])
    inverse = np.empty(order.size, np.int64)
    inverse[order] = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    return inverse, s_ids[first].tolist(), s_starts[first].tolist()


class _Batch:
    """One batch aggregated per group (key, time bucket): numpy arrays indexed by group."""

    def __init__(
        self,
        starts: np.ndarray,
        seconds: int,
        ids: np.ndarray,
        labels: Sequence[tuple[Any, ...]],
        make_key: Callable[[tuple[Any, ...], float], tuple[Any, ...]],
        sizes: np.ndarray,
        d_idx: np.ndarray,
        d_vals: np.ndarray,
        sources: np.ndarray,
    ) -> None:
        inverse, group_ids, group_starts = _groups(starts, seconds, ids, len(labels))
        g = self.n_groups = len(group_ids)
        self.keys: list[tuple[Any, ...]] = [
            make_key(k, st)
            for k, st in zip(map(labels.__getitem__, group_ids), group_starts, strict=True)
        ]
        g_d = self.g_d = inverse[d_idx]
        self.count = np.bincount(inverse, minlength=g)
        self.bytes = np.bincount(inverse, weights=sizes, minlength=g).astype(np.float64)
        self.d_count = np.bincount(g_d, minlength=g)
        self.d_sum = np.bincount(g_d, weights=d_vals, minlength=g).astype(np.float64)
        self.d_min = np.full(g, np.nan)
        self.d_max = np.full(g, np.nan)
        if d_vals.size:
            lo = np.full(g, np.inf)
            hi = np.full(g, -np.inf)
            np.minimum.at(lo, g_d, d_vals)
            np.maximum.at(hi, g_d, d_vals)
            has = self.d_count > 0
            self.d_min[has] = lo[has]
            self.d_max[has] = hi[has]
        ns = _NS + 1
        self.src = np.bincount(g_d * ns + sources, minlength=g * ns).reshape(g, ns)[:, :_NS]

    def merge_stored(
        self, conn: sqlite3.Connection, sql: str, width: int
    ) -> list[tuple[int, tuple[Any, ...]]]:
        """Add the rows already stored for this batch's keys (same node and bucket; the
        first ``width`` columns are the key); returns them (group, row)."""
        found = _stored(conn, sql, self.keys, width)
        if not found:
            return found
        idx = np.fromiter((i for i, _ in found), np.int64, len(found))
        end = width + len(VALUE_COLUMNS)
        rows = np.array([r[width:end] for _, r in found], dtype=np.float64)  # None -> NaN
        self.count[idx] += rows[:, 0].astype(np.int64)
        self.bytes[idx] += rows[:, 1]
        self.d_count[idx] += rows[:, 2].astype(np.int64)
        self.d_sum[idx] += rows[:, 3]
        self.d_min[idx] = np.fmin(self.d_min[idx], rows[:, 4])
        self.d_max[idx] = np.fmax(self.d_max[idx], rows[:, 5])
        self.src[idx] += rows[:, 6 : 6 + _NS].astype(np.int64)
        return found

    def values(self) -> list[tuple[Any, ...]]:
        """The value columns (``VALUE_COLUMNS`` order) of every group."""
        return list(
            zip(
                self.count.tolist(),
                self.bytes.astype(np.int64).tolist(),
                self.d_count.tolist(),
                self.d_sum.tolist(),
                [None if v != v else v for v in self.d_min.tolist()],
                [None if v != v else v for v in self.d_max.tolist()],
                *(self.src[:, j].tolist() for j in range(_NS)),
                strict=True,
            )
        )

    def rows(self) -> list[tuple[Any, ...]]:
        """Complete rows (key columns, then value columns) for INSERT OR REPLACE."""
        return [(*k, *v) for k, v in zip(self.keys, self.values(), strict=True)]


def _stored(
    conn: sqlite3.Connection, sql: str, keys: list[tuple[Any, ...]], width: int
) -> list[tuple[int, tuple[Any, ...]]]:
    """(group, stored row) for each key already in the table; ``width`` key columns."""
    wanted = {k: i for i, k in enumerate(keys)}
    found = []
    for node, start in {(k[0], k[1]) for k in keys}:
        for row in conn.execute(sql, (node, start)):
            i = wanted.get(tuple(row[:width]))
            if i is not None:
                found.append((i, row))
    return found


class _LatencyBatch(_Batch):
    """Per (node, time bucket, action): the same sums plus the latency histogram."""

    def add_cells(self, buckets: np.ndarray) -> None:
        """Histogram cells ``group << 16 | bucket`` (one per duration, merged later)."""
        self.cell_keys = self.g_d * 65536 + buckets
        self.cell_counts = np.ones(self.cell_keys.size, np.int64)

    def merge_stored(
        self, conn: sqlite3.Connection, sql: str, width: int
    ) -> list[tuple[int, tuple[Any, ...]]]:
        found = super().merge_stored(conn, sql, width)
        hist_at = width + len(VALUE_COLUMNS)
        keys, counts = [self.cell_keys], [self.cell_counts]
        for count_width, dtype in _COUNT_DTYPES.items():
            groups, idx_parts, cnt_parts, sizes = [], [], [], []
            for i, r in found:
                blob = r[hist_at]
                if not blob or blob[0] != count_width:
                    continue
                m, rest = divmod(len(blob) - 1, 2 + count_width)
                if rest:
                    continue  # corrupt: drop the stored histogram rather than fail ingest
                groups.append(i)
                sizes.append(m)
                idx_parts.append(blob[1 : 1 + 2 * m])
                cnt_parts.append(blob[1 + 2 * m :])
            if not groups:
                continue
            buckets = np.frombuffer(b"".join(idx_parts), "<i2").astype(np.int64)
            ok = (buckets >= sketch.ZERO_INDEX) & (buckets <= sketch.MAX_INDEX)
            g_rep = np.repeat(np.array(groups, np.int64), sizes)
            keys.append((g_rep * 65536 + buckets - sketch.ZERO_INDEX)[ok])
            counts.append(np.frombuffer(b"".join(cnt_parts), dtype).astype(np.int64)[ok])
        if len(keys) > 1:
            self.cell_keys = np.concatenate(keys)
            self.cell_counts = np.concatenate(counts)
        return found

    def rows(self) -> list[tuple[Any, ...]]:
        """Key, value columns and the histogram blob (None without durations) per group."""
        cells, inverse = np.unique(self.cell_keys, return_inverse=True)
        cell_counts = np.bincount(inverse, weights=self.cell_counts, minlength=cells.size)
        cell_counts = cell_counts.astype(np.int64)
        cell_groups = cells >> 16
        bounds = np.searchsorted(cell_groups, np.arange(self.n_groups + 1)).tolist()
        idx_bytes = ((cells & 0xFFFF) + sketch.ZERO_INDEX).astype("<i2").tobytes()
        # count width per group (1, 2 or 4 bytes) from the group's largest count
        top = np.zeros(self.n_groups, np.int64)
        np.maximum.at(top, cell_groups, cell_counts)
        widths = np.where(top < 256, 1, np.where(top < 65536, 2, 4)).tolist()
        # one byte string per width in use; a group only reads cells that fit its width
        cnt_bytes = {w: cell_counts.astype(_COUNT_DTYPES[w]).tobytes() for w in set(widths)}
        blobs = [
            bytes((w,)) + idx_bytes[2 * lo : 2 * hi] + cnt_bytes[w][w * lo : w * hi]
            if hi > lo
            else None
            for w, (lo, hi) in zip(widths, pairwise(bounds), strict=True)
        ]
        return [(*k, *v, b) for k, v, b in zip(self.keys, self.values(), blobs, strict=True)]


__all__ = [
    "HOUR",
    "KEY_COLUMNS",
    "LATENCY_TABLES",
    "MINUTE",
    "SOURCES",
    "TABLES",
    "VALUE_COLUMNS",
    "write_rollup_rows",
    "write_rollups",
]

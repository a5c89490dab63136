"""A mergeable latency histogram in fixed log-spaced buckets (DDSketch-style), pure.

Why: percentiles over a day or a month must not re-read millions of raw events. Every
duration ``v`` (ms) > 0 falls into bucket ``i = ceil(log(v) / log(GAMMA))``, which covers
``(GAMMA**(i-1), GAMMA**i]``. Reporting the bucket's value ``2 * GAMMA**i / (GAMMA + 1)``
is within ``(GAMMA - 1) / (GAMMA + 1)`` ≈ 0.99 % (relative) of every value in it, so a
percentile read from merged buckets is within 1 % of the exact nearest-rank percentile.
Durations ≤ 0 go to a separate zero bucket. Buckets are fixed, so merging two histograms
(minutes into hours, nodes into "Aggregate") is adding counts per index.

A histogram is a pair of numpy arrays ``(index int16, count int64)``, index sorted and
unique. Stored form (``encode``/``decode``): one byte = count width (1, 2, 4 or 8 bytes: the
narrowest that holds the largest count), then the indexes as little-endian int16, then the
counts in that width. A minute with a
hundred distinct buckets costs ~300 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

GAMMA = 1.02
_LOG_GAMMA = math.log(GAMMA)
_INV_LOG_GAMMA = 1.0 / _LOG_GAMMA
#: Guaranteed relative error of a value read back from its bucket (≈ 0.0099).
RELATIVE_ACCURACY = (GAMMA - 1.0) / (GAMMA + 1.0)
#: Durations are clamped into [MIN_MS, MAX_MS] before bucketing (int16 indexes).
MIN_MS = 1e-3
MAX_MS = 1e12
MIN_INDEX = math.ceil(math.log(MIN_MS) * _INV_LOG_GAMMA)
MAX_INDEX = math.ceil(math.log(MAX_MS) * _INV_LOG_GAMMA)
#: Index of the zero bucket (durations ≤ 0 ms): just below the smallest real bucket, so
#: every index of a histogram lies in a short dense range (cheap merges).
ZERO_INDEX = MIN_INDEX - 1

IndexArray = npt.NDArray[np.int16]
CountArray = npt.NDArray[np.int64]
Hist = tuple[IndexArray, CountArray]

EMPTY: Hist = (np.zeros(0, np.int16), np.zeros(0, np.int64))


def bucket_index(value_ms: float) -> int:
    """The bucket of one duration (ms)."""
    if not value_ms > 0:
        return ZERO_INDEX
    v = min(max(value_ms, MIN_MS), MAX_MS)
    return math.ceil(math.log(v) * _INV_LOG_GAMMA)


def bucket_indexes(values_ms: npt.NDArray[np.float64]) -> IndexArray:
    """Vectorised :func:`bucket_index` (values must not be NaN)."""
    v = np.clip(values_ms, MIN_MS, MAX_MS)
    idx = np.ceil(np.log(v) * _INV_LOG_GAMMA).astype(np.int16)
    idx[~(values_ms > 0)] = ZERO_INDEX
    return idx


def bucket_value(index: int) -> float:
    """The value (ms) that stands for every duration in bucket ``index``."""
    if index == ZERO_INDEX:
        return 0.0
    return 2.0 * GAMMA**index / (GAMMA + 1.0)


def bucket_values(indexes: IndexArray) -> npt.NDArray[np.float64]:
    out = 2.0 * np.power(GAMMA, indexes.astype(np.float64)) / (GAMMA + 1.0)
    out[indexes == ZERO_INDEX] = 0.0
    return out


def bucket_bounds(index: int) -> tuple[float, float]:
    """``(low, high]`` in ms covered by bucket ``index`` (``(0, 0)`` for the zero bucket)."""
    if index == ZERO_INDEX:
        return (0.0, 0.0)
    return (GAMMA ** (index - 1), GAMMA**index)


def from_values(values_ms: Iterable[float]) -> Hist:
    """The histogram of some durations (ms); NaN and None are skipped."""
    arr = np.fromiter((v for v in values_ms if v is not None), np.float64)
    arr = arr[~np.isnan(arr)]
    if not arr.size:
        return EMPTY
    idx, counts = np.unique(bucket_indexes(arr), return_counts=True)
    return idx.astype(np.int16), counts.astype(np.int64)


def merge(hists: Sequence[Hist]) -> Hist:
    """Add counts index by index."""
    hists = [h for h in hists if h[0].size]
    if not hists:
        return EMPTY
    if len(hists) == 1:
        return hists[0]
    idx = np.concatenate([h[0] for h in hists])
    counts = np.concatenate([h[1] for h in hists])
    uniq, inverse = np.unique(idx, return_inverse=True)
    return uniq.astype(np.int16), np.bincount(inverse, weights=counts).astype(np.int64)


def total(hist: Hist) -> int:
    return int(hist[1].sum())


def encode(hist: Hist) -> bytes:
    """Compact blob: width byte, int16 indexes, counts in 1/2/4/8 bytes.

    The width is chosen from the largest count; 8 bytes only past 2³² − 1 (a bucket of an
    hour or month rollup on a busy node can get there), where 4 bytes would wrap silently.
    """
    idx, counts = hist
    if not idx.size:
        return b""
    top = int(counts.max())
    if top < 256:
        width, dtype = 1, "<u1"
    elif top < 65536:
        width, dtype = 2, "<u2"
    elif top < 2**32:
        width, dtype = 4, "<u4"
    else:
        width, dtype = 8, "<u8"
    return bytes((width,)) + idx.astype("<i2").tobytes() + counts.astype(dtype).tobytes()


_WIDTH_DTYPE = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}


def decode(blob: bytes | None) -> Hist:
    """Inverse of :func:`encode`; raises ValueError on a malformed blob."""
    if not blob:
        return EMPTY
    width = blob[0]
    dtype = _WIDTH_DTYPE.get(width)
    n, rest = divmod(len(blob) - 1, 2 + width)
    if dtype is None or rest:
        raise ValueError(f"malformed latency histogram blob ({len(blob)} bytes)")
    idx = np.frombuffer(blob, "<i2", n, 1).astype(np.int16)
    counts = np.frombuffer(blob, dtype, n, 1 + 2 * n).astype(np.int64)
    return idx, counts


def merge_blobs(blobs: Iterable[bytes | None]) -> Hist:
    return merge([decode(b) for b in blobs if b])


def merge_encoded(a: bytes | None, b: bytes | None) -> bytes:
    """Merge two stored blobs into one (the rollup upsert calls this per conflicting row).

    Dense add over the short index range both cover: a handful of numpy calls.
    """
    if not a:
        return b or b""
    if not b:
        return a
    ia, ca = decode(a)
    ib, cb = decode(b)
    lo = min(int(ia[0]), int(ib[0]))
    hi = max(int(ia[-1]), int(ib[-1]))
    dense = np.zeros(hi - lo + 1, np.int64)
    dense[ia - lo] = ca
    dense[ib - lo] += cb
    nz = np.flatnonzero(dense)
    return encode(((nz + lo).astype(np.int16), dense[nz]))


def quantiles(
    hist: Hist,
    qs: Sequence[float],
    *,
    min_ms: float | None = None,
    max_ms: float | None = None,
) -> list[float | None]:
    """Nearest-rank quantiles (``q`` in 0..1) read from the buckets.

    The k-th smallest value with ``k = ceil(q * n)`` (at least 1), reported as its
    bucket's value; clamped to the exact ``min_ms``/``max_ms`` when they are known.
    None for an empty histogram.
    """
    idx, counts = hist
    n = int(counts.sum()) if idx.size else 0
    if n == 0:
        return [None for _ in qs]
    order = np.argsort(idx, kind="stable")
    idx, counts = idx[order], counts[order]
    # the zero bucket's index is below every real one, so it sorts first as it should
    cum = np.cumsum(counts)
    out: list[float | None] = []
    for q in qs:
        k = max(1, math.ceil(q * n - 1e-9))
        pos = int(np.searchsorted(cum, k, side="left"))
        v = bucket_value(int(idx[min(pos, idx.size - 1)]))
        if min_ms is not None:
            v = max(v, min_ms)
        if max_ms is not None:
            v = min(v, max_ms)
        out.append(v)
    return out


def to_linear_buckets(hist: Hist, bucket_size_ms: float) -> dict[int, int]:
    """Counts per fixed-width bucket ``floor(value / bucket_size_ms)`` from a log histogram.

    Each log bucket's count goes to the linear bucket of its representative value, so the
    counts add up to the histogram's total; a value within 1 % of a linear edge may land in
    the neighbouring bucket.
    """
    idx, counts = hist
    if not idx.size:
        return {}
    lin = np.floor(bucket_values(idx) / bucket_size_ms).astype(np.int64)
    keys, inverse = np.unique(lin, return_inverse=True)
    sums = np.bincount(inverse, weights=counts)
    return {int(k): int(c) for k, c in zip(keys, sums, strict=True)}


__all__ = [
    "EMPTY",
    "GAMMA",
    "RELATIVE_ACCURACY",
    "ZERO_INDEX",
    "Hist",
    "bucket_bounds",
    "bucket_index",
    "bucket_indexes",
    "bucket_value",
    "decode",
    "encode",
    "from_values",
    "merge",
    "merge_blobs",
    "merge_encoded",
    "quantiles",
    "to_linear_buckets",
    "total",
]

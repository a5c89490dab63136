"""Disk growth rate and "days until full" forecast (pure: no I/O, no clock).

Method (the seed's "linear regression", made robust):

1. **What is fitted.** The occupied space *excluding trash*: ``y = -(free + trash)``, i.e. the
   total minus free minus trash, up to a constant. Using free space (``available_bytes``, which
   always means free in this program) keeps log-derived samples, which know nothing but the
   free space, on the same footing as API snapshots. Leaving trash out means that emptying the
   trash (free space jumps up, trash drops by the same amount) does not move ``y`` at all.
2. **Spikes are dropped, steps are cut out.** Isolated spikes (a point far from the running
   median of its neighbours: a Hampel filter on the detrended series) are dropped. Any remaining jump between consecutive samples that
   is far outside the normal sample-to-sample variation (a garbage collection moving pieces to
   trash on an old node, an allocation change, a log sample mixed with an API one) starts a new
   *segment*. The slope is estimated only from pairs of points inside the same segment, so a
   step down can lower the level but never flips the growth rate negative.
3. **Theil–Sen slope.** The growth rate is the median of the pairwise slopes
   ``(y_j - y_i) / (t_j - t_i)`` over all same-segment pairs: robust to outliers (up to ~29 %
   of the points) and naturally correct for irregular sampling and gaps, because each pair is
   divided by its own elapsed time.
4. **Confidence range.** Sen's rank-based interval (90 %) of the same pairwise slopes, widened
   by a span-dependent term (±25 % × sqrt(1 day / span), capped at ±90 %) because a few hours
   of growth say little about the daily rhythm. ``days_until_full_low`` comes from the high
   slope and ``days_until_full_high`` from the low one (``None`` = may never fill).

Units: times UTC unix seconds, sizes bytes, rates bytes per day. ``growth_rate_gb_per_day``
uses GiB (1024³ bytes), as the seed's example (10737418240 bytes/day → 10.0) shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

DAY = 86400.0
GIB = 1024**3
#: Fewer points or a shorter span than this gives "insufficient data".
MIN_POINTS = 3
MIN_SPAN_SECONDS = 3600.0
#: Most points the O(n²) pairwise estimate uses (evenly thinned beyond that).
MAX_FIT_POINTS = 800
#: A jump smaller than this is never a step (bytes).
MIN_STEP_BYTES = 1e9
#: Neighbours on each side the spike filter compares a point with.
HAMPEL_HALF_WINDOW = 5
#: z for the 90 % two-sided interval of Sen's slope.
_Z90 = 1.6449


def fit_series(snapshots: Iterable[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(t seconds, y bytes) to fit from snapshot dicts, sorted by time.

    ``y = -(available_bytes + trash_bytes)``: occupied space excluding trash, minus a constant.
    Rows without ``available_bytes`` are skipped.
    """
    points = []
    for s in snapshots:
        free = s.get("available_bytes")
        ts = s.get("timestamp")
        if free is None or ts is None:
            continue
        trash = s.get("trash_bytes") or 0
        points.append((float(ts), -float(free) - float(trash)))
    points.sort()
    if not points:
        return np.empty(0), np.empty(0)
    arr = np.asarray(points, dtype=float)
    return arr[:, 0], arr[:, 1]


def spike_mask(t: np.ndarray, y: np.ndarray, half_window: int = HAMPEL_HALF_WINDOW) -> np.ndarray:
    """True for isolated spikes (a Hampel filter on the detrended series).

    A point is a spike when it is farther than ``max(6 × robust sigma, MIN_STEP_BYTES / 2)``
    from the median of its ``2 × half_window + 1`` neighbours. A running median keeps edges, so
    a real step (many points on each side) is *not* a spike; it is left to :func:`segment_labels`.
    """
    n = len(t)
    if n < 2 * half_window + 1:
        return np.zeros(n, dtype=bool)
    dt = np.diff(t)
    ok = dt > 0
    rate = float(np.median(np.diff(y)[ok] / dt[ok])) if ok.any() else 0.0
    r = y - rate * (t - t[0])
    padded = np.pad(r, half_window, mode="edge")
    med = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1), axis=1)
    dev = np.abs(r - med)
    sigma = 1.4826 * float(np.median(dev))
    mask: np.ndarray = dev > max(6.0 * sigma, MIN_STEP_BYTES / 2)
    return mask


def segment_labels(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Label each point with its segment; a new segment starts after an abnormal jump.

    A jump is abnormal when the change between two consecutive samples differs from what the
    median rate predicts for that interval by more than ``max(8 × robust sigma, 1 GB)``.
    """
    n = len(t)
    labels = np.zeros(n, dtype=int)
    if n < 3:
        return labels
    dt = np.diff(t)
    dy = np.diff(y)
    ok = dt > 0
    if not ok.any():
        return labels
    rate = float(np.median(dy[ok] / dt[ok]))
    resid = dy - rate * dt
    mad = float(np.median(np.abs(resid - np.median(resid))))
    threshold = max(8.0 * 1.4826 * mad, MIN_STEP_BYTES)
    steps = np.abs(resid) > threshold
    labels[1:] = np.cumsum(steps)
    return labels


def _thin(idx: np.ndarray, limit: int) -> np.ndarray:
    if len(idx) <= limit:
        return idx
    keep = np.linspace(0, len(idx) - 1, limit).round().astype(int)
    thinned: np.ndarray = idx[np.unique(keep)]
    return thinned


def theil_sen_slope(
    t: np.ndarray, y: np.ndarray, labels: np.ndarray | None = None
) -> tuple[float, float, float, int] | None:
    """Median pairwise slope (bytes per second) over same-segment pairs, with Sen's 90 % range.

    Returns ``(slope, low, high, pairs)`` or None when there is no usable pair.
    """
    if labels is None:
        labels = np.zeros(len(t), dtype=int)
    idx = _thin(np.arange(len(t)), MAX_FIT_POINTS)
    t, y, labels = t[idx], y[idx], labels[idx]
    i, j = np.triu_indices(len(t), k=1)
    same = (labels[i] == labels[j]) & (t[j] > t[i])
    i, j = i[same], j[same]
    if len(i) == 0:
        return None
    slopes = (y[j] - y[i]) / (t[j] - t[i])
    npairs = len(slopes)
    # Sen (1968): variance of Kendall's S for the points that form pairs, summed per segment.
    var_s = 0.0
    for label in np.unique(labels):
        m = int((labels == label).sum())
        var_s += m * (m - 1) * (2 * m + 5) / 18.0
    c = _Z90 * math.sqrt(var_s)
    lo_rank = max(math.floor((npairs - c) / 2.0), 0)
    hi_rank = min(math.ceil((npairs + c) / 2.0), npairs - 1)
    mid_lo, mid_hi = (npairs - 1) // 2, npairs // 2
    # Only four order statistics are needed: partition instead of a full sort.
    part = np.partition(slopes, sorted({lo_rank, mid_lo, mid_hi, hi_rank}))
    slope = (float(part[mid_lo]) + float(part[mid_hi])) / 2.0
    return slope, float(part[lo_rank]), float(part[hi_rank]), npairs


def growth_rate(
    snapshots: Sequence[Mapping[str, Any]], now: float, window_days: float = 7.0
) -> dict[str, Any]:
    """Growth of occupied space (excluding trash) over the last ``window_days`` before ``now``.

    Returns growth_rate_bytes_per_day (and its low/high), growth_rate_gb_per_day (GiB),
    data_points, span_days, segments; status "ok" or "insufficient data".
    """
    start = now - window_days * DAY
    rows = [
        s for s in snapshots if s.get("timestamp") is not None and start <= s["timestamp"] <= now
    ]
    t, y = fit_series(rows)
    n = len(t)
    span = float(t[-1] - t[0]) if n else 0.0
    out: dict[str, Any] = {
        "growth_rate_bytes_per_day": None,
        "growth_rate_gb_per_day": None,
        "growth_rate_bytes_per_day_low": None,
        "growth_rate_bytes_per_day_high": None,
        "data_points": n,
        "span_days": round(span / DAY, 4),
        "segments": 0,
        "outliers": 0,
        "method": "theil-sen",
        "status": "insufficient data",
    }
    if n < MIN_POINTS or span < MIN_SPAN_SECONDS:
        return out
    spikes = spike_mask(t, y)
    if (~spikes).sum() >= MIN_POINTS:
        t, y = t[~spikes], y[~spikes]
    labels = segment_labels(t, y)
    fit = theil_sen_slope(t, y, labels)
    if fit is None:
        return out
    slope, low, high = fit[0] * DAY, fit[1] * DAY, fit[2] * DAY
    widen = min(0.9, 0.25 * math.sqrt(DAY / span))
    spread = abs(slope) * widen
    low = min(low, slope - spread)
    high = max(high, slope + spread)
    out.update(
        growth_rate_bytes_per_day=slope,
        growth_rate_gb_per_day=round(slope / GIB, 3),
        growth_rate_bytes_per_day_low=low,
        growth_rate_bytes_per_day_high=high,
        segments=int(labels.max()) + 1,
        outliers=int(spikes.sum()),
        status="ok",
    )
    return out


def days_until(free_bytes: float, rate_bytes_per_day: float | None) -> float | None:
    """Days until ``free_bytes`` are used at ``rate``; None when the rate is not positive."""
    if rate_bytes_per_day is None or rate_bytes_per_day <= 0:
        return None
    return max(free_bytes, 0.0) / rate_bytes_per_day


def forecast_days_until_full(
    snapshots: Sequence[Mapping[str, Any]],
    now: float,
    window_days: float = 7.0,
    free_bytes: float | None = None,
) -> dict[str, Any]:
    """The seed's forecast: growth rate and days until the free space is used up.

    ``snapshots`` are dicts with ``timestamp`` (unix s), ``available_bytes`` (free) and
    optionally ``trash_bytes``; ``free_bytes`` defaults to the latest snapshot's free space.
    Keys: growth_rate_bytes_per_day, growth_rate_gb_per_day, days_until_full,
    days_until_full_low, days_until_full_high, data_points, method ("theil-sen") and status:
    "filling", "not filling" (stable or shrinking: days are None, never negative) or
    "insufficient data".
    """
    out = growth_rate(snapshots, now, window_days)
    if free_bytes is None:
        latest = max(
            (
                s
                for s in snapshots
                if s.get("available_bytes") is not None and s.get("timestamp") is not None
            ),
            key=lambda s: s["timestamp"],
            default=None,
        )
        free_bytes = float(latest["available_bytes"]) if latest else None
    out.update(days_until_full=None, days_until_full_low=None, days_until_full_high=None)
    out["free_bytes"] = free_bytes
    if out["status"] != "ok" or free_bytes is None:
        out["status"] = "insufficient data"
        return out
    rate = out["growth_rate_bytes_per_day"]
    if rate is None or rate <= 0:
        out["status"] = "not filling"
        return out
    out["status"] = "filling"
    out["days_until_full"] = round(days_until(free_bytes, rate) or 0.0, 2)
    high_rate = out["growth_rate_bytes_per_day_high"]
    low_rate = out["growth_rate_bytes_per_day_low"]
    dl = days_until(free_bytes, high_rate)
    dh = days_until(free_bytes, low_rate)
    out["days_until_full_low"] = round(dl, 2) if dl is not None else None
    out["days_until_full_high"] = round(dh, 2) if dh is not None else None
    return out

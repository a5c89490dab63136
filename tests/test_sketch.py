"""The log-bucket latency sketch: accuracy, merging, encoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storj_monitor.analytics import sketch

durations = st.floats(min_value=0.0, max_value=3_600_000.0, allow_nan=False)
positive = st.floats(min_value=0.01, max_value=3_600_000.0, allow_nan=False)


@given(positive)
def test_bucket_value_within_one_percent_of_every_value_in_it(v: float) -> None:
    rep = sketch.bucket_value(sketch.bucket_index(v))
    assert abs(rep - v) <= sketch.RELATIVE_ACCURACY * v * (1 + 1e-9)
    assert sketch.RELATIVE_ACCURACY < 0.01


@given(positive)
def test_bucket_bounds_contain_the_value(v: float) -> None:
    lo, hi = sketch.bucket_bounds(sketch.bucket_index(v))
    assert lo < v * (1 + 1e-12) and v <= hi * (1 + 1e-12)


@pytest.mark.parametrize("v", [0.0, -1.0, -0.0])
def test_zero_and_negative_go_to_the_zero_bucket(v: float) -> None:
    assert sketch.bucket_index(v) == sketch.ZERO_INDEX
    assert sketch.bucket_value(sketch.ZERO_INDEX) == 0.0


def test_vectorised_index_matches_scalar() -> None:
    vals = np.array([0.0, 0.0005, 1.0, 1.02, 99.9, 100.0, 5000.0, 1e13])
    assert sketch.bucket_indexes(vals).tolist() == [sketch.bucket_index(v) for v in vals]


@given(st.lists(durations, max_size=300))
def test_encode_decode_round_trip(values: list[float]) -> None:
    h = sketch.from_values(values)
    idx, counts = sketch.decode(sketch.encode(h))
    assert idx.tolist() == h[0].tolist()
    assert counts.tolist() == h[1].tolist()
    assert sketch.total(h) == len(values)


def test_encode_picks_count_width() -> None:
    small = sketch.encode((np.array([1, 2], np.int16), np.array([3, 255])))
    medium = sketch.encode((np.array([1], np.int16), np.array([70_000 // 2])))
    big = sketch.encode((np.array([1], np.int16), np.array([70_000])))
    assert (small[0], len(small)) == (1, 1 + 2 * 2 + 2)
    assert medium[0] == 2 and big[0] == 4
    assert sketch.decode(big)[1].tolist() == [70_000]


@pytest.mark.parametrize("blob", [b"\x03abc", b"\x01ab", b"\x02\x00\x00\x01"])
def test_decode_rejects_malformed(blob: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        sketch.decode(blob)


@given(st.lists(durations, max_size=200), st.lists(durations, max_size=200))
def test_merge_is_adding_counts(a: list[float], b: list[float]) -> None:
    ha, hb = sketch.from_values(a), sketch.from_values(b)
    both = sketch.from_values(a + b)
    merged = sketch.merge([ha, hb])
    assert merged[0].tolist() == both[0].tolist()
    assert merged[1].tolist() == both[1].tolist()
    via_blobs = sketch.decode(sketch.merge_encoded(sketch.encode(ha), sketch.encode(hb)))
    assert via_blobs[0].tolist() == both[0].tolist()
    assert via_blobs[1].tolist() == both[1].tolist()


def nearest_rank(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q * 100, method="inverted_cdf"))


@settings(max_examples=200)
@given(
    st.lists(positive, min_size=1, max_size=500),
    st.sampled_from([0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]),
)
def test_quantile_within_one_percent_of_numpy_nearest_rank(values: list[float], q: float) -> None:
    h = sketch.from_values(values)
    (est,) = sketch.quantiles(h, [q], min_ms=min(values), max_ms=max(values))
    exact = nearest_rank(values, q)
    assert est is not None
    assert math.isclose(est, exact, rel_tol=0.01)


@settings(max_examples=30)
@given(st.integers(0, 2**31 - 1))
def test_quantiles_on_lognormal_traffic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(mean=6.0, sigma=1.2, size=5000).tolist()
    h = sketch.from_values(values)
    for q in (0.5, 0.95, 0.99):
        (est,) = sketch.quantiles(h, [q])
        assert est is not None
        assert math.isclose(est, nearest_rank(values, q), rel_tol=0.01)


def test_quantiles_of_empty_are_none() -> None:
    assert sketch.quantiles(sketch.EMPTY, [0.5, 0.99]) == [None, None]


def test_zero_durations_are_counted_as_zero() -> None:
    h = sketch.from_values([0.0, 0.0, 0.0, 10.0])
    assert sketch.quantiles(h, [0.5, 1.0]) == [0.0, pytest.approx(10.0, rel=0.01)]


@given(st.lists(durations, max_size=300), st.sampled_from([1.0, 50.0, 100.0, 1000.0]))
def test_linear_buckets_add_up(values: list[float], size: float) -> None:
    lin = sketch.to_linear_buckets(sketch.from_values(values), size)
    assert sum(lin.values()) == len(values)
    assert all(k >= 0 for k in lin)

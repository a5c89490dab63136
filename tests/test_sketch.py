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


# -- stored form: the count width is the narrowest that holds the LARGEST count ----------------

WIDTH_EDGES = [
    (1, 1),
    (255, 1),
    (256, 2),
    (65_535, 2),
    (65_536, 4),
    (2**32 - 1, 4),
    (2**32, 8),
    (2**40 + 3, 8),
]


def hist(idx: list[int], counts: list[int]) -> sketch.Hist:
    return np.array(idx, np.int16), np.array(counts, np.int64)


@pytest.mark.parametrize(("top", "width"), WIDTH_EDGES)
def test_encode_width_at_each_boundary(top: int, width: int) -> None:
    # the small count comes first and last, so a width chosen from the smallest (or the
    # first, or the last) count is caught as well as an off-by-one at 256 / 65,536 / 2**32
    h = hist([-3, 7, 40], [1, top, 2])
    blob = sketch.encode(h)
    assert blob[0] == width
    assert len(blob) == 1 + 3 * 2 + 3 * width
    idx, counts = sketch.decode(blob)
    assert idx.tolist() == [-3, 7, 40] and counts.tolist() == [1, top, 2]
    assert idx.dtype == np.int16 and counts.dtype == np.int64


@pytest.mark.parametrize(("top", "width"), WIDTH_EDGES)
def test_stored_bytes_are_little_endian_in_that_width(top: int, width: int) -> None:
    blob = sketch.encode(hist([258], [top]))
    assert blob[1:3] == (258).to_bytes(2, "little", signed=True)
    assert blob[3:] == top.to_bytes(width, "little")


boundary_counts = st.one_of(
    st.sampled_from([1, 254, 255, 256, 257, 65_535, 65_536, 65_537, 2**32 - 1, 2**32]),
    st.integers(1, 2**33),
)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(sketch.ZERO_INDEX, 1400), boundary_counts),
        min_size=1,
        max_size=40,
        unique_by=lambda p: p[0],
    )
)
def test_round_trip_across_width_boundaries(pairs: list[tuple[int, int]]) -> None:
    pairs.sort()
    h = hist([i for i, _ in pairs], [c for _, c in pairs])
    blob = sketch.encode(h)
    top = max(c for _, c in pairs)
    width = 1 if top < 256 else 2 if top < 65_536 else 4 if top < 2**32 else 8
    assert blob[0] == width
    idx, counts = sketch.decode(blob)
    assert idx.tolist() == h[0].tolist() and counts.tolist() == h[1].tolist()
    merged = sketch.decode(sketch.merge_encoded(blob, blob))
    assert merged[1].tolist() == [2 * c for _, c in pairs]


def test_encode_of_empty_is_empty_and_decodes_to_empty() -> None:
    assert sketch.encode(sketch.EMPTY) == b""
    for blob in (b"", None):
        idx, counts = sketch.decode(blob)
        assert idx.size == 0 and counts.size == 0


@pytest.mark.parametrize("blob", [b"\x08" + b"\x00" * 9, b"\x04" + b"\x00" * 5])
def test_decode_rejects_lengths_that_do_not_fit_the_width(blob: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        sketch.decode(blob)


def test_merge_encoded_with_one_side_missing_returns_the_other() -> None:
    blob = sketch.encode(hist([1, 5], [2, 3]))
    assert sketch.merge_encoded(None, blob) == blob
    assert sketch.merge_encoded(blob, b"") == blob
    assert sketch.merge_encoded(None, None) == b""


def test_merge_encoded_over_disjoint_ranges_keeps_both_ends() -> None:
    a = sketch.encode(hist([-5, 0], [1, 300]))
    b = sketch.encode(hist([10, 12], [70_000, 4]))
    idx, counts = sketch.decode(sketch.merge_encoded(a, b))
    assert idx.tolist() == [-5, 0, 10, 12] and counts.tolist() == [1, 300, 70_000, 4]
    assert sketch.merge_encoded(a, b)[0] == 4


def test_merge_blobs_skips_empty_blobs_and_adds_counts() -> None:
    a = sketch.encode(hist([1, 2], [1, 1]))
    b = sketch.encode(hist([2, 9], [5, 7]))
    idx, counts = sketch.merge_blobs([a, None, b"", b])
    assert idx.tolist() == [1, 2, 9] and counts.tolist() == [1, 6, 7]
    assert idx.dtype == np.int16 and counts.dtype == np.int64
    assert sketch.total(sketch.merge_blobs([])) == 0


def test_histograms_keep_their_dtypes() -> None:
    h = sketch.from_values([0.0, 1.0, 1.0, 5000.0, None, float("nan")])  # type: ignore[list-item]
    assert h[0].dtype == np.int16 and h[1].dtype == np.int64
    assert h[1].tolist() == [1, 2, 1] and sketch.total(h) == 4
    m = sketch.merge([h, sketch.from_values([1.0])])
    assert m[0].dtype == np.int16 and m[1].dtype == np.int64
    assert m[1].tolist() == [1, 3, 1]
    assert sketch.bucket_indexes(np.array([0.0, 2.0])).dtype == np.int16


def test_merge_of_one_histogram_is_itself_and_of_none_is_empty() -> None:
    h = hist([3], [4])
    assert sketch.merge([sketch.EMPTY, h])[1].tolist() == [4]
    assert sketch.total(sketch.merge([])) == 0


def test_bucket_bounds_are_exact() -> None:
    assert sketch.bucket_bounds(sketch.ZERO_INDEX) == (0.0, 0.0)
    assert sketch.bucket_bounds(1) == (1.0, sketch.GAMMA)
    assert sketch.bucket_bounds(100) == (sketch.GAMMA**99, sketch.GAMMA**100)


def test_values_are_clamped_into_the_index_range() -> None:
    assert sketch.bucket_index(1e15) == sketch.MAX_INDEX == sketch.bucket_index(sketch.MAX_MS)
    assert sketch.bucket_index(1e-9) == sketch.MIN_INDEX == sketch.bucket_index(sketch.MIN_MS)
    assert sketch.MIN_INDEX > sketch.ZERO_INDEX
    vec = sketch.bucket_indexes(np.array([1e15, 1e-9, -3.0]))
    assert vec.tolist() == [sketch.MAX_INDEX, sketch.MIN_INDEX, sketch.ZERO_INDEX]


def test_vectorised_values_match_scalar_and_zero_reads_zero() -> None:
    idx = np.array([sketch.ZERO_INDEX, 0, 1, 250], np.int16)
    assert sketch.bucket_values(idx).tolist() == [sketch.bucket_value(int(i)) for i in idx]
    assert sketch.bucket_values(idx)[0] == 0.0
    assert sketch.bucket_value(0) == 2.0 / (sketch.GAMMA + 1.0)


def test_quantiles_nearest_rank_on_known_buckets() -> None:
    h = hist([sketch.ZERO_INDEX, 10, 20], [2, 3, 5])  # 10 values
    v10, v20 = sketch.bucket_value(10), sketch.bucket_value(20)
    got = sketch.quantiles(h, [0.0, 0.2, 0.21, 0.5, 0.51, 1.0])
    assert got == [0.0, 0.0, v10, v10, v20, v20]
    assert sketch.quantiles(h, [0.5], min_ms=v10 + 1) == [v10 + 1]
    assert sketch.quantiles(h, [1.0], max_ms=v20 - 1) == [v20 - 1]


def test_linear_buckets_exact_keys() -> None:
    h = hist([sketch.ZERO_INDEX, 0, 240], [2, 3, 4])  # 0 ms, ~0.99 ms, ~114.7 ms
    assert sketch.to_linear_buckets(h, 50.0) == {0: 5, 2: 4}
    assert sketch.to_linear_buckets(sketch.EMPTY, 50.0) == {}

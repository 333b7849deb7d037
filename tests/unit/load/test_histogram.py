"""Per-second latency histograms: percentiles within 2%, exact merging."""

import random

import pytest

from hpalab.load.histogram import Histogram, bucket_of, bucket_value, merged


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99, 1.0])
def test_percentiles_are_within_two_percent(q):
    rng = random.Random(4)
    values = [rng.lognormvariate(1.0, 1.2) for _ in range(5000)]
    histogram = Histogram()
    for v in values:
        histogram.add(v)
    ordered = sorted(values)
    true = ordered[int(-(-q * len(ordered) // 1)) - 1]
    assert histogram.percentile(q) == pytest.approx(true, rel=0.021)


def test_merge_equals_one_histogram_of_all_samples():
    a, b, both = Histogram(), Histogram(), Histogram()
    for i in range(1, 300):
        (a if i % 3 else b).add(i * 0.7)
        both.add(i * 0.7)
    assert merged([a, b]).buckets == both.buckets
    assert merged([a, b]).count == both.count == 299
    assert merged([a, b]).percentile(0.95) == both.percentile(0.95)


def test_wire_round_trip_and_mean():
    h = Histogram()
    for v in (1.0, 2.0, 3.0):
        h.add(v)
    again = Histogram.from_wire(h.to_wire())
    assert again.buckets == h.buckets and again.count == 3
    assert again.mean() == pytest.approx(2.0, rel=0.02)


def test_empty_histogram_has_no_percentile_or_mean():
    assert Histogram().percentile(0.5) is None
    assert Histogram().mean() is None


@pytest.mark.parametrize("q", [0, -0.1, 1.5])
def test_bad_quantile_is_refused(q):
    with pytest.raises(ValueError):
        Histogram().percentile(q)


def test_tiny_and_negative_latencies_share_the_lowest_bucket():
    assert bucket_of(-1.0) == bucket_of(0.0) == bucket_of(0.005) == 0
    assert bucket_value(0) == pytest.approx(0.01)
    assert bucket_of(10.0) < bucket_of(10.5)

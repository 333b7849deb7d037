"""rate(), increase() and irate() against Prometheus's own test cases (promql/testdata/
functions.test, Prometheus 2.x), and the adapter's queries evaluated on stored samples."""

import pytest

from hpalab.errors import NotSimulable
from hpalab.simulation.promql import (
    SampleStore,
    evaluate,
    extrapolated_rate,
    instant_rate,
    parse,
)

MINUTE = 60.0


def _load(*runs: tuple[float, float, int], step_s: float = 5 * MINUTE):
    """Prometheus test notation: each run ``(start, increment, count)`` is ``start+incrementxcount``
    (count + 1 samples); runs follow each other one step apart."""
    values: list[float] = []
    for start, increment, count in runs:
        values += [start + increment * i for i in range(count + 1)]
    return [i * step_s for i in range(len(values))], values


def _at(times, values, t_s, window_s):
    inside = [(t, v) for t, v in zip(times, values, strict=True) if t_s - window_s <= t <= t_s]
    return [t for t, _ in inside], [v for _, v in inside]


@pytest.mark.parametrize(
    ("name", "runs", "window_m", "expected"),
    [
        # the counter starts at 0 at the window's start: no extrapolation
        ("foo", [(0, 10, 10)], 50, 100),
        # a reset in the middle of the range counts from 0
        ("bar", [(0, 10, 5), (0, 10, 5)], 50, 90),
        ("foo", [(0, 10, 10)], 100, 100),
        ("bar", [(0, 10, 5), (0, 10, 5)], 100, 90),
        # 10 at t=0 would reach 0 at t=-5m: extrapolation shortened to one interval
        ("dings", [(10, 10, 10)], 100, 110),
        # 1 at t=0 would reach 0 at t=-30s: extrapolation shortened to half an interval
        ("bumms", [(1, 10, 10)], 100, 101),
    ],
)
def test_increase_as_prometheus_documents_it(name, runs, window_m, expected):
    times, values = _load(*runs)
    inside = _at(times, values, 50 * MINUTE, window_m * MINUTE)
    got = extrapolated_rate(*inside, t_s=50 * MINUTE, window_s=window_m * MINUTE, is_rate=False)
    assert got == pytest.approx(expected), name


def test_rate_with_a_reset_in_the_middle_and_at_the_end():
    times, values = _load((0, 10, 4), (0, 10, 5))
    inside = _at(times, values, 50 * MINUTE, 50 * MINUTE)
    assert extrapolated_rate(*inside, t_s=50 * MINUTE, window_s=50 * MINUTE) == pytest.approx(0.03)
    times, values = _load((0, 10, 9), (0, 10, 1))
    inside = _at(times, values, 50 * MINUTE, 5 * MINUTE)
    assert extrapolated_rate(*inside, t_s=50 * MINUTE, window_s=5 * MINUTE) == 0


def test_rate_extrapolates_to_the_window_edges_within_1_1_intervals():
    # scrapes every 10 s at 5, 15, 25, 35 of a counter growing 1/s; window [0, 40]
    times, values = [5.0, 15.0, 25.0, 35.0], [10.0, 20.0, 30.0, 40.0]
    assert extrapolated_rate(times, values, t_s=40, window_s=40) == pytest.approx(1.0)
    # a gap at the end longer than 1.1 intervals: extrapolate half an interval only
    assert extrapolated_rate(times, values, t_s=60, window_s=60) == pytest.approx(
        30 * (30 + 10 / 2 + 10 / 2) / 30 / 60
    )
    assert extrapolated_rate([5.0], [1.0], t_s=10, window_s=10) is None


def test_irate_uses_the_last_two_samples():
    times, values = _load((0, 10, 10))
    assert instant_rate(*_at(times, values, 50 * MINUTE, 50 * MINUTE)) == pytest.approx(1 / 30)
    times, values = _load((0, 10, 5), (0, 10, 5))
    assert instant_rate(*_at(times, values, 50 * MINUTE, 50 * MINUTE)) == pytest.approx(1 / 30)
    assert instant_rate([0.0, 10.0], [50.0, 5.0]) == pytest.approx(0.5)  # a reset: 5 from 0


def test_the_adapter_query_sums_statuses_per_pod():
    store = SampleStore()
    base = (("__name__", "http_requests_total"), ("namespace", "default"))
    for pod in ("a", "b"):
        for status, per_s in (("200", 10.0), ("503", 2.0)):
            labels = (*base, ("pod", pod), ("status", status))
            for t in range(0, 61, 5):
                store.append(labels, float(t), per_s * t)
    query = 'sum(rate(http_requests_total{namespace="default",pod=~"a|c"}[30s])) by (pod)'
    assert evaluate(store, query, t_s=60.0) == [({"pod": "a"}, pytest.approx(12.0))]
    grouped = evaluate(store, "sum by (status) (increase(http_requests_total[1m]))", t_s=60)
    assert sorted((g["status"], v) for g, v in grouped) == [
        ("200", pytest.approx(1200.0)),
        ("503", pytest.approx(240.0)),
    ]
    assert len(evaluate(store, 'http_requests_total{status!="503"}', t_s=60)) == 2


@pytest.mark.parametrize(
    "query",
    [
        "histogram_quantile(0.9, rate(x[1m]))",
        "sum(rate(x[1m])) / 2",
        "rate(x)",
        'sum(x{a="b",})) by (c)',
    ],
)
def test_what_the_simulator_cannot_evaluate_is_named(query):
    with pytest.raises(NotSimulable) as error:
        parse(query)
    assert "cannot evaluate" in error.value.message and error.value.hint

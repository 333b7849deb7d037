"""Offered-load validation: windows, spans and reasons."""

import pytest

from hpalab.load.shortfall import find_shortfalls, generator_delivered

from .builders import run_of, sample


def test_delivered_load_has_no_shortfall():
    assert find_shortfalls(run_of(30)) == []


def test_small_deviation_inside_the_tolerance_is_accepted():
    samples = run_of(20, achieved_rps=96)
    assert find_shortfalls(samples, tolerance=0.05) == []
    assert len(find_shortfalls(samples, tolerance=0.03)) == 1


def test_slow_app_is_app_overloaded_with_one_merged_span():
    samples = run_of(10) + [sample(t, achieved_rps=50, dropped=50) for t in range(10, 20)]
    samples += [sample(t) for t in range(20, 40)]
    (shortfall,) = find_shortfalls(samples)
    assert shortfall.reason == "app_overloaded"
    assert shortfall.start_s < 10
    assert shortfall.end_s > 19
    assert shortfall.ratio == pytest.approx(0.5)
    assert shortfall.detail()["reason"] == "app_overloaded"


def test_connection_errors_are_named():
    samples = run_of(12, achieved_rps=0, failures=100, conn_errors=100)
    (shortfall,) = find_shortfalls(samples)
    assert shortfall.reason == "connection_errors"
    assert shortfall.ratio == 0.0


@pytest.mark.parametrize(
    "fields", [{"generator_cpu": 0.97}, {"generator_cpu": 0.5, "loop_lag_ms": 40.0}]
)
def test_saturated_generator_is_named(fields):
    samples = run_of(12, achieved_rps=70, dropped=30, **fields)
    (shortfall,) = find_shortfalls(samples)
    assert shortfall.reason == "generator_cpu_saturated"


def test_over_delivery_is_a_shortfall_too():
    (shortfall,) = find_shortfalls(run_of(10, achieved_rps=120))
    assert shortfall.reason == "over_delivered"
    assert shortfall.ratio == pytest.approx(1.2)


def test_windows_with_too_few_requests_are_not_judged():
    samples = run_of(20, scheduled=2, achieved_rps=0, offered_rps=2.0)
    assert find_shortfalls(samples) == []


def test_a_run_shorter_than_the_window_is_one_window():
    (shortfall,) = find_shortfalls(run_of(4, achieved_rps=10))
    assert (shortfall.start_s, shortfall.end_s) == (0, 4)


def test_two_separate_problems_are_two_spans():
    samples = [sample(t, achieved_rps=20 if t < 10 or 30 <= t < 40 else 100) for t in range(40)]
    spans = find_shortfalls(samples)
    assert len(spans) == 2
    assert spans[0].end_s <= spans[1].start_s


def test_empty_run_has_no_shortfall():
    assert find_shortfalls([]) == []


@pytest.mark.parametrize("kwargs", [{"tolerance": 0}, {"tolerance": 1.5}, {"window_s": 0}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        find_shortfalls(run_of(3), **kwargs)


def test_an_app_answering_late_is_delivered_load_but_dropped_arrivals_are_not():
    # a queueing app: responses lag the arrivals, then a burst as its queue drains
    lagging = run_of(10) + [sample(t, achieved_rps=80) for t in range(10, 20)]
    lagging += [sample(t) for t in range(20, 40)]
    lagging += [sample(t, achieved_rps=130) for t in range(40, 50)]
    shortfalls = find_shortfalls(lagging)
    assert {s.reason for s in shortfalls} == {"app_overloaded", "over_delivered"}
    assert generator_delivered(shortfalls, lagging)
    # every user waited and arrivals were dropped: the app never got that load
    dropped = run_of(10) + [sample(t, achieved_rps=50, dropped=50) for t in range(10, 20)]
    assert not generator_delivered(find_shortfalls(dropped), dropped)
    saturated = run_of(12, achieved_rps=70, generator_cpu=0.97)
    assert not generator_delivered(find_shortfalls(saturated), saturated)

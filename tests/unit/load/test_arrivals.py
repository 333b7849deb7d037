"""The arrival schedule: each stage type's rate, Poisson reproducibility, worker shares."""

import itertools
import json
import statistics

import pytest

from hpalab.load.arrivals import (
    EndpointCycle,
    arrival_times,
    counts_per_second,
    expected_per_second,
    worker_share,
)
from hpalab.specs.profiles import ProfileSpec, compile_profile

STAGES = {
    "hold": [{"type": "hold", "rps": 40, "duration": "5s"}],
    "ramp": [{"type": "ramp", "from": 10, "to": 110, "duration": "5s"}],
    "step": [
        {"type": "hold", "rps": 10, "duration": "2s"},
        {"type": "step", "rps": 90, "duration": "3s"},
    ],
    "spike": [
        {"type": "hold", "rps": 20, "duration": "2s"},
        {"type": "spike", "rps": 200, "peakDuration": "1s", "duration": "3s"},
    ],
    "sine": [{"type": "sine", "mean": 60, "amplitude": 40, "period": "4s", "duration": "8s"}],
    "trace": [{"type": "trace", "file": "x.csv", "points": [[0, 10], [2, 50], [4, 50], [6, 5]]}],
}


def curve_of(stages):
    return compile_profile(ProfileSpec.model_validate_json(json.dumps({"stages": stages})).stages)


@pytest.mark.parametrize("kind", sorted(STAGES))
def test_uniform_arrivals_follow_each_stage_type_second_by_second(kind):
    curve = curve_of(STAGES[kind])
    counts = counts_per_second(arrival_times(curve, process="uniform", seed=1), curve.duration_s)
    expected = expected_per_second(curve)
    assert len(counts) == len(expected) > 0
    for second, (got, want) in enumerate(zip(counts, expected, strict=True)):
        assert abs(got - want) <= 1, (kind, second, got, want)
    assert abs(sum(counts) - sum(expected)) <= 1


def test_spike_peak_is_in_the_schedule():
    curve = curve_of(STAGES["spike"])
    counts = counts_per_second(arrival_times(curve, process="uniform", seed=1), curve.duration_s)
    assert counts == [20, 20, 200, 20, 20]


def test_arrival_times_increase_and_stay_inside_the_profile():
    curve = curve_of(STAGES["sine"])
    for process in ("uniform", "poisson"):
        times = list(arrival_times(curve, process=process, seed=3))
        assert times == sorted(times)
        assert times[0] >= 0 and times[-1] < curve.duration_s


def test_poisson_is_reproducible_for_a_seed_and_differs_between_seeds():
    curve = curve_of(STAGES["hold"])
    first = list(arrival_times(curve, process="poisson", seed=7))
    again = list(arrival_times(curve, process="poisson", seed=7))
    other = list(arrival_times(curve, process="poisson", seed=8))
    assert first == again
    assert first != other


def test_poisson_has_the_profile_mean_and_exponential_gaps():
    curve = curve_of([{"type": "hold", "rps": 200, "duration": "100s"}])
    times = list(arrival_times(curve, process="poisson", seed=11))
    assert abs(len(times) - 20_000) < 4 * 20_000**0.5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # An exponential's standard deviation equals its mean; evenly spaced gaps have none.
    assert statistics.stdev(gaps) == pytest.approx(statistics.mean(gaps), rel=0.05)


def test_zero_rate_has_no_arrivals():
    curve = curve_of([{"type": "hold", "rps": 0, "duration": "3s"}])
    assert list(arrival_times(curve, process="poisson", seed=1)) == []
    assert counts_per_second(iter([]), curve.duration_s) == [0, 0, 0]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_worker_shares_partition_the_global_schedule(workers):
    curve = curve_of(STAGES["ramp"])
    whole = list(enumerate(arrival_times(curve, process="poisson", seed=5)))
    shares = [
        list(
            worker_share(
                arrival_times(curve, process="poisson", seed=5),
                worker_index=i,
                worker_count=workers,
            )
        )
        for i in range(workers)
    ]
    assert sorted(itertools.chain.from_iterable(shares)) == whole
    assert max(len(s) for s in shares) - min(len(s) for s in shares) <= 1


@pytest.mark.parametrize("index,count", [(-1, 2), (2, 2), (0, 0)])
def test_bad_worker_index_is_refused(index, count):
    with pytest.raises(ValueError):
        list(worker_share(iter([0.1]), worker_index=index, worker_count=count))


def test_endpoint_cycle_keeps_weights_and_interleaves():
    cycle = EndpointCycle.from_weights([3, 1])
    assert sorted(cycle.order) == [0, 0, 0, 1]
    picks = [cycle.endpoint(k) for k in range(400)]
    assert picks.count(0) == 300 and picks.count(1) == 100
    assert EndpointCycle.from_weights([2, 2]).order == (0, 1)  # reduced by the common divisor


@pytest.mark.parametrize("weights", [[], [0], [2, -1]])
def test_endpoint_cycle_refuses_bad_weights(weights):
    with pytest.raises(ValueError):
        EndpointCycle.from_weights(weights)

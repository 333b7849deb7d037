"""User-pool sizing for the open model."""

from hpalab.load.sizing import pool_size


def size(**kwargs):
    defaults = {
        "peak_rps": 100.0,
        "latency_s": None,
        "in_flight": 0,
        "current": 0,
        "max_users": 1000,
    }
    defaults.update(kwargs)
    return pool_size(**defaults)


def test_littles_law_with_headroom_and_spares():
    assert size(peak_rps=1000, latency_s=0.05) == 1000 * 0.05 * 2 + 10
    assert size(peak_rps=1000, latency_s=None) == 1000 * 0.002 * 2 + 10  # latency floor


def test_pool_never_shrinks_and_never_exceeds_the_cap():
    assert size(peak_rps=10, current=300) == 300
    assert size(peak_rps=100_000, latency_s=1.0) == 1000


def test_pool_grows_when_most_users_are_in_flight_but_by_half_at_most():
    assert size(peak_rps=10, current=50, in_flight=45) == 75 + 10
    assert size(peak_rps=10, current=50, in_flight=10) == 50
    assert size(peak_rps=10_000, latency_s=1.0, current=100) == 150 + 10


def test_saturated_generator_gets_no_more_users():
    assert size(peak_rps=5000, current=50, in_flight=50, generator_cpu=0.95) == 50
    assert size(peak_rps=5000, current=50, in_flight=50, loop_lag_ms=60) == 50
    assert size(peak_rps=5000, current=0, generator_cpu=0.95) > 0  # the first pool still forms


def test_at_least_one_user_per_worker():
    assert size(peak_rps=0, workers=3, max_users=2) >= 3
    assert size(peak_rps=0) == 10

"""A replica's queue against queueing theory: M/M/1, M/D/1, M/M/1/K and M/M/c (Erlang C)."""

import math
import random

import pytest

from hpalab.simulation.queueing import ReplicaQueue, ServiceTime

ARRIVALS = 200_000


def _run(*, rate, service, concurrency=1, queue_limit=None, seed=1):
    rng = random.Random(seed)
    queue = ReplicaQueue(concurrency=concurrency, queue_limit=queue_limit, service=service)
    t, latencies, refused = 0.0, [], 0
    for _ in range(ARRIVALS):
        t += rng.expovariate(rate)
        done = queue.offer(t, rng)
        if done is None:
            refused += 1
        else:
            latencies.append(done - t)
    return sum(latencies) / len(latencies), refused / ARRIVALS


def test_mm1_mean_time_in_system():
    lam, mu = 8.0, 10.0  # ρ = 0.8
    mean, _ = _run(rate=lam, service=ServiceTime(1 / mu, exponential=True))
    assert mean == pytest.approx(1 / (mu - lam), rel=0.05)  # W = 1/(μ-λ) = 0.5 s


def test_md1_mean_wait_is_half_of_mm1():
    lam, mu = 8.0, 10.0
    rho = lam / mu
    mean, _ = _run(rate=lam, service=ServiceTime(1 / mu))
    wait = rho / (2 * mu * (1 - rho))  # Pollaczek-Khinchine with a constant service time
    assert mean - 1 / mu == pytest.approx(wait, rel=0.05)  # 0.2 s


def test_mm1k_blocking_probability():
    lam, mu, limit = 8.0, 10.0, 2
    rho, k = lam / mu, 1 + limit  # one in service, two waiting
    _, refused = _run(rate=lam, service=ServiceTime(1 / mu, exponential=True), queue_limit=limit)
    expected = (1 - rho) * rho**k / (1 - rho ** (k + 1))
    assert refused == pytest.approx(expected, rel=0.05)  # 0.173


def test_mmc_mean_wait_is_erlang_c():
    lam, mu, c = 24.0, 10.0, 3
    a = lam / mu
    rho = a / c
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    wait = p_wait / (c * mu - lam)
    mean, _ = _run(rate=lam, service=ServiceTime(1 / mu, exponential=True), concurrency=c)
    assert mean - 1 / mu == pytest.approx(wait, rel=0.06)


def test_no_slot_limit_means_no_wait_and_a_full_queue_refuses_at_once():
    unlimited = ReplicaQueue(concurrency=None, queue_limit=None, service=ServiceTime(0.2))
    rng = random.Random(0)
    assert [unlimited.offer(t, rng) for t in (0.0, 0.0, 0.1)] == [0.2, 0.2, pytest.approx(0.3)]
    one = ReplicaQueue(concurrency=1, queue_limit=1, service=ServiceTime(0.2))
    assert one.offer(0.0, rng) == 0.2
    assert one.offer(0.05, rng) == pytest.approx(0.4)  # waits for the slot
    assert one.offer(0.1, rng) is None  # one already waits
    assert one.offer(0.25, rng) == pytest.approx(0.6)  # the waiting one started at 0.2
    assert one.busy_s == pytest.approx(0.6) and one.served == 3

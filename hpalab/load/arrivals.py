"""The arrival schedule: when each request of an open-model profile starts.

A profile's rate curve ``λ(t)`` is turned into arrival times by inverting its cumulative
intensity ``Λ(t) = ∫₀ᵗ λ``: arrival ``k`` happens where ``Λ`` reaches ``u_k``. Uniform arrivals
use ``u_k = k + ½`` (evenly spaced, exactly ``Λ`` requests by any time); Poisson arrivals use
``u_k = E₁ + … + E_k`` with ``E_i`` exponential of mean 1 from a seeded generator (the
time-rescaling theorem: a non-homogeneous Poisson process of intensity ``λ``).

There is one global schedule per (profile, process, seed). A load worker ``i`` of ``n`` takes
the arrivals whose index ``k ≡ i (mod n)``, so the union over workers is the same schedule
whatever the number of workers, and a seed reproduces it exactly.

Pure code: no clocks, no I/O, no gevent. Times are seconds since the profile began.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from hpalab.specs.profiles import RateCurve

Process = Literal["uniform", "poisson"]

STEP_S = 0.01
"""Resolution of the cumulative intensity: the rate is taken as constant within 10 ms."""


def arrival_times(curve: RateCurve, *, process: Process, seed: int) -> Iterator[float]:
    """Every arrival time of the profile, in seconds since it began, in increasing order.

    ``seed`` only matters for ``poisson``. A profile at rate 0 yields nothing; the iterator
    ends at the end of the profile.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible load, not cryptography
    poisson = process == "poisson"
    target = rng.expovariate(1.0) if poisson else 0.5
    duration = curve.duration_s
    cells = math.ceil(duration / STEP_S - 1e-9)
    cumulative = 0.0
    for cell in range(cells):
        start = cell * STEP_S
        width = min(STEP_S, duration - start)
        rate = curve.rate_at(start + width / 2)
        reached = cumulative + rate * width
        while target < reached:
            yield start + (target - cumulative) / rate
            target += rng.expovariate(1.0) if poisson else 1.0
        cumulative = reached


def worker_share(
    times: Iterator[float], *, worker_index: int, worker_count: int
) -> Iterator[tuple[int, float]]:
    """``(k, t_s)`` for the arrivals of one worker: those with ``k % worker_count == index``."""
    if not 0 <= worker_index < worker_count:
        raise ValueError(f"worker index {worker_index} is not in [0, {worker_count})")
    for k, t in enumerate(times):
        if k % worker_count == worker_index:
            yield k, t


def counts_per_second(times: Iterator[float], duration_s: float) -> list[int]:
    """How many arrivals fall in each second ``[s, s+1)`` of a profile of ``duration_s``."""
    counts = [0] * math.ceil(duration_s)
    for t in times:
        second = int(t)
        if second < len(counts):
            counts[second] += 1
    return counts


def expected_per_second(curve: RateCurve) -> list[float]:
    """The profile's expected requests in each second ``[s, s+1)`` (its offered rate)."""
    return [
        curve.requests_between(s, min(s + 1.0, curve.duration_s), step_s=STEP_S)
        for s in range(math.ceil(curve.duration_s))
    ]


@dataclass(frozen=True)
class EndpointCycle:
    """Endpoints in a fixed interleaved order whose shares equal their weights.

    Arrival ``k`` uses ``order[k % len(order)]``: deterministic, exact over every full cycle,
    and spread out (smooth weighted round robin) rather than in runs of one endpoint.
    """

    order: tuple[int, ...]

    @classmethod
    def from_weights(cls, weights: Sequence[int]) -> EndpointCycle:
        if not weights or any(w < 1 for w in weights):
            raise ValueError("weights must be a non-empty list of integers ≥ 1")
        common = math.gcd(*weights)
        weights = [w // common for w in weights]
        total, current, order = sum(weights), [0] * len(weights), []
        for _ in range(total):
            for i, weight in enumerate(weights):
                current[i] += weight
            best = max(range(len(weights)), key=lambda i: current[i])
            current[best] -= total
            order.append(best)
        return cls(tuple(order))

    def endpoint(self, k: int) -> int:
        """Index of the endpoint of arrival ``k``."""
        return self.order[k % len(self.order)]

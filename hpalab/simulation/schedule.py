"""The load driver's arrival schedule, computed fast enough for thousands of trials.

:func:`hpalab.load.arrivals.arrival_times` walks the profile in 10 ms cells and inverts the
cumulative intensity. :class:`Intensity` does the walk once per profile (it does not depend
on the seed) and :meth:`Intensity.arrivals` then inverts it for a seed with numpy. The
operations are the same floating-point operations in the same order, so the times are
identical to the load driver's (a test checks it). Pure code.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from hpalab.load.arrivals import STEP_S, Process
from hpalab.specs.profiles import RateCurve


@dataclass(frozen=True)
class Intensity:
    """A profile's cells: start, rate, and the cumulative intensity at each cell's end."""

    starts: np.ndarray
    rates: np.ndarray
    reached: np.ndarray

    @classmethod
    def of(cls, curve: RateCurve) -> Intensity:
        duration = curve.duration_s
        cells = math.ceil(duration / STEP_S - 1e-9)
        starts = np.array([cell * STEP_S for cell in range(cells)], dtype="float64")
        widths = np.minimum(STEP_S, duration - starts)
        rates = np.array(
            [curve.rate_at(s + w / 2) for s, w in zip(starts, widths, strict=True)],
            dtype="float64",
        )
        return cls(starts, rates, np.cumsum(rates * widths))

    @property
    def total(self) -> float:
        """Expected number of arrivals over the profile."""
        return float(self.reached[-1]) if len(self.reached) else 0.0

    def arrivals(self, *, process: Process, seed: int) -> np.ndarray:
        """Every arrival time (s since the profile began), as ``arrival_times`` yields them."""
        targets = _targets(self.total, process=process, seed=seed)
        cells = np.searchsorted(self.reached, targets, side="right")
        keep = cells < len(self.reached)
        targets, cells = targets[keep], cells[keep]
        before = np.concatenate(([0.0], self.reached))[cells]
        times: np.ndarray = self.starts[cells] + (targets - before) / self.rates[cells]
        return times


def _targets(total: float, *, process: Process, seed: int) -> np.ndarray:
    """The values of the cumulative intensity at which arrivals happen, up to ``total``."""
    if process != "poisson":
        return 0.5 + np.arange(max(0, math.ceil(total - 0.5)), dtype="float64")
    rng = random.Random(seed)  # noqa: S311 - the load driver's generator, for identical draws
    uniforms: list[float] = []
    while True:
        count = int(total - len(uniforms) + 4 * math.sqrt(total) + 16)
        uniforms.extend([rng.random() for _ in range(count)])
        # random.expovariate(1.0) is -log(1 - random()) / 1.0: the same draws, vectorised
        targets = np.cumsum(-np.log(1.0 - np.array(uniforms, dtype="float64")))
        if targets[-1] >= total:
            return targets[targets < total]

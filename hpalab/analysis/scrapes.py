"""When Prometheus scraped, and what ``rate()`` saw, rebuilt from the recorded request counter.

``prometheus.csv`` holds the request counter per pod at 1 s resolution. A query at a given
instant returns the last scraped sample, so the recorded value changes one step after each
scrape: the instants of change are the scrape times (to within a second). From them the
waterfall places the first scrape after a load step and the instant ``rate()`` over the
adapter's window first crossed the HPA's threshold, independently of when the HPA looked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
_COUNTER = re.compile(r"_total\b")
_FUNCTIONS = re.compile(r"\b(rate|irate|increase|delta|deriv)\s*\(")


def counter_query(queries: list[str]) -> str | None:
    """The recorded query that returns a raw request counter (a ``*_total`` series, no
    ``rate()``-like function), or ``None``."""
    for query in queries:
        if _COUNTER.search(query) and not _FUNCTIONS.search(query):
            return query
    return None


@dataclass(frozen=True)
class Counters:
    """Scrape samples of a counter, per series: the instants a new value appeared, the values."""

    series: tuple[tuple[FloatArray, FloatArray], ...]
    start_s: float = -math.inf
    """Start of the recording: no sample before it is known."""

    def covers(self, t_s: float, window_s: float) -> bool:
        """Whether the recording holds the whole window ``[t_s − window_s, t_s]``."""
        return t_s - window_s >= self.start_s

    def first_scrape_after(self, t_s: float) -> float:
        """The first instant after ``t_s`` at which any series got a new sample; inf if none."""
        later = [float(times[times > t_s][0]) for times, _ in self.series if (times > t_s).any()]
        return min(later) if later else math.inf

    def total_rate(self, t_s: float, window_s: float) -> float:
        """Sum over series of the slope between the first and last sample in
        ``[t_s − window_s, t_s]`` (what ``sum(rate(...))`` reports, without extrapolation).
        A series with fewer than two samples in the window adds nothing; resets count as 0."""
        total = 0.0
        for times, values in self.series:
            inside = (times >= t_s - window_s) & (times <= t_s)
            if inside.sum() >= 2:
                t, v = times[inside], values[inside]
                total += max(0.0, float(v[-1] - v[0])) / float(t[-1] - t[0])
        return total


def counters_from_rows(rows: pd.DataFrame) -> Counters:
    """Counters from one trial's rows of prometheus.csv for one query (``t_s, labels, value``).

    The first recorded value of a series is dropped when it is at the start of the recording:
    it is an older sample whose scrape time is unknown.
    """
    if rows.empty:
        return Counters(())
    start = float(rows["t_s"].min())
    out = []
    for _, group in rows.sort_values("t_s").groupby("labels", sort=False):
        times = group["t_s"].to_numpy(dtype="float64")
        values = group["value"].to_numpy(dtype="float64")
        changed = np.concatenate([[times[0] > start], values[1:] != values[:-1]])
        if changed.any():
            out.append((times[changed], values[changed]))
    return Counters(tuple(out), start)

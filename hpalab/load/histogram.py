"""Latency histograms that merge exactly: per second, per worker, then summed.

Percentiles do not add up across workers or seconds; counts in fixed buckets do. Buckets are
logarithmic with a 2% width, so any percentile read back is within 2% of the true sample.
Pure code: no clocks, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

RESOLUTION = 1.02
"""Ratio between bucket bounds: a reported percentile is within 2% of the exact one."""
FLOOR_MS = 0.01
"""Latencies below 10 µs share the lowest bucket."""
_LOG = math.log(RESOLUTION)


def bucket_of(latency_ms: float) -> int:
    """The bucket index of a latency in milliseconds (negative values count as 0)."""
    if latency_ms <= FLOOR_MS:
        return 0
    return int(math.log(latency_ms / FLOOR_MS) / _LOG) + 1


def bucket_value(index: int) -> float:
    """A representative latency of bucket ``index`` (the geometric middle), in ms."""
    if index <= 0:
        return FLOOR_MS
    return float(FLOOR_MS * RESOLUTION ** (index - 0.5))


class Histogram:
    """Counts of latencies per bucket; add samples, merge others, read percentiles."""

    __slots__ = ("buckets", "count")

    def __init__(self, buckets: Mapping[int, int] | None = None) -> None:
        self.buckets: dict[int, int] = dict(buckets or {})
        self.count = sum(self.buckets.values())

    def add(self, latency_ms: float) -> None:
        index = bucket_of(latency_ms)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1

    def merge(self, other: Histogram | Mapping[int, int]) -> None:
        """Add another histogram's counts to this one."""
        buckets = other.buckets if isinstance(other, Histogram) else other
        for index, n in buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
            self.count += n

    def percentile(self, q: float) -> float | None:
        """The ``q``-quantile (0 < q ≤ 1) in ms; ``None`` when there are no samples."""
        if not 0 < q <= 1:
            raise ValueError(f"q must be in (0, 1], got {q}")
        if self.count == 0:
            return None
        rank = math.ceil(q * self.count)
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return bucket_value(index)
        return bucket_value(max(self.buckets))  # pragma: no cover - rank ≤ count always

    def mean(self) -> float | None:
        """The mean latency in ms (from bucket middles); ``None`` when there are no samples."""
        if self.count == 0:
            return None
        return sum(bucket_value(i) * n for i, n in self.buckets.items()) / self.count

    def to_wire(self) -> dict[str, int]:
        """JSON-ready form (keys are strings in JSON)."""
        return {str(k): v for k, v in self.buckets.items()}

    @classmethod
    def from_wire(cls, data: Mapping[str, int]) -> Histogram:
        return cls({int(k): int(v) for k, v in data.items()})


def merged(histograms: Iterable[Histogram]) -> Histogram:
    """One histogram with the counts of all of ``histograms``."""
    out = Histogram()
    for h in histograms:
        out.merge(h)
    return out

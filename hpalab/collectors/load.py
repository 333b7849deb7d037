"""The load generator's per-second measurements as timeseries signals."""

from __future__ import annotations

from typing import Protocol


class LoadView(Protocol):
    """What this collector reads of a load sample."""

    @property
    def offered_rps(self) -> float: ...
    @property
    def achieved_rps(self) -> float: ...
    @property
    def users(self) -> float: ...
    @property
    def failures(self) -> float: ...
    @property
    def latency_p50_ms(self) -> float | None: ...
    @property
    def latency_p95_ms(self) -> float | None: ...
    @property
    def latency_p99_ms(self) -> float | None: ...

    @property
    def error_rate(self) -> float: ...


def load_signals(sample: LoadView) -> dict[str, float]:
    """Signal name → value for one second of load; missing latencies are left out."""
    signals = {
        "offered_rps": sample.offered_rps,
        "achieved_rps": sample.achieved_rps,
        "users": sample.users,
        "error_rate": sample.error_rate,
    }
    for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        value = getattr(sample, name)
        if value is not None:
            signals[name] = value
    return signals

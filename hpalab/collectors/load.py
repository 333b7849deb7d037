"""The load generator's per-second measurements as timeseries signals."""

from __future__ import annotations

from typing import Protocol


class LoadView(Protocol):
    """What this collector reads of a load sample."""

    def signals(self) -> dict[str, float]: ...


def load_signals(sample: LoadView) -> dict[str, float]:
    """Signal name → value for one second of load (the generator's own signal set)."""
    return {name: float(value) for name, value in sample.signals().items()}

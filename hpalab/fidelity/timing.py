"""When the real controller synced against when the engine's version model says it does: the
first sync of the new HPA and the first sync after each change of its spec
(``hpalab.autoscaling.hpa.queueing``)."""

from __future__ import annotations

from dataclasses import dataclass

from hpalab.autoscaling.hpa import ControllerConfig
from hpalab.autoscaling.hpa.queueing import immediate, sync_delay_s


@dataclass
class TimingCheck:
    """One event that queues the HPA, and the time from it to the sync it caused."""

    event: str
    """``created`` or ``changed``."""
    at_s: float
    """Seconds since the HPA was created."""
    real_s: float | None
    """Seconds from the event to the real controller's next sync (None: no sync after it)."""
    engine_s: float
    """The same by the engine's version model."""
    difference: str = ""


def check_timing(
    config: ControllerConfig, *, started_s: float, updated_s: list[float], syncs_s: list[float]
) -> list[TimingCheck]:
    """Compare the real sync times ``syncs_s`` (wall clock, each burst's first request) with
    the version model, for the creation at ``started_s`` and each spec change in ``updated_s``.

    A sync counts as the expected one within half a sync period (at most one second), the
    margin that also separates syncs. For a change that is not synced at once the model only
    says "at the next periodic sync": one period after the last sync before the change.
    """
    slack = min(1.0, config.sync_period_s / 2)
    out = []
    first = syncs_s[0] - started_s if syncs_s else None
    check = TimingCheck("created", 0.0, first, sync_delay_s(config, "add"))
    if first is None or abs(first - check.engine_s) > slack:
        check.difference = f"first sync real {_s(first)} engine {check.engine_s:.1f} s"
    out.append(check)
    for changed in updated_s:
        after = [t for t in syncs_s if t >= changed - slack / 2]
        before = [t for t in syncs_s if t < changed - slack / 2]
        real = after[0] - changed if after else None
        if immediate(config, "update", generation_changed=True) or not before:
            engine = sync_delay_s(config, "update", generation_changed=True)
        else:
            engine = max(0.0, before[-1] + config.sync_period_s - changed)
        check = TimingCheck("changed", round(changed - started_s, 2), real, engine)
        if real is None or abs(real - engine) > slack:
            check.difference = f"sync after the change real {_s(real)} engine {engine:.1f} s"
        out.append(check)
    return out


def _s(value: float | None) -> str:
    return "none" if value is None else f"{value:.1f} s"

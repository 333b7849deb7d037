"""When the controller syncs an HPA after an informer event: its work queue, as data.

Every sync ends with ``AddRateLimited``, so an HPA is synced once per sync period. An event
queued with ``Add`` is synced at once, one extra sync between the periodic ones (the waiting
periodic entry keeps its earlier time, so the cadence does not move); one queued with
``AddRateLimited`` waits for the next periodic sync. Which events are queued how depends on the
version (``versions.features``): a new HPA is queued with ``Add`` from 1.37, a spec change (a
new ``metadata.generation``) with ``Add`` when HPAGeneration is on, every other update with
``AddRateLimited``.
"""

from __future__ import annotations

from typing import Literal

from hpalab.autoscaling.hpa.model import ControllerConfig

Event = Literal["add", "update"]


def immediate(config: ControllerConfig, event: Event, *, generation_changed: bool = False) -> bool:
    """Whether ``event`` (an HPA added, or updated with or without a new generation) is synced
    at once rather than at the next periodic sync."""
    if event == "add":
        return config.reconcile_on_create
    return config.reconcile_on_spec_change and generation_changed


def sync_delay_s(
    config: ControllerConfig, event: Event, *, generation_changed: bool = False
) -> float:
    """Seconds from ``event`` to the sync it causes: 0, or at most one sync period (exactly one
    for a new HPA, which has no periodic sync yet)."""
    return (
        0.0
        if immediate(config, event, generation_changed=generation_changed)
        else (config.sync_period_s)
    )

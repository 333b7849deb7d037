"""The local platform's first HPA sync: at once from 1.37, one sync period later before."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import pytest

from hpalab.autoscaling.hpa import ControllerConfig
from hpalab.platforms.local.controlplane import ControlPlane

HPA = {
    "maxReplicas": 4,
    "metrics": [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "rps"},
                "target": {"type": "AverageValue", "averageValue": "10"},
            },
        }
    ],
}


async def _first_sync_after(config: ControllerConfig) -> float:
    control = ControlPlane(
        hpa=HPA,
        config=config,
        supervisor=None,  # type: ignore[arg-type]  # sync_once is replaced below
        metrics=None,  # type: ignore[arg-type]
        events=deque(),
        cpu_request_milli=100,
    )
    stop = asyncio.Event()
    synced: list[float] = []

    async def sync_once() -> Any:
        synced.append(time.monotonic())
        stop.set()

    control.sync_once = sync_once  # type: ignore[method-assign]
    started = time.monotonic()
    await asyncio.wait_for(control.run(stop), timeout=5)
    return synced[0] - started


@pytest.mark.parametrize(("on_create", "low", "high"), [(True, 0.0, 0.2), (False, 0.5, 2.0)])
def test_first_sync_follows_the_version(on_create: bool, low: float, high: float) -> None:
    config = ControllerConfig(sync_period_s=0.6, reconcile_on_create=on_create)
    assert low <= asyncio.run(_first_sync_after(config)) < high

"""The local control plane: the HPA controller run every sync period against the replicas.

Each sync reads the pods (from the supervisor) and the metric APIs (:class:`MetricsAPI`), runs
the embedded HPA engine, writes the new scale to the supervisor when it changes, and records
an ``hpa_decision`` event (plus ``hpa_rescale`` when the scale changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from hpalab.autoscaling.hpa import Container, ControllerConfig, HPAController, Pod, SyncResult
from hpalab.autoscaling.hpa.queueing import sync_delay_s
from hpalab.autoscaling.hpa.readout import decision_detail
from hpalab.platforms.base import PlatformEvent
from hpalab.platforms.local.metricsapi import CONTAINER, MetricsAPI
from hpalab.platforms.local.replicas import Replica
from hpalab.platforms.local.supervisor import Supervisor

HPA_NAME = "sample-app"


def pods_for_hpa(supervisor: Supervisor, *, cpu_request_milli: int) -> list[Pod]:
    """The pods the HPA's selector matches: counted replicas, plus terminating ones as deleted."""
    counted = [_pod(r, cpu_request_milli, deleted=False) for r in supervisor.replicas.values()]
    leaving = [_pod(r, cpu_request_milli, deleted=True) for r in supervisor.terminating.values()]
    return counted + leaving


def _pod(replica: Replica, cpu_request_milli: int, *, deleted: bool) -> Pod:
    running = replica.pid is not None
    return Pod(
        name=replica.name,
        phase="Running" if running else "Pending",
        ready="True" if replica.ready else "False",
        ready_transition_s=replica.ready_changed_at,
        start_s=replica.created_at,
        deleted=deleted,
        containers=(Container(CONTAINER, {"cpu": cpu_request_milli}),),
    )


class ControlPlane:
    """Runs one HPA against one supervisor every ``config.sync_period_s`` seconds."""

    def __init__(
        self,
        *,
        hpa: dict[str, Any],
        config: ControllerConfig,
        supervisor: Supervisor,
        metrics: MetricsAPI,
        events: deque[PlatformEvent],
        cpu_request_milli: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        spec = dict(hpa)
        spec.setdefault("scaleTargetRef", {"kind": "Deployment", "name": HPA_NAME})
        self.controller = HPAController(spec, config)
        self.config = config
        self.supervisor = supervisor
        self.metrics = metrics
        self.events = events
        self.cpu_request_milli = cpu_request_milli
        self.clock = clock
        self.last: SyncResult | None = None
        self.first_sync_at = clock() + sync_delay_s(config, "add")
        """Wall-clock time of the first sync, counted from the creation, as the controller
        counts from the HPA's; the next come every sync period after it (the loop keeps the
        period, whatever a sync takes)."""

    def reset(self) -> None:
        """Forget the recommendation and scale-event history, as a new HPA object would."""
        self.controller = HPAController(self.controller.spec, self.config)
        self.last = None

    async def run(self, stop: asyncio.Event) -> None:
        """Sync every period until ``stop`` is set; a failing sync is recorded, not fatal.

        The first sync comes ``sync_delay_s(config, "add")`` after the creation: at once from
        Kubernetes 1.37, one period later before."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, self.first_sync_at - self.clock()))
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.sync_once()
            except Exception as error:
                self.events.append(
                    PlatformEvent(self.clock(), "fault", f"hpa/{HPA_NAME}", {"error": repr(error)})
                )
            wait = max(0.0, self.config.sync_period_s - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    async def sync_once(self) -> SyncResult:
        """One HPA sync now; applies a rescale to the supervisor."""
        now = self.clock()
        pods = pods_for_hpa(self.supervisor, cpu_request_milli=self.cpu_request_milli)
        counted = [p.name for p in pods if not p.deleted]
        snapshot = await self.metrics.snapshot(self.controller.spec, pods=counted, now=now)
        current = self.supervisor.desired
        result = self.controller.sync(
            now,
            spec_replicas=current,
            status_replicas=len(counted),
            pods=pods,
            metrics=snapshot,
        )
        self.last = result
        obj = f"hpa/{HPA_NAME}"
        self.events.append(
            PlatformEvent(
                now,
                "hpa_decision",
                obj,
                decision_detail(current, result),
            )
        )
        if result.rescale and result.desired_replicas != current:
            self.supervisor.scale(result.desired_replicas)
            self.events.append(
                PlatformEvent(
                    now,
                    "hpa_rescale",
                    obj,
                    {
                        "old": current,
                        "new": result.desired_replicas,
                        "reason": result.rescale_reason,
                    },
                )
            )
        return result

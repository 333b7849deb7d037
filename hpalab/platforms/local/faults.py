"""Faults of ``spec.events`` injected into the local stack, and taken back.

Each fault acts where the real one would: ``killPods`` SIGKILLs replica processes and the
replica set replaces them; ``prometheusOutage`` kills the real Prometheus and keeps it down
(the watchdog waits) until the end, when it restarts on its own data; ``adapterOutage`` and
``metricsServerOutage`` make the metrics APIs answer the aggregator's 503; ``scrapeDelay``
and ``appSlowdown`` reach every replica, the ones started meanwhile too, through the fault
file the sample app watches. All methods run on the platform's event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpalab.errors import PlatformError
from hpalab.platforms.local.metricsapi import Outages
from hpalab.platforms.local.prometheus import PrometheusServer
from hpalab.platforms.local.supervisor import Supervisor
from hpalab.specs.events import COMPONENT, AnyEvent, KillPods, killed_count, slowdown_fields

FAULT_FILE = "faults.json"


class LocalFaults:
    """The faults active on one local stack, at most one per component."""

    def __init__(
        self,
        *,
        fault_file: Path,
        outages: Outages,
        prometheus: PrometheusServer,
        supervisor: Callable[[], Supervisor | None],
    ) -> None:
        self.fault_file = fault_file
        self.outages = outages
        self.prometheus = prometheus
        self.supervisor = supervisor
        self.prometheus_held = False
        """True while an outage keeps Prometheus down: the watchdog must not restart it."""
        self.active: dict[str, AnyEvent] = {}
        self._slowdown: dict[str, float] = {}

    async def start(self, event: AnyEvent) -> dict[str, Any]:
        """Inject ``event`` now; the returned fields go into its ``fault_injected`` event.

        Raises:
            PlatformError: the local platform cannot inject this type.
        """
        if isinstance(event, KillPods):
            return self._kill(event)
        component = COMPONENT[event.type]
        if event.type == "prometheusOutage":
            self.prometheus_held = True
            pid = self.prometheus.pid
            await asyncio.to_thread(self.prometheus.kill)
            detail: dict[str, Any] = {"pid": pid, "signal": "SIGKILL"}
        elif event.type == "adapterOutage":
            self.outages.custom = True
            detail = {"status": 503, "apis": ["custom.metrics.k8s.io", "external.metrics.k8s.io"]}
        elif event.type == "metricsServerOutage":
            self.outages.resource = True
            detail = {"status": 503, "apis": ["metrics.k8s.io"]}
        elif (fields := slowdown_fields(event)) is not None:
            detail = self._slow(**fields)
        else:
            raise PlatformError(f"the local platform cannot inject {event.type}")
        self.active[component] = event
        return detail

    async def end(self, event: AnyEvent) -> dict[str, Any]:
        """Take ``event`` back; the returned fields go into its ``fault_cleared`` event."""
        component = COMPONENT[event.type]
        if self.active.get(component) is not event:
            return {}
        del self.active[component]
        if event.type == "prometheusOutage":
            try:
                await asyncio.to_thread(self.prometheus.start)
            finally:
                self.prometheus_held = False
            return {"pid": self.prometheus.pid}
        if event.type == "adapterOutage":
            self.outages.custom = False
        elif event.type == "metricsServerOutage":
            self.outages.resource = False
        elif (fields := slowdown_fields(event)) is not None:
            self._slow(**dict.fromkeys(fields, 0.0))
        return {}

    async def clear(self) -> list[AnyEvent]:
        """End every active fault (a new trial, or the platform stopping); the ones ended."""
        ended = list(self.active.values())
        for event in ended:
            await self.end(event)
        self._slowdown.clear()
        self._write()
        return ended

    def _kill(self, event: KillPods) -> dict[str, Any]:
        supervisor = self.supervisor()
        if supervisor is None:
            raise PlatformError("the local platform is not started")
        count = killed_count(event, len(supervisor.replicas))
        ready = {name for name, replica in supervisor.replicas.items() if replica.ready}
        killed = supervisor.lose(count)
        return {
            "killed": killed,
            "of": len(supervisor.replicas) + count,
            "ready_killed": len(ready.intersection(killed)),
        }

    def _slow(self, **values: float) -> dict[str, Any]:
        self._slowdown.update(values)
        self._write()
        return {k: v for k, v in values.items() if v > 0}

    def _write(self) -> None:
        # The app re-reads the file when it changes; replace it whole, never half-written.
        tmp = self.fault_file.with_name(f".{self.fault_file.name}.tmp")
        tmp.write_text(json.dumps({k: v for k, v in self._slowdown.items() if v > 0}))
        tmp.replace(self.fault_file)

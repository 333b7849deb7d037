"""``LocalPlatform``: the whole stack as real processes on 127.0.0.1, no cluster.

Prometheus and HAProxy are child processes; the replica supervisor, the CPU meter, the
Prometheus watchdog and the HPA control plane run as tasks on one asyncio event loop in a
background thread, so the :class:`~hpalab.platforms.base.Platform` methods stay synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from hpalab.errors import HpalabError, PlatformError
from hpalab.platforms.base import Platform, PlatformEvent, Snapshot
from hpalab.platforms.local.controlplane import ControlPlane
from hpalab.platforms.local.faults import FAULT_FILE, LocalFaults
from hpalab.platforms.local.frontdoor import METRICS_PATH, FrontDoor, find_haproxy
from hpalab.platforms.local.keda import KedaScaledObject
from hpalab.platforms.local.metrics import CpuMeter
from hpalab.platforms.local.metricsapi import MetricsAPI, Outages
from hpalab.platforms.local.observing import fingerprint, snapshot_of
from hpalab.platforms.local.processes import signal_group
from hpalab.platforms.local.prometheus import PrometheusServer, ScrapeTarget, find_prometheus
from hpalab.platforms.local.replicas import Replica
from hpalab.platforms.local.settings import LabSettings, settings_from_spec
from hpalab.platforms.local.supervisor import Supervisor, unready_log

T = TypeVar("T")


class LocalPlatform(Platform):
    """The local stack under ``workdir``; ports are picked free unless given."""

    name = "local"

    def __init__(
        self,
        workdir: Path,
        settings: LabSettings | None = None,
        *,
        port: int | None = None,
        prometheus_port: int | None = None,
        slots: int = 64,
    ) -> None:
        self.workdir = workdir
        self.settings = self._with_fault_file(settings or LabSettings())
        self.outages = Outages()
        self.faults: LocalFaults | None = None
        self._port = port
        self._prometheus_port = prometheus_port
        self._slots = slots
        self.events: deque[PlatformEvent] = deque()
        self.prometheus: PrometheusServer | None = None
        self.frontdoor: FrontDoor | None = None
        self.supervisor: Supervisor | None = None
        self.control: ControlPlane | None = None
        self.meter = CpuMeter(window_s=self.settings.metric_resolution_s)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._hpa_task: asyncio.Task[None] | None = None
        self.keda: KedaScaledObject | None = None
        self._keda_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._interrupted = False

    # -- Platform --------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self.workdir.mkdir(parents=True, exist_ok=True)
        prometheus_binary, haproxy_binary = find_prometheus(), find_haproxy()
        self.prometheus = PrometheusServer(
            self.workdir / "prometheus",
            scrape_interval_s=self.settings.scrape_interval_s,
            evaluation_interval_s=self.settings.evaluation_interval_s,
            port=self._prometheus_port,
            binary=prometheus_binary,
        )
        max_replicas = int((self.settings.hpa or {}).get("maxReplicas", 0))
        self.frontdoor = FrontDoor(
            self.workdir / "frontdoor",
            port=self._port,
            slots=max(self._slots, max_replicas + 8),
            binary=haproxy_binary,
        )
        self.faults = LocalFaults(
            fault_file=self.workdir / FAULT_FILE,
            outages=self.outages,
            prometheus=self.prometheus,
            supervisor=lambda: self.supervisor,
        )
        self.prometheus.start()
        self.frontdoor.start()
        loop_ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(loop_ready,), name="hpalab-local", daemon=True
        )
        self._thread.start()
        loop_ready.wait(timeout=10)
        self.reset()

    def stop(self) -> None:
        self._stopping = True
        if self._loop is not None and self._stop is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=self.settings.grace_s + 10)
        if self.supervisor is not None:  # whatever the loop could not stop in time
            for pid in self.supervisor.pids().values():
                signal_group(pid, signal.SIGKILL)
        if self.frontdoor is not None:
            self.frontdoor.stop()
        if self.prometheus is not None:
            self.prometheus.stop()
        self._loop = self._thread = None

    def apply_variant(self, spec: Any) -> None:
        """Reconfigure for a resolved ``ExperimentSpec`` (keeps the local-only options)."""
        current = self.settings
        settings = settings_from_spec(
            spec,
            metric_resolution_s=current.metric_resolution_s,
            relist_interval_s=current.relist_interval_s,
            backoff=current.backoff,
            prometheus_restart_delay_s=current.prometheus_restart_delay_s,
        )
        self.configure(settings)

    def configure(self, settings: LabSettings) -> None:
        """Switch to ``settings``: replicas of a changed pod template are replaced."""
        old, self.settings = self.settings, self._with_fault_file(settings)
        settings = self.settings
        if self._loop is None:
            return
        assert self.prometheus is not None
        if (old.scrape_interval_s, old.evaluation_interval_s) != (
            settings.scrape_interval_s,
            settings.evaluation_interval_s,
        ):
            self.prometheus.configure(
                scrape_interval_s=settings.scrape_interval_s,
                evaluation_interval_s=settings.evaluation_interval_s,
            )
        self._call(self._reconfigure(old))
        self.reset()

    def reset(self) -> None:
        self._interrupted = False
        self._call(self._reset(), timeout_s=self.settings.ready_timeout_s + 5)

    def interrupt(self) -> None:
        self._interrupted = True

    def sync_anchor(self) -> tuple[float, float] | None:
        control = self.control
        return None if control is None else (control.first_sync_at, control.config.sync_period_s)

    def start_fault(self, event: Any) -> dict[str, Any]:
        assert self.faults is not None
        return self._call(self.faults.start(event))

    def end_fault(self, event: Any) -> dict[str, Any]:
        assert self.faults is not None
        return self._call(self.faults.end(event))

    def _with_fault_file(self, settings: LabSettings) -> LabSettings:
        """``settings`` whose replicas watch this stack's fault file."""
        template = replace(settings.template, fault_file=str(self.workdir / FAULT_FILE))
        return replace(settings, template=template)

    @property
    def load_url(self) -> str:
        if self.frontdoor is None:
            raise PlatformError("the local platform is not started")
        return self.frontdoor.url

    @property
    def prometheus_url(self) -> str:
        if self.prometheus is None:
            raise PlatformError("the local platform is not started")
        return self.prometheus.url

    def observe(self) -> Snapshot:
        return self._call(self._observe())

    def drain_events(self) -> list[PlatformEvent]:
        out = []
        while self.events:
            out.append(self.events.popleft())
        return out

    def fingerprint(self) -> dict[str, Any]:
        return fingerprint(self.settings, self.prometheus, self.frontdoor)

    def pids(self) -> dict[str, int]:
        """Every live process of the stack: ``prometheus``, ``haproxy`` and each pod."""
        out: dict[str, int] = {}
        if self.prometheus is not None and self.prometheus.running and self.prometheus.pid:
            out["prometheus"] = self.prometheus.pid
        if self.frontdoor is not None and self.frontdoor.pid:
            out["haproxy"] = self.frontdoor.pid
        if self.supervisor is not None:
            out.update(self.supervisor.pids())
        return out

    # -- the event loop thread -------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], *, timeout_s: float = 30.0) -> T:
        if self._loop is None:
            coro.close()
            raise PlatformError("the local platform is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout_s)

    def _thread_main(self, loop_ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(loop_ready))
        finally:
            loop.close()

    async def _main(self, loop_ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        self.supervisor = self._new_supervisor()
        self.metrics = self._new_metrics()
        loop_ready.set()
        background = [
            asyncio.create_task(self._meter_loop(self._stop)),
            asyncio.create_task(self._prometheus_watchdog(self._stop)),
        ]
        try:
            await self.supervisor.run(self._stop)
        finally:
            if self._hpa_task is not None:
                self._hpa_task.cancel()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self.metrics.close()

    def _new_metrics(self) -> MetricsAPI:
        prometheus = self.prometheus
        assert prometheus is not None
        return MetricsAPI(
            meter=self.meter,
            prometheus_url=lambda: prometheus.url,
            adapter=self.settings.adapter,
            namespace=self.settings.namespace,
            relist_interval_s=self.settings.relist_interval_s,
            outages=self.outages,
        )

    def _new_supervisor(self) -> Supervisor:
        assert self.frontdoor is not None
        return Supervisor(
            self.workdir / "pods",
            self.settings.template,
            router=self.frontdoor,
            probe=self.settings.probe,
            backoff=self.settings.backoff,
            grace_s=self.settings.grace_s,
            on_change=self._targets_changed,
            events=self.events,
        )

    def _targets_changed(self, replicas: list[Replica]) -> None:
        if self.prometheus is not None:
            path = self.settings.template.metrics_path
            extra = {} if path == "/metrics" else {"__metrics_path__": path}
            namespace = self.settings.namespace
            targets = [
                ScrapeTarget(
                    f"127.0.0.1:{r.port}", pod=r.name, namespace=namespace, extra_labels=extra
                )
                for r in replicas
                if r.pid is not None
            ]
            if self.settings.keda is not None and self.frontdoor is not None:
                # scale from zero needs a request count that exists while no pod does
                address = self.frontdoor.url.removeprefix("http://")
                extra = {"__metrics_path__": METRICS_PATH}
                targets.append(
                    ScrapeTarget(address, pod="", service="frontdoor", extra_labels=extra)
                )
            self.prometheus.set_targets(targets)

    async def _reconfigure(self, old: LabSettings) -> None:
        assert self.supervisor is not None and self.prometheus is not None
        sup = self.supervisor
        await self._stop_hpa()  # it must not sync against the metrics API replaced below
        if old.template != self.settings.template:
            sup.scale(0)
            while sup.replicas or sup.terminating:
                await asyncio.sleep(0.05)
            sup.template = self.settings.template
        sup.probe, sup.backoff, sup.grace_s = (
            self.settings.probe,
            self.settings.backoff,
            self.settings.grace_s,
        )
        self.meter.window_s = self.settings.metric_resolution_s
        await self.metrics.close()
        self.metrics = self._new_metrics()

    async def _stop_hpa(self) -> None:
        for task in (self._hpa_task, self._keda_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._hpa_task = self._keda_task = None
        self.metrics.external_source = None
        if self.keda is not None:
            await self.keda.close()
            self.keda = None

    def _start_keda(self) -> None:
        """KEDA's operator loop and metrics server for a ``spec.keda`` variant."""
        assert self.supervisor is not None and self.prometheus is not None and self._stop
        if self.settings.keda is None:
            return
        prometheus = self.prometheus
        self.keda = KedaScaledObject(
            self.settings.keda,
            supervisor=self.supervisor,
            prometheus_url=lambda: prometheus.url,
            events=self.events,
        )
        self.metrics.external_source = self.keda
        self._keda_task = asyncio.create_task(self.keda.run(self._stop))

    async def _reset(self) -> None:
        assert self.supervisor is not None and self._stop is not None
        await self._stop_hpa()
        if self.faults is not None:
            await self.faults.clear()
        sup = self.supervisor
        sup.scale(self.settings.initial_replicas)
        timeout_s = self.settings.ready_timeout_s
        deadline = time.monotonic() + timeout_s
        while not sup.all_ready():
            if self._interrupted:
                raise PlatformError("interrupted while waiting for the replicas to be Ready")
            if time.monotonic() > deadline:
                raise PlatformError(
                    f"replicas not all Ready within {timeout_s:g} s{unready_log(sup)}",
                    hint=f"read the replica logs in {self.workdir / 'pods'}; a program that "
                    "starts slowly needs a longer spec.app.startupTimeout",
                )
            await asyncio.sleep(0.02)
        self.control = None
        if self.settings.hpa is not None:
            self.control = ControlPlane(
                hpa=self.settings.hpa,
                config=self.settings.controller,
                supervisor=sup,
                metrics=self.metrics,
                events=self.events,
                cpu_request_milli=round(self.settings.template.cpu_request_millicores),
            )
            self._hpa_task = asyncio.create_task(self.control.run(self._stop))
        self._start_keda()
        self._targets_changed(list(sup.replicas.values()))

    async def _observe(self) -> Snapshot:
        assert self.supervisor is not None
        return snapshot_of(self.supervisor, self.control, self.settings)

    async def _meter_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.supervisor is not None:
                self.meter.sample(self.supervisor.pids(), time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def _prometheus_watchdog(self, stop: asyncio.Event) -> None:
        """Restart a Prometheus that died, after the restart delay, recording both as faults."""
        prom = self.prometheus
        assert prom is not None
        while not stop.is_set():
            await asyncio.sleep(0.2)
            held = self.faults is not None and self.faults.prometheus_held
            if prom.running or self._stopping or held:
                continue
            detail = {"state": "down", "exit_code": prom.exit_code}
            self.events.append(PlatformEvent(time.time(), "fault", "prometheus", detail))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.prometheus_restart_delay_s)
            if stop.is_set() or self._stopping:
                return
            try:
                # the new Prometheus dies with the executor thread that starts it (see
                # hpalab.lifetime); that thread lives until stop() closes the loop
                await asyncio.to_thread(prom.start)
                state = {"state": "restarted", "pid": prom.pid}
            except HpalabError as error:
                state = {"state": "restart_failed", "error": error.message}
            self.events.append(PlatformEvent(time.time(), "fault", "prometheus", state))

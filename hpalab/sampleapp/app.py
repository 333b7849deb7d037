"""The sample app: an aiohttp server whose per-request cost is set by its configuration.

``GET /`` burns ``cpu_per_request_s`` of CPU on the event loop (so one replica behaves like a
single-core pod: its capacity is about ``1 / cpu_per_request_s`` requests/s), then sleeps
``latency_s`` without holding the CPU (a downstream call). With ``concurrency`` set, a request
holds one of that many worker slots for its whole service time; requests beyond it wait in a
FIFO queue, and once ``queue_limit`` are waiting a new one is answered 503 at once. A replica
then behaves like a thread-pool server: its capacity is ``concurrency / (cpu + latency)``
requests/s, and overload shows up as queueing latency and errors without burning CPU.
``/healthz`` is the liveness probe,
``/readyz`` the readiness probe: it answers 503 until ``startup_delay_s`` has passed since the
process started. ``/metrics`` serves the Prometheus text format.

The probe and scrape endpoints are not counted in ``http_requests_total``: a request-rate
metric built on it then measures business traffic only, on every platform.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from hpalab.sampleapp.faults import NONE, FaultFile

_UNCOUNTED = frozenset({"/metrics", "/healthz", "/readyz"})
_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class AppConfig:
    """How one replica of the sample app behaves."""

    cpu_per_request_s: float = 0.0
    """CPU busy-work per ``GET /``, in seconds of process CPU time; 0 for none."""
    latency_s: float = 0.0
    """Extra asynchronous wait per ``GET /``, in seconds; it costs no CPU."""
    startup_delay_s: float = 0.0
    """Seconds after start before ``/readyz`` answers 200."""
    pod_name: str = ""
    """Name reported in ``GET /`` responses; empty when unknown."""
    fault_file: str = ""
    """A JSON file of injected slowdowns (see :mod:`hpalab.sampleapp.faults`); empty: none."""
    concurrency: int = 0
    """Worker slots: requests served at once; 0 for no limit."""
    queue_limit: int | None = None
    """Requests that may wait for a slot; more are answered 503. None for no limit."""

    def __post_init__(self) -> None:
        for name in ("cpu_per_request_s", "latency_s", "startup_delay_s"):
            value = getattr(self, name)
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"{name} must be a number ≥ 0, got {value!r}")
        if self.concurrency < 0:
            raise ValueError(f"concurrency must be ≥ 0, got {self.concurrency}")
        if self.queue_limit is not None and self.queue_limit < 0:
            raise ValueError(f"queue_limit must be ≥ 0, got {self.queue_limit}")


class AppMetrics:
    """The app's own Prometheus registry (no default globals: two apps in one test coexist)."""

    def __init__(self) -> None:
        # ``*_created`` series double the payload and no adapter rule reads them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests served, by method, route and status code.",
            ("method", "path", "status"),
            registry=self.registry,
        )
        # The series of the served route exists at 0 from the start: a rate() over it is 0
        # rather than absent, so an adapter rule serves a value (and the HPA is ScalingActive)
        # before the first request, as in a service that is up but idle.
        self.requests.labels("GET", "/", "200")
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from request received to response ready, by method and route.",
            ("method", "path"),
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "Requests being served right now.",
            registry=self.registry,
        )
        self.queued = Gauge(
            "http_requests_queued",
            "Requests waiting for a worker slot right now.",
            registry=self.registry,
        )


class WorkerSlots:
    """``concurrency`` slots with a bounded FIFO queue in front, as a thread pool has."""

    def __init__(self, *, concurrency: int, queue_limit: int | None, queued: Gauge) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._limit = queue_limit
        self._waiting = 0
        self._queued = queued

    def full(self) -> bool:
        """True when a new request would be refused: every slot busy and the queue full."""
        if self._limit is None:
            return False
        return self._slots.locked() and self._waiting >= self._limit

    async def acquire(self) -> None:
        """Wait for a slot (first come, first served)."""
        self._waiting += 1
        self._queued.set(self._waiting)
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
            self._queued.set(self._waiting)

    def release(self) -> None:
        self._slots.release()


def burn_cpu(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` of CPU time (wall time may be longer)."""
    if seconds <= 0:
        return
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def _route_of(request: web.Request) -> str:
    # The route template, not the raw path: unknown paths share one label value, so a client
    # probing random URLs cannot blow up the series count.
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


def _instrument(metrics: AppMetrics) -> Middleware:
    """The middleware that counts and times every request except probes and scrapes."""

    @web.middleware
    async def instrument(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in _UNCOUNTED:
            return await handler(request)
        path = _route_of(request)
        metrics.in_flight.inc()
        begin = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.in_flight.dec()
            metrics.duration.labels(request.method, path).observe(time.perf_counter() - begin)
            metrics.requests.labels(request.method, path, str(status)).inc()

    return instrument


def create_app(
    config: AppConfig, *, clock: Callable[[], float] = time.monotonic
) -> web.Application:
    """Build the aiohttp application; ``clock`` (seconds) decides when ``/readyz`` turns 200."""
    metrics = AppMetrics()
    started = clock()
    greeting = f"ok {config.pod_name}\n" if config.pod_name else "ok\n"
    faults = FaultFile(Path(config.fault_file), clock=clock) if config.fault_file else None

    slots = (
        WorkerSlots(
            concurrency=config.concurrency, queue_limit=config.queue_limit, queued=metrics.queued
        )
        if config.concurrency > 0
        else None
    )

    async def serve() -> web.Response:
        extra = faults.current() if faults is not None else NONE
        burn_cpu(config.cpu_per_request_s + extra.cpu_s)
        if config.latency_s + extra.latency_s > 0:
            await asyncio.sleep(config.latency_s + extra.latency_s)
        return web.Response(text=greeting)

    async def root(_: web.Request) -> web.Response:
        if slots is None:
            return await serve()
        if slots.full():
            return web.Response(status=503, text="overloaded: queue full\n")
        await slots.acquire()
        try:
            return await serve()
        finally:
            slots.release()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if clock() - started < config.startup_delay_s:
            return web.Response(status=503, text="starting\n")
        return web.Response(text="ready\n")

    async def metrics_page(_: web.Request) -> web.Response:
        delay = faults.current().metrics_delay_s if faults is not None else 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(middlewares=[_instrument(metrics)])
    app.router.add_get("/", root)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return app

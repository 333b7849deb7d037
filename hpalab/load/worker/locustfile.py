"""Locust entry point of hpalab's load driver: ``python -m locust -f <this file>``.

The job comes from the file named by ``HPALAB_LOAD_JOB``. The shape sizes the user pool; the
users follow the arrival schedule (:mod:`hpalab.load.worker.runtime`). The master (or the
single process) fixes the profile start ``t0`` a moment after the test starts and sends it to
every worker; each load process streams its per-second records to the driver and a summary to
the shape, which grows the pool from the measured latency and concurrency.

Never imported by the main hpalab process: Locust monkey-patches the standard library.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, LoadTestShape, events, task
from locust.runners import MasterRunner, WorkerRunner

from hpalab.load.job import JOB_ENV, TARGET_ENV, WORKER_ENV, LoadJob, profile_start
from hpalab.load.samples import WorkerSecond
from hpalab.load.sizing import pool_size
from hpalab.load.worker.runtime import Runtime
from hpalab.load.worker.userfile import (
    TaskRunner,
    TaskTable,
    UserFile,
    closed_user_class,
    endpoints_user_class,
)

START_LEAD_S = 1.0
"""Time between the test start and the profile start, for the first users to spawn."""
END_GRACE_S = 1.0
"""Time after the profile end before Locust stops, for the last second's records to go out."""
LOOKAHEAD_S = 5.0
"""The pool is sized for the highest rate of the next seconds."""
LATENCY_MEMORY = 3
"""Per-second summaries per worker the shape remembers."""

JOB = LoadJob.read(Path(os.environ[JOB_ENV]))
RUNTIME = Runtime(JOB, worker=int(os.environ.get(WORKER_ENV, "0")))
_RUNNER: list[Any] = []


class Demand:
    """What the load processes report each second: recent latency and concurrency."""

    def __init__(self) -> None:
        self.recent: dict[int, deque[tuple[float, int, float, float]]] = {}

    def on_message(self, environment: Any, msg: Any, **_: Any) -> None:
        data = msg.data
        memory = self.recent.setdefault(int(data["worker"]), deque(maxlen=LATENCY_MEMORY))
        memory.append(
            (
                float(data["mean_ms"]),
                int(data["in_flight"]),
                float(data["cpu"]),
                float(data["loop_lag_ms"]),
            )
        )

    def latency_s(self) -> float | None:
        values = [m[0] for memory in self.recent.values() for m in memory if m[0] > 0]
        return max(values) / 1000.0 if values else None

    def in_flight(self) -> int:
        return sum(max((m[1] for m in memory), default=0) for memory in self.recent.values())

    def busiest(self, field: int) -> float:
        """The highest latest value of ``field`` (2: CPU in cores, 3: loop lag in ms)."""
        return max((memory[-1][field] for memory in self.recent.values() if memory), default=0.0)


DEMAND = Demand()


class _Silent:
    """A request event nobody listens to."""

    def fire(self, **_: Any) -> None:
        return None


_SILENT = _Silent()


HOST = os.environ.get(TARGET_ENV) or JOB.url
USER_FILE = UserFile.of(JOB)
TASKS = TaskRunner(RUNTIME.recorder, RUNTIME.clock)
"""The locustfile's User class and tasks (``None``: requests to the job's endpoints). Held
in an object, not as a module global: Locust would run every User class it finds here."""

if JOB.model == "closed":
    ClosedModelUser = closed_user_class(
        USER_FILE.user_class if USER_FILE else endpoints_user_class(),
        USER_FILE.tasks if USER_FILE else TaskTable.of_endpoints(JOB.endpoints),
        host=HOST,
        think_s=JOB.think_time_s,
        run=TASKS.run,
    )
else:

    class OpenModelUser(FastHttpUser):
        """One lane of the open model: sends the next due arrival, whatever came before."""

        host = HOST
        network_timeout = JOB.timeout_s
        connection_timeout = JOB.timeout_s
        concurrency = 1

        def __init__(self, environment: Any) -> None:
            super().__init__(environment)
            # hpalab's own per-second records replace Locust's statistics; skipping Locust's
            # per-request bookkeeping leaves that CPU to sending requests.
            self.client.request_event = _SILENT
            self.pooled = USER_FILE.user(environment, HOST) if USER_FILE else None

        def on_start(self) -> None:
            if self.pooled is not None:
                try:
                    self.pooled.on_start()  # the locustfile's log-in, once per pooled user
                except Exception as error:  # its tasks will fail and be counted
                    print(f"on_start: {type(error).__name__}: {error}", file=sys.stderr)

        @task
        def arrivals(self) -> None:
            if USER_FILE is None:
                RUNTIME.serve(self.client)
            else:
                RUNTIME.serve_tasks(self.pooled, USER_FILE.tasks, TASKS.run)


class ProfileShape(LoadTestShape):
    """Sizes the user pool to the profile's coming rate (open model) or sets it to the
    profile's users (closed model); stops Locust after the profile."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.users = 0
        self.curve = JOB.curve()

    def tick(self) -> tuple[int, float] | None:
        started = RUNTIME.clock.started.is_set()
        now = RUNTIME.clock.now() if started else -START_LEAD_S
        if started and now >= self.curve.duration_s + END_GRACE_S:
            return None
        if now < -START_LEAD_S:  # a start put off to a phase of the HPA's sync cycle
            return 0, 50.0
        if JOB.model == "closed":
            # the profile's level is the users; they start (or stop) within the second
            self.users = round(self.curve.rate_at(max(0.0, now)))
            return self.users, float(max(100, self.users))
        steps = int(LOOKAHEAD_S * 4)
        peak = max(self.curve.rate_at(max(0.0, now) + i / 4) for i in range(steps + 1))
        users = pool_size(
            peak_rps=peak,
            latency_s=DEMAND.latency_s(),
            in_flight=DEMAND.in_flight(),
            current=self.users,
            max_users=JOB.user_cap,
            workers=JOB.worker_count,
            generator_cpu=DEMAND.busiest(2),
            loop_lag_ms=DEMAND.busiest(3),
        )
        growth, self.users = users - self.users, users
        # New users are spread over the coming second rather than started in one burst.
        return users, float(max(50, growth))


class _CpuMeter:
    """This process's CPU use since the last reading, in cores."""

    def __init__(self) -> None:
        self.last = (time.process_time(), time.monotonic())

    def read(self) -> float:
        now = (time.process_time(), time.monotonic())
        used, elapsed = now[0] - self.last[0], now[1] - self.last[1]
        self.last = now
        return used / elapsed if elapsed > 0 else 0.0


_CPU = _CpuMeter()


def _summarise(records: list[WorkerSecond]) -> None:
    last = records[-1]
    summary = {
        "worker": RUNTIME.worker,
        "mean_ms": last.histogram.mean() or 0.0,
        "in_flight": last.in_flight_max,
        "cpu": _CPU.read(),
        "loop_lag_ms": last.loop_lag_ms,
    }
    if _RUNNER:
        _RUNNER[0].send_message("hpalab_stats", summary)


def _on_t0(environment: Any, msg: Any, **_: Any) -> None:
    RUNTIME.clock.start(float(msg.data["t0"]))


def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    _RUNNER.append(runner)
    runner.register_message("hpalab_t0", _on_t0)
    if not isinstance(runner, WorkerRunner):
        runner.register_message("hpalab_stats", DEMAND.on_message)
    if isinstance(runner, MasterRunner):
        return
    RUNTIME.connect()
    gevent.spawn(RUNTIME.report_loop, _summarise)
    gevent.spawn(RUNTIME.watch_loop)
    gevent.spawn(_count_users, runner)


def _count_users(runner: Any) -> None:
    while True:
        RUNTIME.recorder.users = runner.user_count
        gevent.sleep(0.25)


def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    t0 = profile_start(time.time() + START_LEAD_S, JOB.t0_grid)
    RUNTIME.clock.start(t0)
    if isinstance(runner, MasterRunner):
        runner.send_message("hpalab_t0", {"t0": t0})


def _on_test_stop(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner) or not RUNTIME.clock.started.is_set():
        return
    RUNTIME.flush(min(math.ceil(RUNTIME.clock.now()), math.ceil(RUNTIME.duration_s)))
    RUNTIME.bye()


events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_on_test_start)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_on_test_stop)  # type: ignore[no-untyped-call]

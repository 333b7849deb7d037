"""The load driver as the main process sees it: start Locust, stream seconds, stop cleanly.

::

    with LoadRun(job, workdir=path) as run:
        for sample in run.samples():      # one LoadSample per second, as the load runs
            ...
    outcome = run.outcome                  # status, samples, events, shortfalls

Locust runs in child processes (one, or a master and N workers) sharing one process group;
this module never imports Locust or gevent. A run ends ``complete``, ``load_shortfall``
(achieved and offered differ beyond the tolerance), ``failed`` (a Locust process crashed or
stalled: its stderr is in a ``fault`` event) or ``incomplete`` (cancelled).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Literal

import psutil

from hpalab.errors import BadInput
from hpalab.load.arrivals import arrival_times, expected_per_second
from hpalab.load.collecting import Collector
from hpalab.load.job import LoadJob
from hpalab.load.locustfiles import LocustfileInfo, inspect_locustfile
from hpalab.load.processes import LocustProcess, start_locust, stop_all
from hpalab.load.samples import LoadSample, WorkerSecond, merge_second
from hpalab.load.shortfall import Shortfall, find_shortfalls

Status = Literal["complete", "load_shortfall", "failed", "incomplete"]

STARTUP_TIMEOUT_S = 60.0
"""Longest wait for Locust to start and fix the profile start."""
STALL_TIMEOUT_S = 15.0
"""A second not reported this long after it ended means a load process hangs."""
EXIT_TIMEOUT_S = 15.0
"""Longest wait for Locust to exit on its own after the profile."""


@dataclass(frozen=True)
class LoadEvent:
    """A row of ``events.csv``: ``t_s`` since the profile start, kind, object, detail."""

    t_s: float
    kind: str
    object: str
    detail: str


@dataclass
class LoadOutcome:
    """What a load run produced."""

    status: Status = "incomplete"
    samples: list[LoadSample] = field(default_factory=list)
    events: list[LoadEvent] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    reason: str = ""
    """Why the run failed or was cut short; empty when complete."""


class _Cadence:
    """Offered, scheduled and generator CPU for each second, produced in order."""

    def __init__(self, job: LoadJob, *, think_s: float | None = None) -> None:
        self.think_s = think_s
        """Closed model: mean think time of a user, seconds; ``None`` for the open model."""
        curve = job.curve()
        self.offered = expected_per_second(curve)
        self._arrivals = arrival_times(
            curve, process=job.profile.arrivals.process, seed=job.arrival_seed
        )
        self._pending: float | None = None
        self._cpu: dict[int, tuple[float, float]] = {}

    def offered_rps(self, t_s: int) -> float:
        """The profile's requests in second ``t_s``; in the closed model, the demand its users
        imply: users ÷ think time (the rate they would send if the app answered at once)."""
        if self.think_s is None:
            return self.offered[t_s]
        return self.offered[t_s] / self.think_s

    def scheduled(self, t_s: int, parts: Sequence[WorkerSecond]) -> int:
        """Arrivals in ``[t_s, t_s + 1)`` (call with consecutive seconds); in the closed
        model, the tasks the users started."""
        if self.think_s is not None:
            return sum(p.sent for p in parts)
        count = 0
        while True:
            if self._pending is None:
                self._pending = next(self._arrivals, math.inf)
            if self._pending >= t_s + 1:
                return count
            count += int(self._pending >= t_s)
            self._pending = None

    def cpu(self, processes: list[LocustProcess]) -> float | None:
        """The busiest load process's CPU since the last call, in cores."""
        busiest: float | None = None
        for p in processes:
            if p.worker is None:
                continue
            try:
                times = psutil.Process(p.proc.pid).cpu_times()
            except psutil.Error:
                continue
            used, now = times.user + times.system, time.monotonic()
            before = self._cpu.get(p.proc.pid)
            self._cpu[p.proc.pid] = (used, now)
            if before and now > before[1]:
                share = (used - before[0]) / (now - before[1])
                busiest = share if busiest is None else max(busiest, share)
        return busiest


class LoadRun:
    """One run of a load job; a context manager that always stops its processes."""

    def __init__(self, job: LoadJob, *, workdir: Path) -> None:
        self.job = job
        self.workdir = workdir
        self.outcome = LoadOutcome()
        self.processes: list[LocustProcess] = []
        self._collector: Collector | None = None
        self._cancel = threading.Event()
        self.duration_s = job.curve().duration_s
        self.think_s: float | None = None
        """Closed model: the users' mean think time, seconds (found by :meth:`start`)."""

    def __enter__(self) -> LoadRun:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None and self.outcome.status == "incomplete" and not self.outcome.reason:
            self.outcome.reason = f"interrupted: {kind.__name__}"
        self.close()

    def start(self) -> None:
        """Write the job file and start Locust; returns at once."""
        self.think_s = closed_think_s(self.job)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._collector = Collector()
        job = replace(self.job, report_port=self._collector.port)
        job_file = self.workdir / "load-job.json"
        job_file.write_text(job.to_json(), encoding="utf-8")
        self.outcome.events.extend(_step_events(job))
        start_locust(
            url=job.url,
            workers=job.workers,
            job_file=job_file,
            workdir=self.workdir,
            started=self.processes,
        )

    @property
    def t0_epoch(self) -> float | None:
        """Wall-clock time (epoch s) of the profile start, once Locust has fixed it."""
        return self._collector.t0_epoch if self._collector is not None else None

    def cancel(self) -> None:
        """Ask :meth:`samples` to stop after the current second (thread-safe)."""
        self._cancel.set()

    def close(self) -> None:
        """Stop every Locust process (SIGTERM, then SIGKILL) and the collector."""
        stop_all(self.processes)
        if self._collector is not None:
            self._collector.close()
            self._collector = None

    def samples(self) -> Iterator[LoadSample]:
        """Each second of the profile as soon as every load process has reported it."""
        collector = self._collector
        if collector is None:
            raise RuntimeError("LoadRun.samples() needs start() first")
        cadence, last = _Cadence(self.job, think_s=self.think_s), math.ceil(self.duration_s)
        begun, next_s = time.monotonic(), 0
        while next_s < last:
            collector.poll(0.05)
            while next_s < last and (parts := collector.complete(next_s, self.job.worker_count)):
                sample = merge_second(
                    next_s,
                    parts,
                    offered_rps=cadence.offered_rps(next_s),
                    scheduled=cadence.scheduled(next_s, parts),
                    generator_cpu=cadence.cpu(self.processes),
                )
                self.outcome.samples.append(sample)
                collector.records.pop(next_s, None)
                next_s += 1
                yield sample
            if self._stopped(collector, begun=begun, next_s=next_s):
                return
        self._finish(collector)

    def _stopped(self, collector: Collector, *, begun: float, next_s: int) -> bool:
        """True when the run must end early: cancelled, crashed, or stalled."""
        if self._cancel.is_set():
            self.outcome.reason = "cancelled"
            self._fault(next_s, "load cancelled before the profile ended", None)
            return True
        crashed = next((p for p in self.processes if p.proc.poll() is not None), None)
        if crashed is not None:
            collector.poll(0.2)  # records sent just before the exit
            code = crashed.proc.returncode
            if code == 0 and len(collector.byes) == self.job.worker_count:
                return False
            self._fail(next_s, f"Locust {crashed.name} exited with code {code}", crashed)
            return True
        if collector.t0_epoch is None:
            if time.monotonic() - begun > STARTUP_TIMEOUT_S:
                self._fail(next_s, f"Locust did not start within {STARTUP_TIMEOUT_S:.0f} s", None)
                return True
            return False
        if time.time() - collector.t0_epoch > next_s + 1 + STALL_TIMEOUT_S:
            self._fail(next_s, f"no record of second {next_s} after {STALL_TIMEOUT_S:.0f} s", None)
            return True
        return False

    def _finish(self, collector: Collector) -> None:
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        while time.monotonic() < deadline and any(p.proc.poll() is None for p in self.processes):
            collector.poll(0.05)
        failed = next((p for p in self.processes if p.proc.returncode not in (None, 0)), None)
        if failed is not None:
            self._fail(
                self.duration_s,
                f"Locust {failed.name} exited with code {failed.proc.returncode}",
                failed,
            )
            return
        shortfalls = []
        if self.job.model == "open":  # closed-model users set their own pace: no schedule
            shortfalls = find_shortfalls(self.outcome.samples, tolerance=self.job.tolerance)
        self.outcome.shortfalls = shortfalls
        for item in shortfalls:
            detail = json.dumps(item.detail())
            self.outcome.events.append(LoadEvent(item.start_s, "load_shortfall", "load", detail))
        self.outcome.status = "load_shortfall" if self.outcome.shortfalls else "complete"

    def _fail(self, t_s: float, reason: str, process: LocustProcess | None) -> None:
        self.outcome.status = "failed"
        self.outcome.reason = reason
        self._fault(t_s, reason, process)

    def _fault(self, t_s: float, reason: str, process: LocustProcess | None) -> None:
        processes = [process] if process else self.processes
        stderr = {p.name: p.stderr_tail() for p in processes}
        detail = {"reason": reason, "stderr": {k: v for k, v in stderr.items() if v}}
        self.outcome.events.append(LoadEvent(t_s, "fault", "load", json.dumps(detail)))


def closed_think_s(job: LoadJob) -> float | None:
    """The mean think time of the closed model's users (``thinkTime``, else the locustfile's
    ``wait_time``); ``None`` for the open model."""
    if job.model != "closed":
        return None
    if job.think_time_s is not None or job.locustfile is None:
        return job.think_time_s
    info = inspect_locustfile(job.locustfile, job.user_class)
    wait = info.mean_wait_s if isinstance(info, LocustfileInfo) else None
    if not wait:
        raise BadInput(
            f"the closed model needs a think time, and {job.locustfile}'s wait_time gives none",
            hint="set spec.load.thinkTime, or a wait_time such as between(1, 3) in the class",
        )
    return wait


def _step_events(job: LoadJob) -> list[LoadEvent]:
    events = []
    for segment in job.curve().segments:
        detail = {
            "stage": segment.index,
            "type": segment.kind,
            "from_rps": segment.start_rps,
            "to_rps": segment.end_rps,
        }
        events.append(LoadEvent(segment.start_s, "load_step", "load", json.dumps(detail)))
    return events


def run_load(
    job: LoadJob,
    *,
    workdir: Path,
    on_sample: Callable[[LoadSample], None] | None = None,
    cancel: threading.Event | None = None,
) -> LoadOutcome:
    """Run ``job`` to its end; ``on_sample`` sees each second as it comes. Never raises for a
    Locust failure: the outcome says ``failed`` with the reason and stderr in its events."""
    with LoadRun(job, workdir=workdir) as run:
        for sample in run.samples():
            if on_sample is not None:
                on_sample(sample)
            if cancel is not None and cancel.is_set():
                run.cancel()
    return run.outcome

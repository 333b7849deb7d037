"""The real parts behind the orchestration's seams: platforms, the Locust driver, the report.

Imports are lazy: ``hpalab run --dry-run`` and ``hpalab validate`` never load the platforms.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpalab.errors import HpalabError, UsageError
from hpalab.orchestration.seams import (
    LoadEventRow,
    LoadRequest,
    LoadSample,
    LoadSession,
    LoadStarter,
    PlatformFactory,
)
from hpalab.platforms.base import Platform
from hpalab.specs import LoadedExperiment


def platform_factory(name: str, *, context: str | None, namespace: str) -> PlatformFactory:
    """A factory for the named platform; it checks prerequisites before starting anything."""
    if name == "local":
        return _local
    if name == "kubernetes":
        return lambda loaded: _kubernetes(loaded, context=context, namespace=namespace)
    raise UsageError(f"unknown platform {name!r}", hint="use local or kubernetes")


def _local(loaded: LoadedExperiment) -> Platform:
    from hpalab.platforms.local.frontdoor import find_haproxy
    from hpalab.platforms.local.prometheus import find_prometheus
    from hpalab.platforms.local.runlab import RunPlatform
    from hpalab.platforms.local.settings import settings_from_spec

    find_prometheus()  # a missing binary is bad input: nothing is written or started
    find_haproxy()
    variant = loaded.variant(loaded.baseline)
    return RunPlatform(settings_from_spec(variant.spec), experiment=str(loaded.path))


def _kubernetes(loaded: LoadedExperiment, *, context: str | None, namespace: str) -> Platform:
    from hpalab.orchestration.clusters import cluster_node, controller_hook
    from hpalab.platforms.kubernetes.platform import KubernetesPlatform

    spec = loaded.variant(loaded.baseline).spec
    if spec.target is not None:
        from hpalab.platforms.kubernetes.target import TargetPlatform

        return TargetPlatform(
            spec, context=context, controller_hook=controller_hook(context), node=None
        )
    return KubernetesPlatform(
        spec,
        context=context,
        namespace=namespace,
        controller_hook=controller_hook(context),
        node=cluster_node(context),
    )


class _DriverSession:
    """The Locust driver's blocking sample stream, read by a thread into a queue."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.queue: queue.Queue[LoadSample] = queue.Queue()
        self.error: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, name="hpalab-load", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for sample in self.run.samples():
                self.queue.put(sample)
        except HpalabError as error:
            self.error = str(error)
        finally:
            self.done.set()

    def started_at(self) -> float | None:
        """Wall-clock time of load second 0, once Locust has fixed it."""
        t0: float | None = self.run.t0_epoch
        return t0

    def poll(self) -> Sequence[LoadSample]:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out

    def failure(self) -> str | None:
        if self.error:
            return self.error
        if self.done.is_set() and self.run.outcome.status == "failed":
            return self.run.outcome.reason or "the load generator failed"
        return None

    def stop(self) -> None:
        if not self.done.is_set():
            self.run.cancel()
        self.thread.join(timeout=30)
        self.run.close()

    def result(self) -> tuple[str, list[LoadEventRow]]:
        from hpalab.load.shortfall import generator_delivered

        outcome = self.run.outcome
        events = [LoadEventRow(e.t_s, e.kind, e.object, e.detail) for e in outcome.events]
        status = str(outcome.status)
        # an overloaded app answers late: the trial measured it (latency, errors), and the
        # load_shortfall events stay in events.csv for the record
        if status == "load_shortfall" and generator_delivered(outcome.shortfalls, outcome.samples):
            status = "complete"
        return status, events


def load_starter() -> LoadStarter:
    """Starts the Locust driver for one trial (Locust runs in its own processes)."""

    def start(request: LoadRequest) -> LoadSession:
        from hpalab.load.driver import LoadRun
        from hpalab.load.job import job_for_load

        job = job_for_load(
            request.load,
            url=request.url,
            profile=request.profile,
            seed=request.seed,
            t0_grid=request.t0_grid,
        )
        run = LoadRun(job, workdir=request.work_dir)
        run.start()
        return _DriverSession(run)

    return start


def write_report(run_dir: Path) -> None:
    """summary.csv, comparison.csv and report.html from the run directory's files."""
    from hpalab.report.outputs import report_run

    report_run(run_dir, fmt="html")

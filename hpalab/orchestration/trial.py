"""One trial: reset, apply the variant, warm up, drive the profile, cool down, record.

Time inside a trial is ``t_s``: seconds since the load phase began (negative during warm-up).
Signals are written on a 1 s grid as they arrive, so an interrupted trial keeps its data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from hpalab.collectors.hpa import hpa_signals
from hpalab.collectors.load import load_signals
from hpalab.collectors.prometheus import DEFAULT_QUERIES, record_range
from hpalab.errors import CollectorError, HpalabError
from hpalab.orchestration.faults import FaultTimeline
from hpalab.orchestration.seams import (
    Clock,
    LoadRequest,
    LoadSample,
    LoadSession,
    LoadStarter,
)
from hpalab.platforms.base import Platform, PlatformEvent
from hpalab.results import EVENTS, PROMETHEUS, TIMESERIES, RunWriter
from hpalab.specs import RateCurve, ResolvedVariant, capacity_rps, compile_profile
from hpalab.specs.phases import sync_offset_s
from hpalab.specs.profiles import HoldStage, ProfileSpec
from hpalab.specs.variants import TrialPlan

LOAD_START_TIMEOUT_S = 60.0
"""Longest wait for the load generator to fix its start before the trial counts from now."""


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class Progress(Protocol):
    def run_started(self, *, trials: list[TrialPlan], per_trial_s: float, path: str) -> None: ...

    def trial_started(self, trial: TrialPlan) -> None: ...

    def trial_finished(self, trial: TrialPlan, status: str) -> None: ...

    def trial_tick(
        self, *, trial: TrialPlan, phase: str, t_s: float, end_s: float, signals: dict[str, float]
    ) -> None: ...

    def note(self, message: str) -> None: ...


@dataclass
class TrialOutcome:
    """How a trial ended."""

    status: str  # complete | incomplete | failed
    started_at: datetime
    ended_at: datetime
    reasons: list[str] = field(default_factory=list)


@dataclass
class TrialRun:
    """Everything one trial needs."""

    plan: TrialPlan
    variant: ResolvedVariant
    profile: ProfileSpec
    platform: Platform
    start_load: LoadStarter
    writer: RunWriter
    clock: Clock
    stop: StopFlag
    progress: Progress
    work_dir: Path
    samples: list[LoadSample] = field(default_factory=list)
    recorder: Callable[..., Iterable[dict[str, Any]]] | None = None
    """Records Prometheus series at the end; default :func:`record_range`."""


def run_trial(run: TrialRun) -> TrialOutcome:
    """Run one trial to its end, or until stopped; always stops its load session."""
    spec = run.variant.spec
    started = datetime.now(UTC)
    run.platform.apply_variant(spec)
    run.platform.reset()
    run.platform.drain_events()  # the reset's own churn is not part of the trial
    run.progress.trial_started(run.plan)
    warmup = spec.phases.warmup
    stages = list(run.profile.stages)
    if warmup > 0:
        stages.insert(0, HoldStage(type="hold", duration=warmup, rps=spec.phases.warmup_rps))
    grid, offset = _sync_grid(run)
    session = run.start_load(
        LoadRequest(
            url=run.platform.load_url,
            profile=ProfileSpec(stages=stages, arrivals=run.profile.arrivals),
            load=spec.load,
            seed=spec.seed + run.plan.repetition,
            work_dir=run.work_dir,
            t0_grid=grid,
        )
    )
    origin = _load_start(run, session) + warmup
    curve = compile_profile(run.profile.stages)
    end_s = curve.duration_s + spec.phases.cooldown
    _events(
        run,
        plan_events(
            curve, warmup_s=warmup, warmup_rps=spec.phases.warmup_rps, sync_offset_s=offset
        ),
    )
    faults = FaultTimeline(spec.events)
    try:
        status, reasons = _loop(
            run, session, origin=origin, curve=curve, end_s=end_s, faults=faults
        )
    finally:
        faults.end_all(run.platform, now_s=run.clock.now() - origin, record=_recorder(run))
        session.stop()
        _write_events(run, run.platform.drain_events(), origin)
    load_status, load_events = session.result()
    _events(run, ((e.t_s - warmup, e.kind, e.object, e.detail) for e in load_events))
    if status == "complete" and load_status == "load_shortfall":
        status, reasons = "load_shortfall", ["the load generator fell short of the profile"]
    _record_prometheus(run, origin=origin, warmup=warmup, end=min(run.clock.now(), origin + end_s))
    return TrialOutcome(status, started, datetime.now(UTC), reasons)


def _sync_grid(run: TrialRun) -> tuple[tuple[float, float] | None, float | None]:
    """Where the load may start so that its second 0 (after the warm-up) falls at this
    repetition's phase of the HPA's sync cycle (``spec.phases.syncPhase``): ``(t, period)``,
    any ``t + k * period``, and that phase; ``(None, None)`` to start at once."""
    spec = run.variant.spec
    anchor = run.platform.sync_anchor()
    if anchor is None:
        if spec.phases.sync_phase != "free":
            run.progress.note(
                "the platform cannot tell when its HPA syncs (on a cluster, KEDA creates a "
                "ScaledObject's HPA): the load starts at no particular phase of the sync cycle"
            )
        return None, None
    synced_at, period = anchor
    offset = sync_offset_s(
        spec.phases, period_s=period, seed=spec.seed, repetition=run.plan.repetition
    )
    if offset is None:
        return None, None
    return (synced_at + offset - spec.phases.warmup, period), offset


def _load_start(run: TrialRun, session: LoadSession) -> float:
    """Wall-clock time of load second 0. Locust takes seconds to start and then fixes its own
    profile start; the trial's clock (platform events, faults) must count from that instant,
    or every platform event would be shifted against the load by the start-up time. A
    session that does not say when it started counts from now."""
    started_at = getattr(session, "started_at", None)
    if started_at is None:
        return run.clock.now()
    deadline = run.clock.now() + LOAD_START_TIMEOUT_S
    while (t0 := started_at()) is None:
        if run.clock.now() >= deadline or session.failure() or run.stop.is_set():
            return run.clock.now()  # the loop below reports the failure or the interrupt
        run.clock.sleep(0.05)
    return float(t0)


def _loop(
    run: TrialRun,
    session: LoadSession,
    *,
    origin: float,
    curve: RateCurve,
    end_s: float,
    faults: FaultTimeline,
) -> tuple[str, list[str]]:
    capacity = capacity_rps(run.variant.spec)
    next_tick = math.floor(run.clock.now() - origin) + 1.0
    while next_tick <= end_s:
        for action in faults.due_before(next_tick):
            run.clock.sleep(origin + action.t_s - run.clock.now())
            faults.fire(action, run.platform, now_s=run.clock.now() - origin, record=_recorder(run))
        run.clock.sleep(origin + next_tick - run.clock.now())
        t_s = next_tick
        next_tick += 1.0
        if run.stop.is_set():
            return "incomplete", ["interrupted"]
        signals = _load_tick(run, session, origin=origin, curve=curve, t_s=t_s)
        failure = session.failure()
        if failure:  # the session's own fault event, with stderr, follows from result()
            return "failed", [f"load generator crashed: {failure[-300:]}"]
        signals.update(
            _platform_tick(
                run, t_s=t_s, origin=origin, offered=curve.rate_at(t_s), capacity=capacity
            )
        )
        phase = "warmup" if t_s < 0 else "load" if t_s < curve.duration_s else "cooldown"
        run.progress.trial_tick(trial=run.plan, phase=phase, t_s=t_s, end_s=end_s, signals=signals)
    return "complete", []


def _load_tick(
    run: TrialRun, session: LoadSession, *, origin: float, curve: RateCurve, t_s: float
) -> dict[str, float]:
    warmup = run.variant.spec.phases.warmup
    latest: dict[str, float] = {}
    for sample in session.poll():
        run.samples.append(sample)
        t = round(sample.t_s - warmup)
        latest = load_signals(sample)
        _write_signals(run, t, latest)
    return latest


def _platform_tick(
    run: TrialRun, *, t_s: float, origin: float, offered: float, capacity: float | None
) -> dict[str, float]:
    try:
        snapshot = run.platform.observe()
    except HpalabError as error:
        _event(run, t_s, "collector_error", "platform", {"error": str(error)})
        return {}
    signals = hpa_signals(snapshot, offered_rps=offered, capacity_rps=capacity)
    _write_signals(run, t_s, signals)
    _write_events(run, run.platform.drain_events(), origin)
    return signals


def _write_signals(run: TrialRun, t_s: float, signals: dict[str, float]) -> None:
    run.writer.append(
        TIMESERIES,
        (
            {"trial_id": run.plan.trial_id, "t_s": t_s, "signal": name, "value": value}
            for name, value in signals.items()
        ),
    )


def _write_events(run: TrialRun, events: list[PlatformEvent], origin: float) -> None:
    _events(run, ((e.t - origin, e.kind, e.object, e.detail) for e in events))


def _event(run: TrialRun, t_s: float, kind: str, obj: str, detail: dict[str, Any]) -> None:
    _events(run, [(t_s, kind, obj, detail)])


def _recorder(run: TrialRun) -> Callable[[float, str, str, dict[str, Any]], None]:
    return lambda t_s, kind, obj, detail: _event(run, t_s, kind, obj, detail)


def _events(run: TrialRun, rows: Iterable[tuple[float, str, str, Any]]) -> None:
    """Append ``(t_s, kind, object, detail)`` rows of this trial to events.csv."""
    run.writer.append(
        EVENTS,
        (
            {
                "trial_id": run.plan.trial_id,
                "t_s": round(t_s, 3),
                "kind": kind,
                "object": obj,
                "detail": detail,
            }
            for t_s, kind, obj, detail in rows
        ),
    )


def plan_events(
    curve: RateCurve, *, warmup_s: float, warmup_rps: float, sync_offset_s: float | None = None
) -> list[tuple[float, str, str, dict[str, Any]]]:
    """The phase and ``load_step`` events a trial of ``curve`` writes before it starts:
    ``(t_s, kind, object, detail)`` with t_s since the load phase began. The load phase's
    event carries the planned phase of the HPA's sync cycle, when the load was aligned."""
    rows: list[tuple[float, str, str, dict[str, Any]]] = []
    if warmup_s > 0:
        rows.append((-warmup_s, "phase", "trial", {"phase": "warmup"}))
    load: dict[str, Any] = {"phase": "load"}
    if sync_offset_s is not None:
        load["hpa_sync_offset_s"] = sync_offset_s
    rows.append((0.0, "phase", "trial", load))
    previous = warmup_rps if warmup_s > 0 else 0.0
    for segment in curve.segments:
        rows.append(
            (
                segment.start_s,
                "load_step",
                "load",
                {
                    "stage": segment.index,
                    "type": segment.kind,
                    "from_rps": previous,
                    "start_rps": segment.start_rps,
                    "to_rps": segment.end_rps,
                },
            )
        )
        previous = segment.end_rps
    rows.append((curve.duration_s, "phase", "trial", {"phase": "cooldown"}))
    return rows


def _record_prometheus(run: TrialRun, *, origin: float, warmup: float, end: float) -> None:
    spec = run.variant.spec
    queries = [*DEFAULT_QUERIES, *spec.prometheus.record]
    try:
        rows = record_range(
            run.platform.prometheus_url,
            queries=queries,
            start=origin - warmup,
            end=end,
            origin=origin,
        )
        run.writer.append(PROMETHEUS, ({"trial_id": run.plan.trial_id, **row} for row in rows))
    except CollectorError as error:
        _event(run, end - origin, "collector_error", "prometheus", {"error": str(error)})
        run.progress.note(f"warning: {error.message}")

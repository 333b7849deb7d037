"""A synthetic run directory with realistic signals and events, for demos, tests and benchmarks.

It is not a simulation anyone should draw conclusions from: a coarse model of the pipeline
(scrape, rate window, HPA sync with legacy limits and downscale stabilization, pod start-up and
readiness, latency rising with utilisation) that produces every file ``hpalab report`` reads,
in the shapes the collectors write them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hpalab import __version__
from hpalab.results.schema import EVENTS, LOCK_FILE, PROMETHEUS, TIMESERIES, TRIALS
from hpalab.results.store import Manifest, RunWriter


@dataclass(frozen=True)
class SyntheticVariant:
    """The knobs a synthetic variant turns."""

    name: str
    sync_period_s: float = 15.0
    target_rps: float = 10.0
    startup_delay_s: float = 3.0
    rate_window_s: float = 60.0
    stabilization_up_s: float = 0.0


DEFAULT_VARIANTS = (
    SyntheticVariant("baseline"),
    SyntheticVariant("fast-sync", sync_period_s=5.0),
    SyntheticVariant("short-window", rate_window_s=30.0),
)

STAGES = ((0.0, 20.0), (60.0, 80.0), (240.0, 160.0), (420.0, 60.0))
"""(start s, requests/s) of the step profile; scaled to the trial length."""

COUNTER_QUERY = "sum by (namespace, pod) (http_requests_total)"

RAMP = ((0.0, 5.0), (60.0, 200.0), (300.0, 200.0))
"""(start s, requests/s at the end) of the ramp profile: hold, a linear ramp, a plateau."""


def write_synthetic_run(
    out_dir: Path,
    *,
    variants: tuple[SyntheticVariant, ...] = DEFAULT_VARIANTS,
    repetitions: int = 3,
    duration_s: int = 600,
    seed: int = 7,
    name: str = "synthetic",
    ramp: bool = False,
) -> Path:
    """Write a complete run directory under ``out_dir`` and return its path.

    ``ramp`` replaces the step profile by a hold, a linear ramp and a plateau.
    """
    started = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    writer = RunWriter.create(out_dir, experiment=name, started_at=started)
    profile = _stages(RAMP if ramp else STAGES, duration_s)
    lock = _lock(name, variants, repetitions, duration_s, profile, ramp=ramp)
    writer.write_text(LOCK_FILE, yaml.safe_dump(lock, sort_keys=False))
    rng = np.random.default_rng(seed)
    trials, order = [], 0
    for repetition in range(1, repetitions + 1):
        for variant in variants:
            order += 1
            trial_id = f"{variant.name}#{repetition}"
            begin = started + timedelta(seconds=order * (duration_s + 60))
            series, events, scrapes = _trial(
                variant, duration_s=duration_s, rng=rng, profile=profile, ramp=ramp
            )
            writer.append(TIMESERIES, _tidy(trial_id, series))
            writer.append(EVENTS, [{"trial_id": trial_id, **e} for e in events])
            writer.append(PROMETHEUS, [{"trial_id": trial_id, **r} for r in scrapes])
            trials.append(_trial_row(variant.name, repetition, order, begin, duration_s))
    writer.append(TRIALS, trials)
    writer.write_manifest(
        Manifest(
            hpalab_version=__version__,
            experiment=name,
            started_at=started,
            ended_at=started + timedelta(seconds=order * (duration_s + 60)),
            status="complete",
            platform={"name": "synthetic", "host": "synthetic"},
            spec_hash="0" * 64,
            seed=seed,
        )
    )
    return writer.path


def _trial_row(
    variant: str, repetition: int, order: int, begin: datetime, duration_s: int
) -> dict[str, Any]:
    return {
        "trial_id": f"{variant}#{repetition}",
        "variant": variant,
        "repetition": repetition,
        "order": order,
        "started_at": begin,
        "ended_at": begin + timedelta(seconds=duration_s),
        "status": "complete",
    }


def _stages(shape: tuple[tuple[float, float], ...], duration_s: int) -> list[tuple[float, float]]:
    scale = duration_s / 600.0
    return [(round(t * scale), rps) for t, rps in shape]


def _stage_yaml(rps: float, length: float, index: int, *, ramp: bool) -> dict[str, Any]:
    if ramp and index == 1:
        return {"type": "ramp", "to": rps, "duration": f"{int(length)}s"}
    return {"type": "step", "rps": rps, "duration": f"{int(length)}s"}


def _lock(
    name: str,
    variants: tuple[SyntheticVariant, ...],
    reps: int,
    duration_s: int,
    stages: list[tuple[float, float]],
    *,
    ramp: bool,
) -> Any:
    lengths = [b[0] - a[0] for a, b in zip(stages, [*stages[1:], (duration_s, 0)], strict=True)]
    return {
        "apiVersion": "hpalab/v1",
        "kind": "Experiment",
        "metadata": {"name": name, "description": "synthetic run for demos and benchmarks"},
        "spec": {
            **_base_spec(variants[0]),
            "load": {
                "stages": [
                    _stage_yaml(rps, length, i, ramp=ramp)
                    for i, ((_, rps), length) in enumerate(zip(stages, lengths, strict=True))
                ]
            },
            "phases": {"warmup": "10s", "warmupRps": stages[0][1], "cooldown": "0s"},
            "slo": {"latencyPercentile": 95, "latency": "250ms", "errorRate": 0.01},
            "seed": 7,
            "repetitions": reps,
            "variants": [{"name": v.name, "patch": _patch(v)} for v in variants],
        },
    }


def _base_spec(v: SyntheticVariant) -> dict[str, Any]:
    return {
        "hpa": {
            "minReplicas": 1,
            "maxReplicas": 30,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "http_requests_per_second"},
                        "target": {"type": "AverageValue", "averageValue": f"{v.target_rps:g}"},
                    },
                }
            ],
        },
        "adapter": {
            "rules": [
                {
                    "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
                    "metricsQuery": _query(v.rate_window_s),
                }
            ]
        },
        "controller": {"syncPeriod": f"{v.sync_period_s:g}s", "tolerance": 0.1},
        "prometheus": {"scrapeInterval": "5s"},
        "app": {"startupDelay": f"{v.startup_delay_s:g}s"},
    }


def _query(window_s: float) -> str:
    return f"sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[{window_s:g}s])) by (<<.GroupBy>>)"


def _patch(v: SyntheticVariant) -> dict[str, Any]:
    patch: dict[str, Any] = _base_spec(v)
    if v.stabilization_up_s:
        patch["hpa"]["behavior"] = {
            "scaleUp": {"stabilizationWindowSeconds": int(v.stabilization_up_s)}
        }
    return patch


def _tidy(trial_id: str, series: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    rows = []
    for signal, values in series.items():
        for t, value in enumerate(values):
            if not math.isnan(value):
                rows.append(
                    {
                        "trial_id": trial_id,
                        "t_s": float(t),
                        "signal": signal,
                        "value": round(float(value), 3),
                    }
                )
    return rows


def _offered(stages: list[tuple[float, float]], duration_s: int, *, ramp: bool) -> np.ndarray:
    offered = np.zeros(duration_s)
    for i, (start, rps) in enumerate(stages):
        offered[int(start) :] = rps
        if ramp and i == 1:
            stop = int(stages[2][0])
            offered[int(start) : stop] = np.linspace(stages[0][1], rps, stop - int(start))
    return offered


def _trial(
    v: SyntheticVariant,
    *,
    duration_s: int,
    rng: np.random.Generator,
    profile: list[tuple[float, float]],
    ramp: bool,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]], list[dict[str, Any]]]:
    sim = _Pipeline(v, rng, _offered(profile, duration_s, ramp=ramp))
    events: list[dict[str, Any]] = [
        {"t_s": -10.0, "kind": "phase", "object": "trial", "detail": {"phase": "warmup"}},
        {"t_s": 0.0, "kind": "phase", "object": "trial", "detail": {"phase": "load"}},
    ]
    for i, (start, rps) in enumerate(profile):
        previous = profile[i - 1][1] if i else profile[0][1]
        kind = "ramp" if ramp and i == 1 else "step"
        detail = {
            "stage": i,
            "type": kind,
            "from_rps": previous,
            "start_rps": previous if kind == "ramp" else rps,
            "to_rps": rps,
        }
        events.append(
            {"t_s": float(start), "kind": "load_step", "object": "load", "detail": detail}
        )
    for t in range(duration_s):
        sim.tick(t)
    return sim.signals(), events + sim.events, sim.prom_rows


class _Pipeline:
    """Per-second model of scrape → rate → HPA sync → pods → latency."""

    def __init__(self, v: SyntheticVariant, rng: np.random.Generator, offered: np.ndarray):
        self.v, self.rng, self.offered = v, rng, offered
        n = len(offered)
        self.out = {
            name: np.full(n, np.nan)
            for name in (
                "offered_rps",
                "achieved_rps",
                "users",
                "latency_p50_ms",
                "latency_p95_ms",
                "latency_p99_ms",
                "error_rate",
                "metric_value",
                "metric_target",
                "desired_replicas",
                "spec_replicas",
                "ready_replicas",
                "demand_replicas",
            )
        }
        self.events: list[dict[str, Any]] = []
        self.spec = 1
        self.pods: list[tuple[str, float]] = [("app-0", -100.0)]
        self.next_pod = 1
        self.recommendations: list[tuple[float, int]] = []
        self.sync_phase = float(rng.uniform(0, v.sync_period_s))
        self.scrape_phase = int(rng.integers(0, 5))
        self.scraped = np.zeros(n)
        self.counts: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.prom_rows: list[dict[str, Any]] = []

    def tick(self, t: int) -> None:
        ready = sum(1 for _, at in self.pods if at <= t)
        offered = float(self.offered[t])
        capacity = ready * self.v.target_rps * 1.6
        load = offered / max(capacity, 1e-9)
        errors = min(0.5, max(0.0, load - 1.0) * 0.6)
        achieved = offered * (1 - errors) + self.rng.normal(0, 0.02 * offered + 0.1)
        p50 = 12.0 / max(0.05, 1.0 - min(load, 0.97)) * self.rng.lognormal(0, 0.05)
        self._count(t, achieved)
        self.scraped[t] = offered if (t - self.scrape_phase) % 5 == 0 else self.scraped[t - 1]
        window = int(self.v.rate_window_s)
        metric = float(np.mean(self.scraped[max(0, t - window) : t + 1])) / max(ready, 1)
        for name, value in (
            ("offered_rps", offered),
            ("achieved_rps", achieved),
            ("users", offered / 5),
            ("latency_p50_ms", p50),
            ("latency_p95_ms", p50 * 2.4),
            ("latency_p99_ms", p50 * 3.6),
            ("error_rate", errors),
            ("metric_value", metric),
            ("metric_target", self.v.target_rps),
            ("demand_replicas", math.ceil(offered / self.v.target_rps - 1e-9)),
            ("spec_replicas", self.spec),
            ("ready_replicas", ready),
        ):
            self.out[name][t] = value
        phase = (t - self.sync_phase) % self.v.sync_period_s
        if phase < 1.0:
            self._sync(t + phase, metric)
        self.out["desired_replicas"][t] = self.spec

    def _count(self, t: int, achieved: float) -> None:
        """Per-pod request counters as scraped every 5 s, recorded every second."""
        serving = [name for name, at in self.pods if at <= t]
        for name in serving:
            self.counts[name] = self.counts.get(name, 0.0) + max(achieved, 0.0) / len(serving)
        if (t - self.scrape_phase) % 5 == 0:
            self.seen.update({name: self.counts.get(name, 0.0) for name, _ in self.pods})
        for name, value in self.seen.items():
            labels = f'{{"pod": "{name}"}}'
            self.prom_rows.append(
                {"t_s": float(t), "query": COUNTER_QUERY, "labels": labels, "value": round(value)}
            )

    def _sync(self, t: float, metric: float) -> None:
        ratio = metric / self.v.target_rps
        proposal = self.spec if abs(ratio - 1) <= 0.1 else math.ceil(ratio * self.spec)
        self.recommendations = [(at, r) for at, r in self.recommendations if t - at < 300]
        self.recommendations.append((t, proposal))
        up = [r for at, r in self.recommendations if t - at < max(self.v.stabilization_up_s, 1)]
        desired = min(up) if proposal > self.spec else max(r for _, r in self.recommendations)
        desired = max(1, min(30, desired, max(2 * self.spec, 4)))
        self.events.append(
            {
                "t_s": round(t, 3),
                "kind": "hpa_decision",
                "object": "hpa/app",
                "detail": {
                    "desired": desired,
                    "current": self.spec,
                    "reason": "metric ratio",
                    "ratio": round(ratio, 3),
                },
            }
        )
        if desired != self.spec:
            self.events.append(
                {
                    "t_s": round(t, 3),
                    "kind": "hpa_rescale",
                    "object": "hpa/app",
                    "detail": {"old": self.spec, "new": desired},
                }
            )
            self._scale(t, desired)
        self.spec = desired

    def _scale(self, t: float, desired: int) -> None:
        while len(self.pods) < desired:
            name = f"app-{self.next_pod}"
            self.next_pod += 1
            created = t + 0.4
            started = created + 0.6
            ready = started + self.v.startup_delay_s + float(self.rng.uniform(0, 1))
            self.pods.append((name, ready))
            for kind, at in (
                ("pod_created", created),
                ("pod_started", started),
                ("pod_ready", ready),
            ):
                self.events.append(
                    {"t_s": round(at, 3), "kind": kind, "object": name, "detail": ""}
                )
        while len(self.pods) > desired:
            name, _ = self.pods.pop()
            self.seen.pop(name, None)
            self.events.append(
                {"t_s": round(t + 0.2, 3), "kind": "pod_deleted", "object": name, "detail": ""}
            )

    def signals(self) -> dict[str, np.ndarray]:
        return self.out

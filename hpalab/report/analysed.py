"""One run, analysed: every number the report shows, computed once from the run's files."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from hpalab.analysis.bands import Band, LoadStep, PipelineParams, predict_band
from hpalab.analysis.comparison import DEFAULT_ALPHA, choose_baseline, compare
from hpalab.analysis.episodes import Episode, Slo, find_episodes
from hpalab.analysis.metrics import summarize
from hpalab.analysis.reliability import Finding, reliability_findings, usable
from hpalab.analysis.traces import Trace, split_trials
from hpalab.errors import UsageError
from hpalab.report import specparams
from hpalab.report.rundata import RunData
from hpalab.specs import ExperimentSpec

INCIDENT_KINDS = ("fault", "collector_error", "warning")


@dataclass
class VariantInfo:
    """What the spec says about one variant, as plain numbers and display strings."""

    name: str
    slo: Slo = field(default_factory=Slo)
    tolerance: float = 0.1
    params: PipelineParams | None = None
    stabilization_s: float = 0.0
    settings: dict[str, str] = field(default_factory=dict)
    patch: dict[str, Any] = field(default_factory=dict)
    warmup_s: float = math.inf
    """Length of the warm-up before the load phase (load runs from its start)."""

    @property
    def window_s(self) -> float | None:
        """The adapter rule's rate() range in seconds, when known."""
        return self.params.rate_window_s if self.params else None


@dataclass
class BandCheck:
    """Measured latencies of one load step of one variant against the predicted band."""

    variant: str
    t0_s: float
    from_rps: float
    to_rps: float
    band: Band
    detection_s: list[float]
    time_to_capacity_s: list[float]
    outside: list[str]
    """Which measurements fall outside the band: 'detection', 'time to capacity'."""


@dataclass
class AnalysedRun:
    """A run with its summary, comparison, findings and band checks."""

    run: RunData
    variants: list[str]
    baseline: str
    alpha: float
    info: dict[str, VariantInfo]
    traces: dict[str, Trace]
    episodes: dict[str, list[Episode]]
    summary: pd.DataFrame
    comparison: pd.DataFrame
    findings: list[Finding]
    bands: list[BandCheck]


def analyse_run(
    run: RunData, *, baseline: str | None = None, alpha: float = DEFAULT_ALPHA
) -> AnalysedRun:
    """Analyse ``run``. Raises :class:`UsageError` for an unknown ``baseline``."""
    variants = run.variants()
    if not variants:
        raise UsageError(f"{run.path} has no trials yet", hint="wait for `hpalab run` to run one")
    requested = baseline
    if requested is None and run.experiment is not None and run.experiment.baseline in variants:
        requested = run.experiment.baseline
    try:
        chosen = choose_baseline(variants, requested)
    except ValueError as error:
        raise UsageError(str(error), hint=f"choose one of: {', '.join(variants)}") from error
    info = {name: _variant_info(run, name) for name in variants}
    traces = split_trials(run.timeseries, run.events, run.prometheus)
    variant_of = dict(
        zip(run.trials["trial_id"].astype(str), run.trials["variant"].astype(str), strict=True)
    )
    episodes = {
        trial: find_episodes(
            trace, slo=info[v].slo, tolerance=info[v].tolerance, rate_window_s=info[v].window_s
        )
        for trial, trace in traces.items()
        if (v := variant_of.get(trial)) in info
    }
    summary = summarize(
        run.trials,
        traces,
        slo={v: i.slo for v, i in info.items()},
        tolerance={v: i.tolerance for v, i in info.items()},
        episodes=episodes,
    )
    comparison = compare(summary[usable(summary)], baseline=chosen, variants=variants, alpha=alpha)
    bands = _band_checks(info, episodes, variant_of)
    findings = reliability_findings(
        summary,
        run_status=run.manifest.status if run.manifest else None,
        baseline=chosen,
        alpha=alpha,
        stabilization_s={v: i.stabilization_s for v, i in info.items()},
        incident_counts=_incidents(run.events),
    )
    findings += _band_findings(bands) + _lock_findings(run)
    return AnalysedRun(
        run, variants, chosen, alpha, info, traces, episodes, summary, comparison, findings, bands
    )


def _variant_info(run: RunData, name: str) -> VariantInfo:
    if run.experiment is None:
        return VariantInfo(name)
    try:
        resolved = run.experiment.variant(name)
    except KeyError:
        return VariantInfo(name)
    spec: ExperimentSpec = resolved.spec
    return VariantInfo(
        name=name,
        slo=specparams.slo(spec),
        tolerance=specparams.tolerance(spec),
        params=specparams.pipeline_params(spec),
        stabilization_s=specparams.stabilization_s(spec),
        settings=specparams.settings(spec),
        patch=resolved.patch,
        warmup_s=spec.phases.warmup,
    )


def _incidents(events: pd.DataFrame) -> dict[str, int]:
    chosen = events[events["kind"].isin(INCIDENT_KINDS)]
    return {str(k): int(v) for k, v in chosen.groupby("trial_id").size().items()}


def _band_checks(
    info: dict[str, VariantInfo],
    episodes: dict[str, list[Episode]],
    variant_of: dict[str, str],
) -> list[BandCheck]:
    checks = []
    for variant, vinfo in info.items():
        if vinfo.params is None:
            continue
        by_step: dict[float, list[Episode]] = {}
        for trial, found in episodes.items():
            if variant_of.get(trial) == variant:
                for ep in found:
                    by_step.setdefault(ep.t0_s, []).append(ep)
        for t0, eps in sorted(by_step.items()):
            step = LoadStep(
                eps[0].from_rps, eps[0].to_rps, 1, eps[0].ramp_s, history_s=t0 + vinfo.warmup_s
            )
            checks.append(_check(variant, vinfo.params, step, eps))
    return checks


def _check(variant: str, params: PipelineParams, step: LoadStep, eps: list[Episode]) -> BandCheck:
    """Each episode is checked against the band for its own replicas at t0; the band shown is
    the one for the median replicas."""

    def band_for(replicas: float) -> Band:
        return predict_band(params, replace(step, replicas_at_t0=max(round(replicas), 1)))

    outside = set()
    for ep in eps:
        band = band_for(ep.replicas_at_t0)
        if band.scale_up_expected and not band.contains("detection", ep.detection_s):
            outside.add("detection")
        if not band.contains("time_to_capacity", ep.time_to_capacity_s):
            outside.add("time to capacity")
    shown = band_for(float(np.median([e.replicas_at_t0 for e in eps])))
    return BandCheck(
        variant,
        eps[0].t0_s,
        step.from_rps,
        step.to_rps,
        shown,
        [e.detection_s for e in eps],
        [e.time_to_capacity_s for e in eps],
        sorted(outside),
    )


def _band_findings(checks: list[BandCheck]) -> list[Finding]:
    out = []
    for c in checks:
        for which in c.outside:
            values = c.detection_s if which == "detection" else c.time_to_capacity_s
            low, _, high = c.band.detection_s if which == "detection" else c.band.time_to_capacity_s
            out.append(
                Finding(
                    "warning",
                    c.variant,
                    f"step at {c.t0_s:g} s ({c.from_rps:g}→{c.to_rps:g} rps): measured {which} "
                    f"{_fmt_list(values)} s is outside the predicted {low:g}–{high:g} s",
                    "a delay of the pipeline differs from its spec: check scrape, adapter and "
                    "pod start-up timings in events.csv",
                )
            )
    return out


def _fmt_list(values: list[float]) -> str:
    return ", ".join(
        "never" if math.isinf(v) else ("?" if math.isnan(v) else f"{v:.0f}") for v in values
    )


def _lock_findings(run: RunData) -> list[Finding]:
    if run.lock_problem is None:
        return []
    return [
        Finding(
            "warning",
            "run",
            run.lock_problem,
            "SLO and predicted bands use defaults; restore experiment.lock.yaml to get them right",
        )
    ]

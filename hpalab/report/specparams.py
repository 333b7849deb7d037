"""From a variant's resolved spec to the plain numbers the analysis takes.

The analysis layer knows nothing of spec models; this module reads scrape interval, rate
window, sync period, tolerance, behavior, start-up delay, probe period and the SLO out of an
``ExperimentSpec`` and hands them over as dataclasses of numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hpalab.analysis.bands import DEFAULT_SCALE_UP, PipelineParams, ScalingPolicy
from hpalab.analysis.episodes import Slo
from hpalab.specs import ExperimentSpec, capacity_rps, parse_duration, parse_quantity_value

_RANGE = re.compile(r"\[([0-9][0-9a-z.]*)\]")


def rate_window_s(adapter: dict[str, Any]) -> float | None:
    """The ``rate()`` range of the first adapter rule that has one, in seconds."""
    for key in ("rules", "externalRules"):
        for rule in adapter.get(key) or []:
            match = _RANGE.search(str(rule.get("metricsQuery", "")))
            if match:
                try:
                    return parse_duration(match.group(1))
                except ValueError:
                    continue
    return None


def tolerance(spec: ExperimentSpec) -> float:
    """The scale-up tolerance in force: ``behavior.scaleUp.tolerance`` or the controller's."""
    rules = spec.hpa.behavior.scale_up if spec.hpa.behavior else None
    if rules is not None and rules.tolerance is not None:
        return float(parse_quantity_value(rules.tolerance))
    return float(spec.controller.tolerance)


def slo(spec: ExperimentSpec) -> Slo:
    """The SLO as the analysis takes it."""
    return Slo(
        latency_ms=spec.slo.latency * 1000.0,
        percentile=spec.slo.latency_percentile,
        error_rate=spec.slo.error_rate,
    )


def stabilization_s(spec: ExperimentSpec) -> float:
    """The longest stabilization window of either direction, in seconds."""
    behavior = spec.hpa.behavior
    down = spec.controller.downscale_stabilization
    up = 0.0
    if behavior and behavior.scale_down and behavior.scale_down.stabilization_window_seconds:
        down = float(behavior.scale_down.stabilization_window_seconds)
    if behavior and behavior.scale_up and behavior.scale_up.stabilization_window_seconds:
        up = float(behavior.scale_up.stabilization_window_seconds)
    return max(up, down)


def pipeline_params(spec: ExperimentSpec) -> PipelineParams | None:
    """Every delay the predicted band needs, or ``None`` when the metric is not a rate."""
    capacity, window = capacity_rps(spec), rate_window_s(spec.adapter)
    if capacity is None or window is None:
        return None
    behavior = spec.hpa.behavior
    rules = behavior.scale_up if behavior else None
    policies: tuple[ScalingPolicy, ...] = DEFAULT_SCALE_UP
    if rules is not None and rules.policies:
        policies = tuple(
            ScalingPolicy(p.type, float(p.value), float(p.period_seconds)) for p in rules.policies
        )
    return PipelineParams(
        scrape_interval_s=spec.prometheus.scrape_interval,
        rate_window_s=window,
        sync_period_s=spec.controller.sync_period,
        capacity_rps=capacity,
        tolerance=tolerance(spec),
        scale_up_stabilization_s=float(
            rules.stabilization_window_seconds or 0 if rules is not None else 0
        ),
        scale_up_policies=policies,
        select_policy=(rules.select_policy if rules and rules.select_policy else "Max"),
        legacy_limits=behavior is None,
        startup_delay_s=spec.app.startup_delay,
        readiness_period_s=spec.app.readiness_probe.period,
        min_replicas=spec.hpa.min_replicas,
        max_replicas=spec.hpa.max_replicas,
        target_rps=hpa_target_rps(spec),
    )


def hpa_target_rps(spec: ExperimentSpec) -> float | None:
    """The HPA's per-replica target of a requests-per-second metric, ignoring the app's
    capacity (requests/s); None when the first metric has no AverageValue target."""
    if spec.app.capacity_rps is None and spec.app.concurrency is None:
        return capacity_rps(spec)
    return capacity_rps(
        spec.model_copy(
            update={
                "app": spec.app.model_copy(
                    update={"capacity_rps": None, "concurrency": None, "queue_limit": None}
                )
            }
        )
    )


def settings(spec: ExperimentSpec) -> dict[str, str]:
    """The settings that shape scaling latency, as short display strings."""
    window = rate_window_s(spec.adapter)
    target = hpa_target_rps(spec)
    behavior = spec.hpa.behavior
    up = behavior.scale_up if behavior else None
    return {
        "target": f"{target:g} rps/pod" if target else "n/a",
        "rate window": f"{window:g}s" if window is not None else "n/a",
        "scrape": f"{spec.prometheus.scrape_interval:g}s",
        "sync": f"{spec.controller.sync_period:g}s",
        "tolerance": f"{tolerance(spec):g}",
        "up stabilization": f"{(up.stabilization_window_seconds or 0) if up else 0}s",
        "policies": _policies(up.policies if up and up.policies else None, behavior is None),
        "start-up": "own program" if spec.app.command else f"{spec.app.startup_delay:g}s",
        "replicas": f"{spec.hpa.min_replicas}–{spec.hpa.max_replicas}",
        "load model": load_model(spec),
    }


def load_model(spec: ExperimentSpec) -> str:
    """Which user model the load ran: ``open`` (arrivals/s) or ``closed`` (users who think)."""
    load = spec.load
    tasks = f", tasks of {Path(load.locustfile).name}" if load.locustfile else ""
    if load.model == "open":
        return f"open (requests/s{tasks})"
    think = f"think {load.think_time:g}s" if load.think_time else "think: wait_time"
    return f"closed (users, {think}{tasks})"


def _policies(policies: Any, legacy: bool) -> str:
    if legacy:
        return "legacy (max(2×, 4))"
    if not policies:
        return "default"
    return ", ".join(
        f"{p.value}{'%' if p.type == 'Percent' else ' pods'}/{p.period_seconds}s" for p in policies
    )

"""Explain one HPA sync as plain data, and replay a metric time series through the controller.

The inputs are what a person can type: one value per metric (a per-pod average for Pods and
Resource metrics, the object's or external metric's value otherwise) or explicit per-pod
values. Resource values ending in ``%`` are utilizations of the per-pod request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.hpa.controller import HPAController
from hpalab.autoscaling.hpa.evaluate import MetricOutcome, MetricsSnapshot
from hpalab.autoscaling.hpa.model import (
    Container,
    ContainerUsage,
    ControllerConfig,
    HPASpec,
    MetricSpec,
    Pod,
    PodResourceMetrics,
    ScalingRules,
    Tolerances,
)
from hpalab.autoscaling.hpa.spec import format_milli, milli_value
from hpalab.autoscaling.hpa.status import SyncResult
from hpalab.errors import EngineError

_HINT = "give one value per metric, e.g. --value http_requests_per_second=12"
# Pods in an explanation started long ago and are Ready: CPU readiness rules do not hide them.
_OLD_S = 1_000_000.0


@dataclass(slots=True)
class Scenario:
    """Metric values for one sync. ``values`` are strings as typed (quantities, or N% for
    resource utilization); ``pod_values`` give per-pod values for one metric."""

    replicas: int
    values: dict[str, str] = field(default_factory=dict)
    pod_values: dict[str, list[str]] = field(default_factory=dict)
    request_milli: int = 1000


def metric_key(metric: MetricSpec) -> str:
    """The name a user gives a metric on the command line (resource name or metric name)."""
    return metric.name or metric.type


def _per_pod(metric: MetricSpec, raw: str, request_milli: int) -> int:
    text = raw.strip()
    if text.endswith("%") and metric.type in ("Resource", "ContainerResource"):
        return int(request_milli * float(text[:-1]) / 100)
    return milli_value(text, where=f"value of {metric_key(metric)}")


def _check_names(spec: HPASpec, scenario: Scenario) -> None:
    known = {metric_key(m) for m in spec.metrics}
    for key in list(scenario.values) + list(scenario.pod_values):
        if key not in known:
            raise EngineError(
                f"the HPA has no metric named {key!r} (it has {sorted(known)})", hint=_HINT
            )


def build_inputs(spec: HPASpec, scenario: Scenario) -> tuple[list[Pod], MetricsSnapshot]:
    """Pods and a metrics snapshot that reproduce the scenario (all pods Running and Ready)."""
    count = scenario.replicas
    for values in scenario.pod_values.values():
        count = max(count, len(values))
    names = [f"pod-{i}" for i in range(count)]
    request = scenario.request_milli
    # One container per pod, named as a ContainerResource metric expects when there is one.
    named = sorted({m.container for m in spec.metrics if m.container}) or ["app"]
    containers = (Container(named[0], {"cpu": request, "memory": request}),)
    pods = [
        Pod(n, start_s=-_OLD_S, ready_transition_s=-_OLD_S, containers=containers) for n in names
    ]
    snapshot = MetricsSnapshot(pods={}, objects={}, external={})
    usages: dict[str, dict[str, int]] = {n: {} for n in names}
    _check_names(spec, scenario)
    pods_map: dict[str, Mapping[str, int]] = {}
    objects: dict[str, int] = {}
    external: dict[str, Sequence[int]] = {}
    for metric in spec.metrics:
        key = metric_key(metric)
        if metric.type in ("Object", "External"):
            text = scenario.values.get(key) or (scenario.pod_values.get(key) or [""])[0]
            if text:
                value = milli_value(text, where=key)
                if metric.type == "Object":
                    objects[key] = value
                else:
                    external[key] = [value]
            continue
        typed = scenario.pod_values.get(key)
        if typed is None and key in scenario.values:
            typed = [scenario.values[key]] * count
        if not typed:
            continue  # no value: the fetch fails, as when the metrics API has nothing
        milli = [_per_pod(metric, text, scenario.request_milli) for text in typed]
        if metric.type == "Pods":
            pods_map[key] = dict(zip(names, milli, strict=False))
        else:
            for name, usage in zip(names, milli, strict=False):
                usages[name][metric.name] = usage
    snapshot.pods, snapshot.objects, snapshot.external = pods_map, objects, external
    if any(usages.values()):
        snapshot.resource = [
            PodResourceMetrics(n, 0.0, 60.0, (ContainerUsage(containers[0].name, usages[n]),))
            for n in names
            if usages[n]
        ]
    return pods, snapshot


def _target_text(metric: MetricSpec) -> str:
    t = metric.target
    if t.average_utilization is not None and t.average_value_milli is None:
        return f"{t.average_utilization}% of request"
    if t.average_value_milli is not None:
        return f"{format_milli(t.average_value_milli)} per pod"
    return format_milli(t.value_milli or 0)


def _rules_text(rules: ScalingRules) -> str:
    if rules.select_policy == "Disabled":
        return "disabled"
    parts = ", ".join(
        f"{p.value}{'%' if p.type == 'Percent' else ' pods'} per {p.period_seconds}s"
        for p in rules.policies
    )
    return f"{rules.select_policy} of [{parts}]"


def _normalization_rules(controller: HPAController) -> dict[str, Any]:
    behavior = controller.spec.behavior
    config = controller.config
    if behavior is None:
        return {
            "scale_up_window_s": 0,
            "scale_down_window_s": config.downscale_stabilization_window_s,
            "scale_up_policy": f"max({config.scale_up_limit_factor:g} × current, "
            f"{config.scale_up_limit_minimum:g})",
            "scale_down_policy": "none",
        }
    down = behavior.scale_down.stabilization_window_seconds
    return {
        "scale_up_window_s": behavior.scale_up.stabilization_window_seconds or 0,
        "scale_down_window_s": config.downscale_stabilization_window_s if down is None else down,
        "scale_up_policy": _rules_text(behavior.scale_up),
        "scale_down_policy": _rules_text(behavior.scale_down),
    }


def _metric_entry(outcome: MetricOutcome, tol: Tolerances) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": metric_key(outcome.spec),
        "type": outcome.spec.type,
        "target": _target_text(outcome.spec),
    }
    p = outcome.proposal
    if p is None:
        entry["error"] = outcome.error
        return entry
    current = format_milli(p.usage_milli)
    if p.utilization is not None:
        current = f"{p.utilization}% of request"
    entry.update(
        current=current,
        ratio=round(p.ratio, 6),
        within_tolerance=tol.is_within(p.ratio),
        proposal=p.replicas,
        note=p.note,
    )
    return entry


def explain_sync(controller: HPAController, result: SyncResult, *, current: int) -> dict[str, Any]:
    """Everything one sync decided, step by step, as JSON-ready data."""
    tol = controller.tolerances
    metrics = [_metric_entry(outcome, tol) for outcome in result.outcomes]
    norm = result.normalization
    behavior = controller.spec.behavior
    return {
        "current_replicas": current,
        "min_replicas": controller.spec.min_replicas,
        "max_replicas": controller.spec.max_replicas,
        "tolerance": {
            "scale_down": tol.scale_down,
            "scale_up": tol.scale_up,
            "band": [1.0 - tol.scale_down, 1.0 + tol.scale_up],
        },
        "behavior": "spec.behavior" if behavior else "legacy (no spec.behavior)",
        "rules": _normalization_rules(controller),
        "metrics": metrics,
        "metric_proposal": result.metric_proposal,
        "rescale_reason": result.rescale_reason,
        "normalization": None
        if norm is None
        else {
            "proposal": norm.proposal,
            "stabilized": norm.stabilized,
            "stabilization": norm.stabilization_reason or "none",
            "limit_reason": norm.limit_reason,
            "limit_message": norm.limit_message,
            "desired": norm.desired,
        },
        "desired_replicas": result.desired_replicas,
        "rescale": result.rescale,
        "error": result.error,
        "conditions": result.status["conditions"],
        "events": result.events,
    }


def explain(
    spec: Mapping[str, Any] | HPASpec, config: ControllerConfig, scenario: Scenario
) -> dict[str, Any]:
    """One sync at time 0 on the scenario, by a controller without recent recommendations or
    scale events (so no stabilization window holds an older, higher count)."""
    controller = HPAController(spec, config)
    controller.seed_history(
        recommendations=[], up_events=[], down_events=[], status_desired=scenario.replicas
    )
    pods, snapshot = build_inputs(controller.spec, scenario)
    result = controller.sync(0.0, spec_replicas=scenario.replicas, pods=pods, metrics=snapshot)
    return explain_sync(controller, result, current=scenario.replicas)


@dataclass(slots=True, frozen=True)
class TraceRow:
    """One sync of a replay: time, the metric values in force, and what the controller did."""

    t_s: float
    values: dict[str, str]
    current: int
    desired: int
    limit_reason: str
    stabilization: str


def replay(
    spec: Mapping[str, Any] | HPASpec,
    config: ControllerConfig,
    *,
    samples: Sequence[tuple[float, dict[str, str]]],
    initial_replicas: int,
    request_milli: int = 1000,
) -> list[TraceRow]:
    """Sync every ``config.sync_period_s`` from t=0 to the last sample, using the latest sample
    at or before each sync; new replicas are assumed Ready at the next sync."""
    if not samples:
        raise EngineError("the trace has no rows", hint="add rows: t_s,<metric>,...")
    if config.sync_period_s <= 0:
        raise EngineError("the sync period must be positive", hint="use e.g. --sync-period 15")
    controller = HPAController(spec, config)
    ordered = sorted(samples, key=lambda s: s[0])
    rows: list[TraceRow] = []
    replicas = initial_replicas
    index = 0
    steps = int(ordered[-1][0] // config.sync_period_s)
    for step in range(steps + 1):
        now = step * config.sync_period_s
        while index + 1 < len(ordered) and ordered[index + 1][0] <= now:
            index += 1
        values = ordered[index][1]
        pods, snapshot = build_inputs(
            controller.spec, Scenario(replicas, dict(values), request_milli=request_milli)
        )
        result = controller.sync(now, spec_replicas=replicas, pods=pods, metrics=snapshot)
        norm = result.normalization
        rows.append(
            TraceRow(
                now,
                dict(values),
                replicas,
                result.desired_replicas,
                norm.limit_reason if norm else (result.error and "MetricsFailed") or "",
                norm.stabilization_reason if norm else "",
            )
        )
        replicas = result.desired_replicas
    return rows

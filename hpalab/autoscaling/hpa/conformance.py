"""Run one HPA conformance case (see the hpa-conformance contract) on the engine.

Cases are evaluated at ``now = 0``: an ``*_age_s`` of A becomes the timestamp ``-A``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hpalab.autoscaling.hpa import behavior as rules_mod
from hpalab.autoscaling.hpa.conformance_inputs import (
    events_of,
    group_input,
    pods_of,
    recommendations_of,
    resource_metrics_of,
    rules_of,
    tolerances_of,
)
from hpalab.autoscaling.hpa.conformance_reconcile import enqueue, reconcile
from hpalab.autoscaling.hpa.pods import (
    MetricError,
    PodIndex,
    PodSamples,
    group_pods,
    resource_samples,
)
from hpalab.autoscaling.hpa.replicas import (
    external_average_value_replicas,
    external_sum,
    object_average_value_replicas,
    plain_metric_replicas,
    resource_utilization_replicas,
    value_replicas,
)
from hpalab.errors import EngineError

Case = Mapping[str, Any]


def _index(inp: Case, *, resource: str) -> PodIndex:
    return PodIndex(
        pods_of(inp.get("pods", []), resource=resource),
        0.0,
        float(inp.get("cpu_initialization_period_s", 120)),
        float(inp.get("initial_readiness_delay_s", 10)),
    )


def _resource_values(inp: Case) -> PodSamples:
    resource = inp.get("resource", "cpu")
    try:
        return resource_samples(
            resource_metrics_of(inp.get("pod_metrics", [])),
            resource=resource,
            container=inp.get("container") or "",
        )
    except MetricError as error:
        raise MetricError(f"unable to get metrics for resource {resource}: {error}") from error


def _resource_utilization(inp: Case) -> dict[str, Any]:
    p = resource_utilization_replicas(
        inp["current_replicas"],
        inp["target"]["average_utilization"],
        resource=inp.get("resource", "cpu"),
        container=inp.get("container") or "",
        tolerances=tolerances_of(inp.get("tolerance")),
        index=_index(inp, resource=inp.get("resource", "cpu")),
        samples=_resource_values(inp),
    )
    return {
        "replicas": p.replicas,
        "utilization": p.utilization,
        "raw_average_value_milli": p.usage_milli,
    }


def _plain(inp: Case, values: PodSamples, resource: str) -> dict[str, Any]:
    p = plain_metric_replicas(
        inp["current_replicas"],
        inp["target"]["average_value_milli"],
        resource=resource,
        tolerances=tolerances_of(inp.get("tolerance")),
        index=_index(inp, resource=resource or "cpu"),
        samples=values,
    )
    return {"replicas": p.replicas, "usage_milli": p.usage_milli}


def _resource_average(inp: Case) -> dict[str, Any]:
    return _plain(inp, _resource_values(inp), inp.get("resource", "cpu"))


def _pods_average(inp: Case) -> dict[str, Any]:
    raw = inp.get("pod_metrics", [])
    if not raw:
        raise MetricError("unable to get metric: no metrics returned from custom metrics API")
    values = PodSamples({m["pod"]: m["value_milli"] for m in raw})
    return _plain(inp, values, "")


def _value(inp: Case, *, external: bool) -> dict[str, Any]:
    values = inp["metric_values_milli"]
    usage = external_sum(values, per_pod=False) if external else values[0]
    p = value_replicas(
        inp["current_replicas"],
        usage,
        inp["target"]["value_milli"],
        tolerances=tolerances_of(inp.get("tolerance")),
        pods=pods_of(inp.get("pods", []), resource="cpu"),
    )
    return {"replicas": p.replicas, "usage_milli": p.usage_milli}


def _average(inp: Case, *, external: bool) -> dict[str, Any]:
    values = inp["metric_values_milli"]
    target = inp["target"]["average_value_milli"]
    tol = tolerances_of(inp.get("tolerance"))
    if external:
        p = external_average_value_replicas(
            inp["current_replicas"], external_sum(values, per_pod=True), target, tolerances=tol
        )
    else:
        p = object_average_value_replicas(
            inp["current_replicas"], values[0], target, tolerances=tol
        )
    return {"replicas": p.replicas, "usage_milli": p.usage_milli}


def _group_pods(inp: Case) -> dict[str, Any]:
    pods, samples = group_input(inp)
    index = PodIndex(
        pods,
        0.0,
        float(inp.get("cpu_initialization_period_s", 120)),
        float(inp.get("initial_readiness_delay_s", 10)),
    )
    groups = group_pods(index, samples, resource=inp.get("resource", "cpu"))
    return {
        "ready_count": groups.ready_count,
        "unready": sorted(groups.unready),
        "missing": sorted(groups.missing),
        "ignored": sorted(groups.ignored),
    }


def _stabilize(inp: Case) -> dict[str, Any]:
    history = recommendations_of(inp.get("recommendations") or [])
    replicas, _, _ = rules_mod.stabilize_with_behavior(
        history,
        now_s=0.0,
        current_replicas=inp["current_replicas"],
        desired_replicas=inp["desired_replicas"],
        up_window_s=inp["scale_up_stabilization_window_seconds"],
        down_window_s=inp["scale_down_stabilization_window_seconds"],
    )
    return {"replicas": replicas, "recommendations_after": [r.replicas for r in history]}


def _convert_rate(inp: Case) -> dict[str, Any]:
    limited = rules_mod.convert_with_behavior_rate(
        current_replicas=inp["current_replicas"],
        desired_replicas=inp["desired_replicas"],
        min_replicas=inp["min_replicas"],
        max_replicas=inp["max_replicas"],
        scale_up=rules_of(inp.get("scale_up"), up=True),
        scale_down=rules_of(inp.get("scale_down"), up=False),
        up_events=events_of(inp.get("scale_up_events")),
        down_events=events_of(inp.get("scale_down_events")),
        now_s=0.0,
    )
    return {"replicas": limited.replicas, "reason": limited.reason}


def _limit(inp: Case, *, up: bool) -> dict[str, Any]:
    fn = rules_mod.scale_up_limit if up else rules_mod.scale_down_limit
    limit = fn(
        inp["current_replicas"],
        up_events=events_of(inp.get("scale_up_events")),
        down_events=events_of(inp.get("scale_down_events")),
        rules=rules_of(inp.get("scaling_rules"), up=up),
        now_s=0.0,
    )
    return {"limit": limit}


def _legacy_stabilize(inp: Case) -> dict[str, Any]:
    history = recommendations_of(inp.get("recommendations") or [])
    replicas = rules_mod.legacy_stabilize(
        history,
        now_s=0.0,
        desired_replicas=inp["desired_replicas"],
        window_s=inp["downscale_stabilization_window_seconds"],
    )
    return {"replicas": replicas, "recommendations_length_after": len(history)}


def _legacy_convert(inp: Case) -> dict[str, Any]:
    limited = rules_mod.legacy_convert(
        current_replicas=inp["current_replicas"],
        desired_replicas=inp["desired_replicas"],
        min_replicas=inp["min_replicas"],
        max_replicas=inp["max_replicas"],
        scale_up_limit_factor=float(inp.get("scale_up_limit_factor", 2.0)),
        scale_up_limit_minimum=float(inp.get("scale_up_limit_minimum", 4)),
    )
    return {"replicas": limited.replicas, "reason": limited.reason}


def _store_event(inp: Case) -> dict[str, Any]:
    events = events_of(inp.get("previous_events"))
    before = rules_mod.replicas_change_in_period(events, now_s=0.0, period_s=60)
    raw_rules = inp.get("scaling_rules")
    if raw_rules is not None:
        rules_mod.store_scale_event(
            events,
            rules=rules_of(raw_rules, up=True),
            replica_change=inp["replica_change"],
            now_s=0.0,
        )
    return {
        "replica_change_in_last_60s_before": before,
        "events_after": [
            {"replica_change": e.replica_change, "outdated": e.outdated} for e in events
        ],
    }


FUNCTIONS: dict[str, Callable[[Case], dict[str, Any]]] = {
    "resource_utilization": _resource_utilization,
    "resource_average_value": _resource_average,
    "pods_average_value": _pods_average,
    "object_value": lambda inp: _value(inp, external=False),
    "object_average_value": lambda inp: _average(inp, external=False),
    "external_value": lambda inp: _value(inp, external=True),
    "external_average_value": lambda inp: _average(inp, external=True),
    "group_pods": _group_pods,
    "stabilize_recommendation_with_behavior": _stabilize,
    "convert_desired_replicas_with_behavior_rate": _convert_rate,
    "scale_up_limit_with_scaling_rules": lambda inp: _limit(inp, up=True),
    "scale_down_limit_with_scaling_rules": lambda inp: _limit(inp, up=False),
    "legacy_stabilize_recommendation": _legacy_stabilize,
    "legacy_convert_desired_replicas_with_rules": _legacy_convert,
    "store_scale_event": _store_event,
    "reconcile": reconcile,
    "enqueue": enqueue,
}


def run_case(case: Mapping[str, Any], fixtures: Mapping[str, Any]) -> dict[str, Any]:
    """Run one case; never raises. Failures become ``{"error": message}``."""
    del fixtures  # HPA cases carry all their data inline
    inp = case.get("input")
    if not isinstance(inp, Mapping):
        return {"error": "case has no input object"}
    function = FUNCTIONS.get(str(inp.get("function")))
    if function is None:
        return {"error": f"unknown function {inp.get('function')!r}"}
    try:
        return function(inp)
    except (MetricError, EngineError) as error:
        return {"error": str(error.message if isinstance(error, EngineError) else error)}
    except (KeyError, TypeError, ValueError, IndexError) as error:
        return {"error": f"malformed case input: {type(error).__name__}: {error}"}

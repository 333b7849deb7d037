"""The ``reconcile`` conformance function (one sync of a controller seeded from a case) and
``enqueue`` (when an informer event makes the controller sync)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from hpalab.autoscaling.hpa.conformance_inputs import (
    events_of,
    pods_of,
    recommendations_of,
    resource_metrics_of,
    rules_of,
    tolerances_of,
)
from hpalab.autoscaling.hpa.controller import HPAController
from hpalab.autoscaling.hpa.evaluate import MetricsSnapshot
from hpalab.autoscaling.hpa.model import (
    Behavior,
    ControllerConfig,
    FetchFailure,
    HPASpec,
    MetricSpec,
    MetricTarget,
)
from hpalab.autoscaling.hpa.queueing import immediate, sync_delay_s
from hpalab.autoscaling.hpa.versions import features


def _target(raw: Mapping[str, Any]) -> MetricTarget:
    return MetricTarget(
        type=raw.get("type", ""),
        value_milli=raw.get("value_milli"),
        average_value_milli=raw.get("average_value_milli"),
        average_utilization=raw.get("average_utilization"),
    )


def _metric(raw: Mapping[str, Any]) -> MetricSpec:
    kind = raw.get("type", "")
    target = _target(raw.get("target") or {})
    if kind in ("Resource", "ContainerResource"):
        container = raw.get("container") or ""
        return MetricSpec(kind, raw.get("name", "cpu"), target, container=container)
    described = raw.get("described_object") or {
        "kind": "Deployment",
        "name": "some-deployment",
        "apiVersion": "apps/v1",
    }
    return MetricSpec(
        kind,
        raw.get("metric", ""),
        target,
        described_object=dict(described) if kind == "Object" else None,
        selector=raw.get("selector"),
    )


def _config(raw: Mapping[str, Any]) -> ControllerConfig:
    tolerance = raw.get("tolerance", 0.1)
    # a number (the flag) or the contract's object form {scale_up, scale_down}
    per_direction = tolerances_of(tolerance) if isinstance(tolerance, Mapping) else None
    return ControllerConfig(
        tolerance=float(tolerance) if per_direction is None else per_direction.scale_up,
        scale_up_tolerance=per_direction.scale_up if per_direction else None,
        scale_down_tolerance=per_direction.scale_down if per_direction else None,
        cpu_initialization_period_s=float(raw.get("cpu_initialization_period_s", 120)),
        initial_readiness_delay_s=float(raw.get("initial_readiness_delay_s", 10)),
        downscale_stabilization_window_s=float(raw.get("downscale_stabilization_window_s", 300)),
        scale_up_limit_factor=float(raw.get("scale_up_limit_factor", 8.0)),
        scale_up_limit_minimum=float(raw.get("scale_up_limit_minimum", 4)),
        **_version_switches(raw),
    )


def _version_switches(raw: Mapping[str, Any]) -> dict[str, bool]:
    """``kubernetes_version`` (with ``feature_gates``) selects that version's behaviour; a case
    without it runs with the engine's defaults (tolerance gate on, zero handling before 1.36)."""
    if "kubernetes_version" not in raw:
        return {}
    return features(str(raw["kubernetes_version"]), raw.get("feature_gates")).config_flags()


def enqueue(inp: Mapping[str, Any]) -> dict[str, Any]:
    """``enqueue``: how an informer event queues the HPA (``queueing``)."""
    config = _config(inp.get("config", {}))
    config = replace(config, sync_period_s=float(inp.get("config", {}).get("sync_period_s", 15)))
    event = inp["event"]
    if event not in ("add", "update"):
        raise ValueError(f"event must be add or update, not {event!r}")
    changed = inp.get("old_generation") != inp.get("new_generation")
    return {
        "queue": "immediate"
        if immediate(config, event, generation_changed=changed)
        else ("rate_limited"),
        "delay_s": sync_delay_s(config, event, generation_changed=changed),
    }


def _snapshot(
    inp: Mapping[str, Any], metrics: list[MetricSpec], failed: set[int]
) -> MetricsSnapshot:
    custom = {m["pod"]: m["value_milli"] for m in inp.get("pod_custom_metrics") or []}
    object_value = inp.get("object_metric_value_milli")
    external = inp.get("external_metric_values_milli") or []
    snapshot = MetricsSnapshot(
        resource=resource_metrics_of(inp.get("pod_resource_metrics") or []),
        pods={},
        objects={},
        external={},
    )
    pods_map: dict[str, Any] = {}
    objects_map: dict[str, Any] = {}
    external_map: dict[str, Any] = {}
    for index, metric in enumerate(metrics):
        broken = index in failed
        if metric.type in ("Resource", "ContainerResource") and broken:
            snapshot.resource = FetchFailure("fake metrics API failure")
        elif metric.type == "Pods":
            pods_map[metric.name] = FetchFailure() if broken else custom
        elif metric.type == "Object":
            objects_map[metric.name] = (
                FetchFailure() if broken or object_value is None else object_value
            )
        elif metric.type == "External":
            external_map[metric.name] = FetchFailure() if broken else external
    snapshot.pods, snapshot.objects, snapshot.external = pods_map, objects_map, external_map
    return snapshot


def reconcile(inp: Mapping[str, Any]) -> dict[str, Any]:
    """One sync at now = 0; returns status.desiredReplicas and the conditions it set."""
    raw_metrics = inp.get("metrics") or []
    metrics = [_metric(m) for m in raw_metrics]
    failed = {i for i, m in enumerate(raw_metrics) if m.get("fetch_error")}
    raw_behavior = inp.get("behavior")
    behavior = (
        None
        if raw_behavior is None
        else Behavior(
            scale_up=rules_of(raw_behavior.get("scale_up"), up=True),
            scale_down=rules_of(raw_behavior.get("scale_down"), up=False),
        )
    )
    spec = HPASpec(
        min_replicas=int(inp.get("min_replicas", 1)),
        max_replicas=int(inp["max_replicas"]),
        metrics=tuple(metrics),
        behavior=behavior,
        namespace="test-namespace",
    )
    controller = HPAController(spec, _config(inp.get("config") or {}))
    recs = inp.get("recommendations")
    controller.seed_history(
        recommendations=None if recs is None else recommendations_of(recs),
        up_events=events_of(inp.get("scale_up_events")),
        down_events=events_of(inp.get("scale_down_events")),
        # the upstream tests' HPA has status.desiredReplicas = the scale's replicas
        status_desired=int(inp["spec_replicas"]),
    )
    for kind, condition in (inp.get("conditions") or {}).items():
        controller.seed_condition(kind, condition["status"], condition.get("reason", ""), -60.0)
    result = controller.sync(
        0.0,
        spec_replicas=int(inp["spec_replicas"]),
        status_replicas=int(inp.get("status_replicas", inp["spec_replicas"])),
        pods=pods_of(inp.get("pods") or [], resource="cpu"),
        metrics=_snapshot(inp, metrics, failed),
    )
    conditions = {
        c["type"]: {"status": c["status"], "reason": c["reason"]}
        for c in result.status["conditions"]
    }
    return {
        "desired_replicas": result.status["desiredReplicas"],
        "conditions": conditions,
        "events": [e["reason"] for e in result.events],
    }

"""Conformance-case inputs (snake_case, ages before 'now = 0') turned into engine objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpalab.autoscaling.hpa.model import (
    Container,
    ContainerUsage,
    Pod,
    PodResourceMetrics,
    Recommendation,
    ScaleEvent,
    ScalingRules,
    Tolerances,
)
from hpalab.autoscaling.hpa.pods import PodSamples
from hpalab.autoscaling.hpa.spec import parse_rules


def _at(age: float | None) -> float | None:
    return None if age is None else -float(age)


def pods_of(raw: Sequence[Mapping[str, Any]], *, resource: str) -> list[Pod]:
    """Case pods; each container's ``request_milli`` is its request for ``resource``."""
    return [
        Pod(
            name=p["name"],
            phase=p.get("phase", "Running"),
            ready=p.get("ready_condition", "True"),
            ready_transition_s=_at(p.get("ready_transition_age_s")),
            start_s=_at(p.get("start_age_s")),
            deleted=bool(p.get("deleted", False)),
            # pod-level spec.resources.requests for the resource; absent/null = not set
            requests_milli=None
            if p.get("pod_request_milli") is None
            else {resource: p["pod_request_milli"]},
            containers=tuple(
                Container(
                    c["name"],
                    {} if c.get("request_milli") is None else {resource: c["request_milli"]},
                )
                for c in p.get("containers", [])
            ),
        )
        for p in raw
    ]


def resource_metrics_of(
    raw: Sequence[Mapping[str, Any]], *, resource: str = "cpu"
) -> list[PodResourceMetrics]:
    """metrics.k8s.io items of a case (``usage_milli`` null = no usage for the resource)."""
    return [
        PodResourceMetrics(
            pod=m["pod"],
            timestamp_s=-float(m.get("timestamp_age_s", 0)),
            window_s=float(m.get("window_s", 60)),
            containers=tuple(
                ContainerUsage(
                    c.get("name", ""),
                    {} if c.get("usage_milli") is None else {resource: c["usage_milli"]},
                )
                for c in m.get("containers", [])
            ),
        )
        for m in raw
    ]


def group_input(inp: Mapping[str, Any]) -> tuple[list[Pod], PodSamples]:
    """Pods and metric presence/timestamps of a ``group_pods`` case."""
    pods = pods_of(inp.get("pods", []), resource=inp.get("resource", "cpu"))
    raw = inp.get("pod_metrics", [])
    times = {
        m["pod"]: (-float(m.get("timestamp_age_s", 0)), float(m.get("window_s", 0))) for m in raw
    }
    return pods, PodSamples(dict.fromkeys(times, 1), times=times)


def recommendations_of(raw: Sequence[Mapping[str, Any]]) -> list[Recommendation]:
    return [Recommendation(int(r["replicas"]), -float(r["age_s"])) for r in raw]


def events_of(raw: Sequence[Mapping[str, Any]] | None) -> list[ScaleEvent]:
    return [
        ScaleEvent(int(e["replica_change"]), -float(e["age_s"]), bool(e.get("outdated", False)))
        for e in raw or []
    ]


def rules_of(raw: Mapping[str, Any] | None, *, up: bool) -> ScalingRules:
    """snake_case HPAScalingRules of a case, with API defaulting (null = all defaults)."""
    if raw is None:
        return parse_rules(None, up=up, where="rules")
    camel: dict[str, Any] = {
        "stabilizationWindowSeconds": raw.get("stabilization_window_seconds"),
        "selectPolicy": raw.get("select_policy"),
        "tolerance": raw.get("tolerance"),
    }
    if raw.get("policies") is not None:
        camel["policies"] = [
            {"type": p["type"], "value": p["value"], "periodSeconds": p["period_seconds"]}
            for p in raw["policies"]
        ]
    return parse_rules(camel, up=up, where="rules")


def tolerances_of(raw: Mapping[str, Any] | None) -> Tolerances:
    raw = raw or {}
    return Tolerances(
        scale_down=float(raw.get("scale_down", 0.1)), scale_up=float(raw.get("scale_up", 0.1))
    )

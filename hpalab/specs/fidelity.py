"""``kind: FidelityScenario``: one HPA, the controller's flags and scripted metric timelines,
for ``hpalab fidelity hpa`` to run on the real controller and on hpalab's engine alike."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from hpalab.errors import Problem, SpecError
from hpalab.specs.base import API_VERSION, Header, SpecModel
from hpalab.specs.experiment import ControllerFlags, ResourceList
from hpalab.specs.hpa import HPASpec, hpa_problems
from hpalab.specs.kubeversions import scale_to_zero
from hpalab.specs.sources import Source, parse_yaml, read_text
from hpalab.specs.units import Duration, parse_quantity_value
from hpalab.specs.validation import validate_model

KIND = "FidelityScenario"
MISSING = "missing"
"""A value that is not there: a pod without a sample, an object or series not found (404)."""
ERROR = "error"
"""A value whose request fails with HTTP 500."""


def _check_value(value: object) -> str:
    text = str(value)
    if text in (MISSING, ERROR):
        return text
    parse_quantity_value(text.removesuffix("%"))
    return text


Value = Annotated[
    str,
    BeforeValidator(_check_value),
    Field(
        description="a Kubernetes quantity (10, 500m); for a cpu/memory Resource metric also N% "
        "of the pod's request; `missing` (no sample, 404) or `error` (HTTP 500)"
    ),
]


class Point(SpecModel):
    """One step of a timeline: from ``at`` on, the metric has ``value``."""

    at: Duration = Field(description="time since the HPA was created")
    value: Value


class PodOverride(SpecModel):
    """A timeline for one pod instead of the metric's own."""

    index: int = Field(ge=0, description="the pod's place in creation order, from 0")
    timeline: list[Point] = Field(min_length=1, description="the pod's values over time")


class MetricScript(SpecModel):
    """What the scripted metrics backend serves for one metric of the HPA."""

    name: str = Field(
        min_length=1,
        description="the metric's name (Pods, Object, External) or the resource's (cpu, memory)",
    )
    timeline: list[Point] = Field(
        min_length=1,
        description="values over time: per pod for Pods and Resource metrics, the value for "
        "Object and External metrics",
    )
    pods: list[PodOverride] = Field(
        default_factory=list, description="per-pod overrides (Pods and Resource metrics)"
    )


class HPAUpdate(SpecModel):
    """An edit of the HPA while it runs: from ``at`` on, its spec is ``hpa``."""

    at: Duration = Field(gt=0, description="time since the HPA was created")
    hpa: HPASpec = Field(description="the whole new autoscaling/v2 spec (no scaleTargetRef)")


class FidelitySpec(SpecModel):
    """The inputs both the real controller and the engine decide on."""

    hpa: HPASpec = Field(description="an autoscaling/v2 HorizontalPodAutoscalerSpec")
    controller: ControllerFlags = Field(
        default_factory=ControllerFlags, description="kube-controller-manager's HPA flags"
    )
    initial_replicas: int = Field(ge=1, description="the Deployment's replicas at the start")
    duration: Duration = Field(gt=0, description="how long the HPA runs")
    pod_startup: Duration = Field(0.0, description="how long a new pod takes to become Ready")
    pod_requests: ResourceList | None = Field(
        None, description="the pods' resource requests (Resource metrics need cpu or memory)"
    )
    pod_level_requests: ResourceList | None = Field(
        None,
        description="pod-level requests (spec.resources, PodLevelResources): a Resource "
        "metric's utilization is measured against them, and its values are usage against them",
    )
    pod_termination: Duration = Field(
        0.0,
        description="how long a deleted pod keeps running, Running and Ready, before it stops "
        "(it ignores SIGTERM for its grace period); 0: it stops within a second",
    )
    metrics: list[MetricScript] = Field(min_length=1, description="one script per metric")
    hpa_updates: list[HPAUpdate] = Field(
        default_factory=list,
        description="edits of the HPA's spec while it runs, in time order (each a new "
        "metadata.generation)",
    )


class FidelityScenario(Header):
    """A fidelity scenario file."""

    kind: Literal["FidelityScenario"] = Field(description="always FidelityScenario")
    spec: FidelitySpec = Field(description="the scenario")


def value_at(timeline: list[Point], elapsed_s: float) -> str:
    """The value of ``timeline`` at ``elapsed_s``: the last point at or before it (the first
    point's value before that)."""
    current = timeline[0].value
    for point in timeline:
        if point.at <= elapsed_s:
            current = point.value
    return current


def metric_names(hpa: HPASpec) -> list[str]:
    """The name each metric of the HPA is scripted under."""
    return [metric.metric_name for metric in hpa.metrics]


def load_scenario(path: Path, *, cluster_version: str | None = None) -> FidelityScenario:
    """Load a scenario file; raise one SpecError listing every problem.

    ``cluster_version``: the minor Kubernetes version (``1.37``) of the cluster the scenario
    will run on, which runs its default feature gates; the engine must decide like it.
    """
    source = parse_yaml(read_text(path), file=str(path))
    data = source.data
    if not isinstance(data, dict) or data.get("apiVersion") != API_VERSION:
        raise SpecError([source.problem(("apiVersion",), f"must be {API_VERSION}", None)])
    if data.get("kind") != KIND:
        raise SpecError([source.problem(("kind",), f"must be {KIND}", f"write kind: {KIND}")])
    scenario = validate_model(FidelityScenario, data, source, ())
    spec = scenario.spec
    zero = scale_to_zero(spec.controller.kubernetes_version, spec.controller.feature_gates)
    problems = [
        source.problem(("spec", "hpa", *p), m, h)
        for p, m, h in hpa_problems(spec.hpa, scale_to_zero=zero)
    ]
    problems += _cluster_problems(source, spec, cluster_version)
    wanted = metric_names(spec.hpa)
    for index, update in enumerate(spec.hpa_updates):
        where = ("spec", "hpaUpdates", index)
        problems.extend(
            source.problem((*where, "hpa", *p), m, h)
            for p, m, h in hpa_problems(update.hpa, scale_to_zero=zero)
        )
        if update.at >= spec.duration:
            problems.append(source.problem((*where, "at"), "must be before duration", None))
        if index and update.at <= spec.hpa_updates[index - 1].at:
            problems.append(
                source.problem((*where, "at"), "must be after the previous update", None)
            )
        wanted += [n for n in metric_names(update.hpa) if n not in wanted]
    for index, script in enumerate(spec.metrics):
        if script.name not in wanted:
            problems.append(
                source.problem(
                    ("spec", "metrics", index, "name"),
                    f"the HPA has no metric {script.name!r}",
                    f"name one of: {', '.join(wanted)}",
                )
            )
    scripted = {s.name for s in spec.metrics}
    for name in wanted:
        if name not in scripted:
            problems.append(
                source.problem(("spec", "metrics"), f"no script for metric {name!r}", None)
            )
    if problems:
        raise SpecError(problems)
    return scenario


def _cluster_problems(
    source: Source, spec: FidelitySpec, cluster_version: str | None
) -> list[Problem]:
    if cluster_version is None:
        return []
    out = []
    if spec.controller.kubernetes_version != cluster_version:
        out.append(
            source.problem(
                ("spec", "controller", "kubernetesVersion"),
                f"the cluster runs Kubernetes {cluster_version}",
                f'remove it, or write kubernetesVersion: "{cluster_version}"',
            )
        )
    if spec.controller.feature_gates:
        out.append(
            source.problem(
                ("spec", "controller", "featureGates"),
                "the cluster runs its version's default feature gates",
                "remove featureGates",
            )
        )
    return out

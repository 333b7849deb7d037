"""The whole stack as ordered steps: what to apply, then what must be true before going on.

Order: namespace → prometheus-operator CRDs (established) → prometheus-operator and
metrics-server (rolled out, metrics API available) → Prometheus → sample app → adapter
(rolled out, both metrics APIs available) → Grafana → HPA (its metric served, ScalingActive).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hpalab.platforms.kubernetes import render_adapter, render_app, render_monitoring
from hpalab.platforms.kubernetes.objects import (
    APP,
    PROMETHEUS,
    Obj,
    StackOptions,
    duration,
    meta,
    obj,
)
from hpalab.platforms.kubernetes.render_adapter import AdapterTLS
from hpalab.platforms.kubernetes.upstream import METRICS_SERVER, PROMETHEUS_OPERATOR
from hpalab.specs import ExperimentSpec


@dataclass(frozen=True, slots=True)
class Wait:
    """A readiness condition: ``kind`` is one of ``established`` (a CRD), ``rollout`` (a
    Deployment), ``statefulset``, ``apiservice``, ``prometheus-config`` (Prometheus runs the
    ``scrape/evaluation`` intervals ``name`` gives), ``metric`` (the HPA's first metric served
    by the metrics API) or ``hpa`` (ScalingActive=True with a current metric)."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True, slots=True)
class Step:
    """Objects applied together, then the waits that must pass before the next step."""

    name: str
    objects: list[Obj]
    waits: list[Wait] = field(default_factory=list)


def waits_for(objects: list[Obj]) -> list[Wait]:
    """The readiness conditions the objects imply, in order."""
    out: list[Wait] = []
    for body in objects:
        kind, name = body["kind"], body["metadata"]["name"]
        namespace = body["metadata"].get("namespace")
        if kind == "CustomResourceDefinition":
            out.append(Wait("established", name))
        elif kind == "Deployment":
            out.append(Wait("rollout", name, namespace))
        elif kind == "APIService":
            out.append(Wait("apiservice", name))
        elif kind == "Prometheus":
            out.append(Wait("statefulset", f"prometheus-{name}", namespace))
    return out


def intervals(spec: ExperimentSpec) -> str:
    """``scrape/evaluation`` intervals of ``spec`` as a ``prometheus-config`` wait names them."""
    return f"{duration(spec.prometheus.scrape_interval)}/" + duration(
        spec.prometheus.evaluation_interval
    )


def namespace_object(options: StackOptions) -> Obj:
    """The namespace every namespaced object of the stack lives in."""
    return obj("v1", "Namespace", meta(options, options.namespace, part="hpalab", namespaced=False))


def _step(name: str, objects: list[Obj], *extra: Wait) -> Step:
    return Step(name, objects, [*waits_for(objects), *extra])


def plan(
    spec: ExperimentSpec,
    options: StackOptions,
    *,
    upstream: dict[str, list[Obj]],
    grafana_password: str | None,
    tls: AdapterTLS | None = None,
    with_hpa: bool = True,
    with_grafana: bool = True,
) -> list[Step]:
    """Every step of ``up``. ``upstream`` maps component names to their objects; a component
    left out (already installed by someone else, or not available in ``--dry-run``) is skipped.
    """
    operator = upstream.get(PROMETHEUS_OPERATOR, [])
    crds = [o for o in operator if o.get("kind") == "CustomResourceDefinition"]
    others = [o for o in operator if o.get("kind") != "CustomResourceDefinition"]
    steps = [_step("namespace", [namespace_object(options)])]
    if crds:
        steps.append(_step("prometheus-operator CRDs", crds))
    if others or upstream.get(METRICS_SERVER):
        steps.append(_step("upstream components", [*others, *upstream.get(METRICS_SERVER, [])]))
    steps += [
        _step(
            "prometheus",
            render_monitoring.prometheus_objects(spec, options),
            Wait("prometheus-config", intervals(spec), options.namespace),
        ),
        _step("sample app", render_app.app_objects(spec, options)),
        _step("prometheus-adapter", render_adapter.adapter_objects(spec, options, tls)),
    ]
    if with_grafana:
        grafana = render_monitoring.grafana_objects(spec, options, grafana_password)
        steps.append(_step("grafana", grafana))
    if with_hpa:
        steps.append(hpa_step(spec, options))
    return steps


def hpa_step(spec: ExperimentSpec, options: StackOptions) -> Step:
    """The HPA, once its metric is served; done when the HPA is ScalingActive."""
    return Step(
        "hpa",
        [render_app.hpa(spec, options)],
        [Wait("metric", APP, options.namespace), Wait("hpa", APP, options.namespace)],
    )


def variant_steps(
    spec: ExperimentSpec, options: StackOptions, tls: AdapterTLS | None = None
) -> list[Step]:
    """What changes between variants: the app's behaviour, Prometheus' intervals, the adapter's
    rules (the config hash in its pod template rolls it) and the HPA."""
    prometheus = [
        o for o in render_monitoring.prometheus_objects(spec, options) if o["kind"] == "Prometheus"
    ]
    app = [render_app.deployment(spec, options), render_app.service_monitor(spec, options)]
    adapter = [
        render_adapter.configmap(spec, options),
        render_adapter.deployment(spec, options, tls),
    ]
    return [
        Step(
            "prometheus",
            prometheus,
            [
                Wait("statefulset", f"prometheus-{PROMETHEUS}", options.namespace),
                Wait("prometheus-config", intervals(spec), options.namespace),
            ],
        ),
        _step("sample app", app),
        _step(
            "prometheus-adapter",
            adapter,
            *[
                Wait("apiservice", o["metadata"]["name"])
                for o in render_adapter.apiservices(spec, options, tls)
            ],
        ),
        hpa_step(spec, options),
    ]


def all_objects(steps: list[Step]) -> list[Obj]:
    """The objects of every step, in apply order."""
    return [body for step in steps for body in step.objects]

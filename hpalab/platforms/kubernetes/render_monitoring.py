"""Prometheus (a prometheus-operator resource) and Grafana with a provisioned dashboard.

Grafana's admin password is never ``admin/admin`` (the default the tutorial warns about): it is
generated with :mod:`secrets` into a Secret at the first ``up`` and kept on later ones. Rendering
for ``--dry-run`` puts a placeholder there instead, so no password is ever printed.
"""

from __future__ import annotations

import json

from hpalab.platforms.kubernetes.metrics_api import target_value
from hpalab.platforms.kubernetes.objects import (
    APP,
    CONFIG_HASH,
    GRAFANA,
    GRAFANA_PORT,
    GRAFANA_SECRET,
    INSTANCE,
    PROMETHEUS,
    PROMETHEUS_PORT,
    Obj,
    StackOptions,
    content_hash,
    deployment,
    duration,
    meta,
    obj,
    role_with_binding,
    selector,
    service,
)
from hpalab.specs import ExperimentSpec

PASSWORD_PLACEHOLDER = "<generated on apply; read it with kubectl>"  # noqa: S105 - not a secret
PROMETHEUS_SA = "prometheus"


def prometheus_objects(spec: ExperimentSpec, options: StackOptions) -> list[Obj]:
    """ServiceAccount, a namespaced Role (service discovery in this namespace only), the
    Prometheus resource and a NodePort Service for reaching it from outside."""
    part = "prometheus"
    read = ["get", "list", "watch"]
    role_rules: list[Obj] = [
        {"apiGroups": [""], "resources": ["services", "endpoints", "pods"], "verbs": read},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
    ]
    prometheus = obj(
        "monitoring.coreos.com/v1",
        "Prometheus",
        meta(options, PROMETHEUS, part=part, component="server"),
        spec={
            "version": options.prometheus_version,
            "replicas": 1,
            "serviceAccountName": PROMETHEUS_SA,
            "scrapeInterval": duration(spec.prometheus.scrape_interval),
            "evaluationInterval": duration(spec.prometheus.evaluation_interval),
            "serviceMonitorSelector": {"matchLabels": {INSTANCE: options.instance}},
            "retention": "1d",
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
        },
    )
    return [
        obj("v1", "ServiceAccount", meta(options, PROMETHEUS_SA, part=part)),
        *role_with_binding(
            options, PROMETHEUS_SA, part=part, rules=role_rules, service_account=PROMETHEUS_SA
        ),
        prometheus,
        service(
            options,
            "prometheus",
            part=part,
            component="server",
            pod_selector={"prometheus": PROMETHEUS},
            ports=[("web", PROMETHEUS_PORT)],
            node_port=options.prometheus_node_port,
        ),
    ]


def _panel(index: int, title: str, unit: str, exprs: list[tuple[str, str]]) -> Obj:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(65 + i), "expr": expr, "legendFormat": legend}
            for i, (legend, expr) in enumerate(exprs)
        ],
    }


def dashboard(spec: ExperimentSpec, options: StackOptions) -> Obj:
    """The dashboard: load, metric against target, replicas, latency."""
    sel = f'namespace="{options.namespace}",service="{APP}"'
    per_pod = f"sum(rate(http_requests_total{{{sel}}}[1m])) / count(up{{{sel}}} == 1)"
    target = target_value(spec.hpa.to_kubernetes()["metrics"][0])  # type: ignore[index]
    metric_exprs = [("metric (requests/s per ready pod)", per_pod)]
    if target is not None:
        metric_exprs.append(("HPA target", f"vector({target:g})"))
    latency = f"sum(rate(http_request_duration_seconds_bucket{{{sel}}}[1m])) by (le)"
    panels = [
        _panel(
            0, "Load", "reqps", [("requests/s", f"sum(rate(http_requests_total{{{sel}}}[1m]))")]
        ),
        _panel(1, "Metric against target", "short", metric_exprs),
        _panel(2, "Replicas scraped and up", "short", [("replicas", f"count(up{{{sel}}} == 1)")]),
        _panel(
            3,
            "Latency",
            "s",
            [(f"p{q}", f"histogram_quantile(0.{q}, {latency})") for q in (50, 95, 99)],
        ),
    ]
    return {
        "uid": "hpalab",
        "title": "hpalab: load, metric, replicas, latency",
        "schemaVersion": 39,
        "refresh": "5s",
        "time": {"from": "now-15m", "to": "now"},
        "panels": panels,
    }


def grafana_secret(options: StackOptions, password: str | None) -> Obj:
    """The admin credentials; ``password=None`` renders the dry-run placeholder."""
    return obj(
        "v1",
        "Secret",
        meta(options, GRAFANA_SECRET, part=GRAFANA),
        type="Opaque",
        stringData={"admin-user": "hpalab", "admin-password": password or PASSWORD_PLACEHOLDER},
    )


def _provisioning(options: StackOptions) -> dict[str, str]:
    """Grafana's provisioning files: the Prometheus datasource and the dashboard folder."""
    datasources = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": "prometheus",
                "type": "prometheus",
                "access": "proxy",
                "url": f"http://prometheus-operated.{options.namespace}.svc:{PROMETHEUS_PORT}",
                "isDefault": True,
            }
        ],
    }
    providers = {
        "apiVersion": 1,
        "providers": [{"name": "hpalab", "type": "file", "options": {"path": _DASHBOARDS}}],
    }
    return {
        "datasources.yaml": json.dumps(datasources, indent=2),
        "dashboards.yaml": json.dumps(providers, indent=2),
    }


_DASHBOARDS = "/var/lib/grafana/dashboards"
_MOUNTS = {
    "datasources": ("/etc/grafana/provisioning/datasources", "datasources.yaml"),
    "providers": ("/etc/grafana/provisioning/dashboards", "dashboards.yaml"),
}


def _grafana_pod(options: StackOptions) -> Obj:
    """Grafana's pod: admin credentials from the Secret, anonymous access off."""
    env: list[Obj] = [
        {
            "name": f"GF_SECURITY_ADMIN_{key.upper()}",
            "valueFrom": {"secretKeyRef": {"name": GRAFANA_SECRET, "key": f"admin-{key}"}},
        }
        for key in ("user", "password")
    ]
    env.append({"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"})
    mounts = [{"name": name, "mountPath": path} for name, (path, _) in _MOUNTS.items()]
    mounts.append({"name": "dashboards", "mountPath": _DASHBOARDS})
    volumes: list[Obj] = [
        {
            "name": name,
            "configMap": {"name": f"{GRAFANA}-provisioning", "items": [{"key": key, "path": key}]},
        }
        for name, (_, key) in _MOUNTS.items()
    ]
    volumes.append({"name": "dashboards", "configMap": {"name": f"{GRAFANA}-dashboards"}})
    container: Obj = {
        "name": GRAFANA,
        "image": options.grafana_image,
        "env": env,
        "ports": [{"name": "http", "containerPort": GRAFANA_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/api/health", "port": "http"}, "periodSeconds": 5},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
        "volumeMounts": mounts,
    }
    return {"containers": [container], "volumes": volumes}


def grafana_objects(spec: ExperimentSpec, options: StackOptions, password: str | None) -> list[Obj]:
    """Secret, provisioning ConfigMaps, Deployment and a NodePort Service."""
    provisioning = _provisioning(options)
    board = {"hpalab.json": json.dumps(dashboard(spec, options), indent=2)}
    digest = {CONFIG_HASH: content_hash(provisioning, board)}
    return [
        grafana_secret(options, password),
        obj(
            "v1",
            "ConfigMap",
            meta(options, f"{GRAFANA}-provisioning", part=GRAFANA),
            data=provisioning,
        ),
        obj("v1", "ConfigMap", meta(options, f"{GRAFANA}-dashboards", part=GRAFANA), data=board),
        deployment(
            options,
            GRAFANA,
            component="dashboards",
            pod_spec=_grafana_pod(options),
            annotations=digest,
        ),
        service(
            options,
            GRAFANA,
            part=GRAFANA,
            component="dashboards",
            pod_selector=selector(options, GRAFANA),
            ports=[("http", GRAFANA_PORT)],
            node_port=options.grafana_node_port,
        ),
    ]

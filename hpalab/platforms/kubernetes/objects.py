"""Names, labels and the stack's options: what every rendered object has in common.

Every object hpalab applies carries ``app.kubernetes.io/managed-by: hpalab`` and
``app.kubernetes.io/instance: <instance>``; ``hpalab down`` deletes by exactly these two labels,
so it never touches what hpalab did not create.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml

Obj = dict[str, Any]
"""A Kubernetes object as the API serves it (camelCase keys, JSON-serialisable)."""

MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
FIELD_MANAGER = "hpalab"
CONFIG_HASH = "hpalab.io/config-hash"

APP = "sampleapp"
ADAPTER = "prometheus-adapter"
PROMETHEUS = "hpalab"
"""Name of the Prometheus custom resource (the operator names its pods ``prometheus-hpalab-0``)."""
GRAFANA = "grafana"
GRAFANA_SECRET = "grafana-admin"  # noqa: S105 - a Secret's name
LOCUST = "locust"

APP_PORT = 8080
ADAPTER_PORT = 6443
PROMETHEUS_PORT = 9090
GRAFANA_PORT = 3000


@dataclass(frozen=True, slots=True)
class StackOptions:
    """Where and how the stack is deployed (everything not in the experiment file)."""

    namespace: str = "hpalab"
    """Namespace of every namespaced object hpalab renders."""
    instance: str = "hpalab"
    """Value of the instance label; ``down`` removes objects carrying it."""
    app_image: str | None = None
    """A built sample-app image (see the Dockerfile); ``None`` runs the app's source from a
    ConfigMap in the stock ``python_image`` (no registry push needed)."""
    python_image: str = "python:3.12-slim"
    adapter_image: str = "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0"
    grafana_image: str = "grafana/grafana:11.5.2"
    prometheus_version: str = "v3.2.1"
    """Prometheus version the operator runs (the Prometheus resource's ``spec.version``)."""
    locust_image: str = "locustio/locust:2.47.0"
    app_node_port: int = 30080
    """NodePort of the sample app; the kind configuration maps it to the host."""
    prometheus_node_port: int = 30090
    grafana_node_port: int = 30030
    relist_interval: str = "30s"
    """prometheus-adapter's ``--metrics-relist-interval``."""


def labels(options: StackOptions, name: str, component: str | None = None) -> dict[str, str]:
    """The labels of every object hpalab creates; ``name`` is the part of the stack."""
    out = {MANAGED_BY: "hpalab", INSTANCE: options.instance, NAME: name}
    if component:
        out[COMPONENT] = component
    return out


def selector(options: StackOptions, name: str) -> dict[str, str]:
    """Pod selector of a workload: stable across versions (selectors are immutable)."""
    return {INSTANCE: options.instance, NAME: name}


def owned_selector(instance: str) -> str:
    """The label selector ``down`` and ``status`` list with."""
    return f"{MANAGED_BY}=hpalab,{INSTANCE}={instance}"


def meta(
    options: StackOptions,
    name: str,
    *,
    part: str,
    component: str | None = None,
    namespaced: bool = True,
    namespace: str | None = None,
) -> Obj:
    """``metadata`` of one object: name, namespace (unless cluster-scoped) and labels."""
    out: Obj = {"name": name}
    if namespaced:
        out["namespace"] = namespace or options.namespace
    out["labels"] = labels(options, part, component)
    return out


def obj(api_version: str, kind: str, metadata: Obj, **body: Any) -> Obj:
    """An object with ``apiVersion``, ``kind`` and ``metadata`` first, as kubectl prints it."""
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def service(
    options: StackOptions,
    name: str,
    *,
    part: str,
    component: str,
    pod_selector: dict[str, str],
    ports: list[tuple[str, int]],
    node_port: int | None = None,
) -> Obj:
    """A Service whose ports forward to the pods' ports of the same name; with ``node_port``
    (one port only) it is a NodePort Service on that port."""
    spec_ports: list[Obj] = [
        {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
        for port_name, port in ports
    ]
    spec: Obj = {"selector": pod_selector, "ports": spec_ports}
    if node_port is not None:
        spec = {"type": "NodePort", **spec}
        spec_ports[0]["nodePort"] = node_port
    return obj("v1", "Service", meta(options, name, part=part, component=component), spec=spec)


def deployment(
    options: StackOptions,
    name: str,
    *,
    component: str,
    pod_spec: Obj,
    annotations: dict[str, str],
    replicas: int = 1,
    **spec: Any,
) -> Obj:
    """A Deployment of the part ``name``: its pods carry the part's labels (the selector's keys
    among them) and ``annotations`` (a config hash, so a new configuration rolls it)."""
    pod_labels = labels(options, name)
    return obj(
        "apps/v1",
        "Deployment",
        meta(options, name, part=name, component=component),
        spec={
            "replicas": replicas,
            "selector": {"matchLabels": selector(options, name)},
            **spec,
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": pod_spec,
            },
        },
    )


def role_with_binding(
    options: StackOptions,
    name: str,
    *,
    part: str,
    rules: list[Obj],
    service_account: str,
    cluster: bool = False,
    namespace: str | None = None,
) -> list[Obj]:
    """A Role (or ClusterRole) and the binding that grants it to one of the stack's service
    accounts; ``namespace`` places a namespaced pair outside the stack's namespace."""
    kind = "ClusterRole" if cluster else "Role"
    rbac = "rbac.authorization.k8s.io/v1"
    subject = {"kind": "ServiceAccount", "name": service_account, "namespace": options.namespace}
    return [
        obj(
            rbac,
            kind,
            meta(options, name, part=part, namespaced=not cluster, namespace=namespace),
            rules=rules,
        ),
        obj(
            rbac,
            f"{kind}Binding",
            meta(options, name, part=part, namespaced=not cluster, namespace=namespace),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            subjects=[subject],
        ),
    ]


def content_hash(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable ``parts`` (pod template annotations that roll a
    Deployment when its configuration changes)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def seconds(value: float) -> int:
    """Whole seconds for API fields that take integers, rounded up, at least 1."""
    whole = int(value)
    return max(1, whole if whole == value else whole + 1)


def duration(value: float) -> str:
    """A Prometheus duration such as ``5s`` or ``500ms`` for operator fields."""
    millis = round(value * 1000)
    if millis % 1000 == 0:
        return f"{millis // 1000}s"
    return f"{millis}ms"


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line strings (source code, PromQL), no anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML cannot emit a block scalar with trailing spaces on a line; quote those instead.
    block = "\n" in value and not any(line.endswith(" ") for line in value.split("\n"))
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if block else None)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    """YAML as people write Kubernetes objects: keys in given order, readable blocks."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)

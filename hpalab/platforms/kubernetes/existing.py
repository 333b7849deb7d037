"""An existing workload as the target: ``spec.target`` checked against the cluster, and the
``fromCluster`` forms of ``spec.hpa`` and ``spec.adapter`` read from it.

Every problem is bad input (exit 2 at the field's line): a workload, Service, port, HPA or
ConfigMap that is not there, an HPA that scales something else, a second HPA on the workload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import yaml

from hpalab.platforms.kubernetes.client import KubeClient, collection_path
from hpalab.specs import ExperimentSpec
from hpalab.specs.target import Place, ResolveProblem, Resolver, TargetSpec

PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets"}
API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "ConfigMap": "v1",
    "Service": "v1",
}


def path_of(kind: str, namespace: str, name: str = "") -> str:
    """The API path of the named object of ``kind`` (its collection without a name)."""
    base = collection_path(API_VERSIONS[kind], kind, namespace)
    return f"{base}/{quote(name)}" if name else base


def target_hpa_spec(target: TargetSpec, spec: ExperimentSpec) -> dict[str, Any]:
    """The HPA spec a run on ``target`` sets for a variant: its ``spec.hpa``, scaling the
    workload."""
    ref = {"apiVersion": "apps/v1", "kind": target.kind, "name": target.name}
    return {"scaleTargetRef": ref, **spec.hpa.to_kubernetes()}


def service_port(service: dict[str, Any], port: int | str) -> dict[str, Any] | None:
    """The Service's port entry named ``port`` or numbered ``port``."""
    for entry in service.get("spec", {}).get("ports") or []:
        if port in (entry.get("name"), entry.get("port")):
            return dict(entry)
    return None


def cluster_resolver(client: Callable[[], KubeClient]) -> Resolver:
    """The resolver ``hpalab run --platform kubernetes`` loads experiments with; ``client``
    is called only when the experiment has a ``spec.target``."""

    def resolve(spec: dict[str, Any]) -> list[ResolveProblem]:
        target = spec.get("target")
        if not isinstance(target, dict):
            if "target" in spec or not any(
                isinstance(spec.get(k), dict) and "fromCluster" in spec[k]
                for k in ("hpa", "adapter")
            ):
                return []
            return [
                (
                    ("hpa",),
                    "fromCluster reads from the workload's cluster, and spec.target names none",
                    "add spec.target: {kind: Deployment, name: ..., namespace: ..., service: "
                    "{name: ..., port: ...}, prometheus: {...}}",
                )
            ]
        if not all(isinstance(target.get(k), str) for k in ("kind", "name", "namespace")):
            return []  # the model reports the missing fields
        if target["kind"] not in PLURALS:
            return []  # and a wrong kind
        return _Resolution(client(), spec, target).problems()

    return resolve


class _Resolution:
    def __init__(self, client: KubeClient, spec: dict[str, Any], target: dict[str, Any]) -> None:
        self.client, self.spec, self.target = client, spec, target
        self.kind, self.name, self.namespace = target["kind"], target["name"], target["namespace"]
        self.out: list[ResolveProblem] = []

    def problem(self, place: Place, message: str, hint: str) -> None:
        self.out.append((place, message, hint))

    def problems(self) -> list[ResolveProblem]:
        where = f"{self.kind} {self.namespace}/{self.name}"
        if self.client.get(path_of(self.kind, self.namespace, self.name)) is None:
            self.problem(
                ("target", "name"),
                f"{where} is not on the cluster ({self.client.server})",
                f"check `kubectl -n {self.namespace} get {PLURALS[self.kind]}` and the "
                "--context; hpalab experiments on a workload that exists",
            )
            return self.out
        self._service()
        self._hpa()
        self._adapter()
        return self.out

    def _service(self) -> None:
        ref = self.target.get("service")
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            return
        found = self.client.get(path_of("Service", self.namespace, ref["name"]))
        if found is None:
            self.problem(
                ("target", "service", "name"),
                f"Service {self.namespace}/{ref['name']} is not on the cluster",
                f"check `kubectl -n {self.namespace} get services`",
            )
            return
        if "port" in ref and service_port(found, ref["port"]) is None:
            ports = [str(p.get("name") or p.get("port")) for p in found["spec"].get("ports") or []]
            self.problem(
                ("target", "service", "port"),
                f"Service {self.namespace}/{ref['name']} has no port {ref['port']!r}",
                f"use one of its ports: {', '.join(ports) or 'none'}",
            )

    def _hpa(self) -> None:
        raw = self.spec.get("hpa")
        wanted = raw.get("fromCluster") if isinstance(raw, dict) else None
        if wanted is not None and not isinstance(wanted, str):
            self.problem(
                ("hpa", "fromCluster"), "must be the HPA's name", "hpa: {fromCluster: NAME}"
            )
            return
        scaling = self._hpas_of_the_workload()
        if wanted is None:
            chosen = self.target.get("hpa") or self.name
            others = [n for n in scaling if n != chosen]
            if others:
                self.problem(
                    ("hpa",),
                    f"{self.kind} {self.namespace}/{self.name} is already scaled by HPA "
                    f"{others[0]}; two HPAs on one workload fight each other",
                    f"take it as the baseline with hpa: {{fromCluster: {others[0]}}}",
                )
            return
        body = self.client.get(path_of("HorizontalPodAutoscaler", self.namespace, wanted))
        if body is None:
            self.problem(
                ("hpa", "fromCluster"),
                f"HPA {self.namespace}/{wanted} is not on the cluster",
                f"the HPAs of {self.name}: {', '.join(scaling) or 'none'}",
            )
            return
        if wanted not in scaling:
            ref = body.get("spec", {}).get("scaleTargetRef", {})
            self.problem(
                ("hpa", "fromCluster"),
                f"HPA {self.namespace}/{wanted} scales {ref.get('kind')} {ref.get('name')}, "
                f"not {self.kind} {self.name}",
                "name the HPA of spec.target",
            )
            return
        self.spec["hpa"] = {k: v for k, v in body["spec"].items() if k != "scaleTargetRef"}
        self.target["hpa"] = wanted

    def _hpas_of_the_workload(self) -> list[str]:
        listed = self.client.list(path_of("HorizontalPodAutoscaler", self.namespace))
        return [
            h["metadata"]["name"]
            for h in listed
            if h.get("spec", {}).get("scaleTargetRef", {}).get("kind") == self.kind
            and h["spec"]["scaleTargetRef"].get("name") == self.name
        ]

    def _adapter(self) -> None:
        raw = self.spec.get("adapter")
        ref = raw.get("fromCluster") if isinstance(raw, dict) else None
        if ref is None:
            if raw and not self.target.get("adapterConfigMap"):
                self.problem(
                    ("adapter",),
                    "with spec.target, hpalab deploys no adapter: these rules would go nowhere",
                    "take the running adapter's rules with adapter: {fromCluster: {namespace: "
                    "..., configMap: ...}}, or remove spec.adapter",
                )
            return
        if not isinstance(ref, dict) or not all(
            isinstance(ref.get(k), str) for k in ("namespace", "configMap")
        ):
            self.problem(
                ("adapter", "fromCluster"),
                "must name the adapter's ConfigMap",
                "adapter: {fromCluster: {namespace: monitoring, configMap: adapter-config}}",
            )
            return
        found = self.client.get(path_of("ConfigMap", ref["namespace"], ref["configMap"]))
        data = (found or {}).get("data") or {}
        key = ref.get("key") or ("config.yaml" if "config.yaml" in data else None)
        if key is None and len(data) == 1:
            key = next(iter(data))
        where = f"ConfigMap {ref['namespace']}/{ref['configMap']}"
        if found is None or key not in data:
            self.problem(
                ("adapter", "fromCluster"),
                f"{where} is not on the cluster"
                if found is None
                else f"{where} has no adapter config (keys: {', '.join(data) or 'none'})",
                "name the ConfigMap the adapter's --config file comes from (and its key)",
            )
            return
        try:
            rules = yaml.safe_load(data[key]) or {}
        except yaml.YAMLError as error:
            self.problem(("adapter", "fromCluster"), f"{where}: {error}", "fix the ConfigMap")
            return
        self.spec["adapter"] = rules
        self.target["adapterConfigMap"] = {
            "namespace": ref["namespace"],
            "configMap": ref["configMap"],
            "key": key,
        }

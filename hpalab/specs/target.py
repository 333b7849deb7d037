"""``spec.target``: an existing workload on a cluster as the experiment's replicas, and the
``fromCluster`` forms of ``spec.hpa`` and ``spec.adapter`` that take its HPA and its adapter's
rules as the baseline.

A ``fromCluster`` form is resolved against the cluster before the experiment is validated
(:data:`Resolver`): the HPA's spec and the adapter's rules then stand in the file's place, so
variants patch them as they patch written ones, and the run's lock file records what was read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, model_validator

from hpalab.specs.base import SpecModel

Place = tuple[str | int, ...]
ResolveProblem = tuple[Place, str, str | None]
Resolver = Callable[[dict[str, Any]], list[ResolveProblem]]
"""Reads what ``spec`` (the raw mapping) takes from the cluster, writes it in place, and returns
the problems found (place under ``spec``, message, hint)."""

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class ServiceRef(SpecModel):
    """The Service in the target's namespace that load goes through."""

    name: str = Field(pattern=DNS_SUBDOMAIN, max_length=253, description="the Service's name")
    port: int | str = Field(
        description="its port: the number or the name of one of spec.ports (a NodePort or "
        "LoadBalancer Service is reached on a node; a ClusterIP one through kubectl "
        "port-forward, which sends every request to one pod)"
    )


class PrometheusRef(SpecModel):
    """Where the run reads Prometheus series from (the report's Prometheus panels)."""

    namespace: str = Field(pattern=DNS_LABEL, description="the Prometheus Service's namespace")
    service: str = Field(pattern=DNS_SUBDOMAIN, description="the Prometheus Service")
    port: int = Field(9090, ge=1, le=65535, description="its port")


class ConfigMapRef(SpecModel):
    """The ConfigMap holding a running prometheus-adapter's rules."""

    namespace: str = Field(pattern=DNS_LABEL, description="the adapter's namespace")
    config_map: str = Field(pattern=DNS_SUBDOMAIN, description="the ConfigMap's name")
    key: str = Field(
        "config.yaml", min_length=1, description="the key of the adapter's config file in it"
    )


class TargetSpec(SpecModel):
    """An existing Deployment or StatefulSet: hpalab deploys no sample app and changes only
    what it saved first (the HPA, the adapter's ConfigMap and the replicas)."""

    kind: Literal["Deployment", "StatefulSet"] = Field(
        description="the workload's kind: Deployment or StatefulSet"
    )
    name: str = Field(pattern=DNS_SUBDOMAIN, max_length=253, description="the workload's name")
    namespace: str = Field(pattern=DNS_LABEL, max_length=63, description="its namespace")
    service: ServiceRef | None = Field(None, description="the Service load goes through")
    url: str | None = Field(
        None, pattern=r"^https?://", description="or the URL load goes to (an Ingress, say)"
    )
    prometheus: PrometheusRef = Field(description="the Prometheus to record series from")
    hpa: str | None = Field(
        None,
        pattern=DNS_SUBDOMAIN,
        description="the HPA hpalab sets per variant and restores afterwards (hpa.fromCluster "
        "fills it in; default: one named after the workload, created and then deleted)",
    )
    adapter_config_map: ConfigMapRef | None = Field(
        None,
        description="the running adapter's ConfigMap that variants rewrite and hpalab "
        "restores (adapter.fromCluster fills it in; without it the adapter is left alone)",
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> TargetSpec:
        if (self.service is None) == (self.url is None):
            raise ValueError(
                "give exactly one of service (name and port) or url: how load reaches "
                f"{self.kind} {self.namespace}/{self.name}"
            )
        return self


def from_cluster_places(spec: dict[str, Any]) -> list[Place]:
    """Where ``spec`` (the raw mapping) asks for something from the cluster."""
    return [
        (key, "fromCluster")
        for key in ("hpa", "adapter")
        if isinstance(spec.get(key), dict) and "fromCluster" in spec[key]
    ]


def unresolved_problems(spec: dict[str, Any]) -> list[ResolveProblem]:
    """``fromCluster`` with no cluster to read it from: the file alone cannot be validated."""
    return [
        (
            place,
            f"{place[0]}.fromCluster is read from the cluster, so it needs the kubernetes "
            "platform and spec.target",
            "hpalab run/validate --platform kubernetes --context CONTEXT reads it; or write "
            f"the {place[0]} out in the file",
        )
        for place in from_cluster_places(spec)
    ]

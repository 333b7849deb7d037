"""The real prometheus-adapter of a kubernetes-platform stack on ``hpalab cluster``: give it a
config, turn on Prometheus's query log, and make metric requests through the aggregated API,
each with the PromQL it made Prometheus run.

The query log (``global.query_log_file``, the ``Prometheus`` resource's ``queryLogFile``) is an
``emptyDir`` of the Prometheus pod; on ``hpalab cluster`` that volume is a host directory under
the kubelet's pods directory, which is where it is read back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from hpalab.cluster.config import ClusterConfig
from hpalab.errors import PlatformError, UsageError
from hpalab.fidelity.running import restored
from hpalab.platforms.kubernetes.client import KubeClient
from hpalab.platforms.kubernetes.objects import ADAPTER, PROMETHEUS, PROMETHEUS_PORT
from hpalab.platforms.kubernetes.render_adapter import GROUPED
from hpalab.platforms.kubernetes.resources import guess_plural
from hpalab.platforms.kubernetes.waiting import (
    Check,
    deployment_ready,
    statefulset_ready,
)
from hpalab.specs.adapter import AdapterConfig, parse_prometheus_duration

QUERY_LOG = "query.log"
RESTARTED = "hpalab.dev/fidelity-restarted-at"
EXTERNAL_APISERVICE = "v1beta1.external.metrics.k8s.io"
RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC = f"/apis/{RBAC_API}"
APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"


@dataclass
class Answer:
    """One request through the aggregated API and what Prometheus ran for it."""

    path: str
    status: int
    body: Any
    queries: list[dict[str, Any]] = field(default_factory=list)
    """The query log's entries written while the request ran (``params.query``, ``params.end``)."""


def until(check: Callable[[], Check], timeout_s: float, what: str) -> None:
    """Poll ``check`` until it is ready; a PlatformError naming its last reason otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        ready, why = check()
        if ready:
            return
        if time.monotonic() > deadline:
            raise PlatformError(f"fidelity adapter: {what} not ready in {timeout_s:.0f} s: {why}")
        time.sleep(0.5)


class Stack:
    """A kubernetes-platform stack (``hpalab up --platform kubernetes --namespace NS``)."""

    def __init__(self, client: KubeClient, cluster: ClusterConfig, namespace: str) -> None:
        self.client = client
        self.cluster = cluster
        self.ns = namespace
        self._log: Path | None = None

    def check(self) -> None:
        """The stack is there, and nothing else queries Prometheus through the adapter."""
        deploy = self.client.get(self._adapter_path())
        if deploy is None:
            raise UsageError(
                f"no prometheus-adapter in namespace {self.ns!r}",
                hint=f"run `hpalab up --platform kubernetes --namespace {self.ns}` first",
            )
        hpas = self.client.list(
            f"/apis/autoscaling/v2/namespaces/{self.ns}/horizontalpodautoscalers"
        )
        if hpas:
            raise UsageError(
                f"namespace {self.ns!r} has an HPA ({hpas[0]['metadata']['name']}), whose "
                "requests would mix with the checked ones in Prometheus's query log",
                hint="use a stack without an experiment (`hpalab up --platform kubernetes "
                f"--namespace {self.ns}`), or delete the HPA",
            )

    def prometheus(self, path: str, params: dict[str, str]) -> Any:
        """A Prometheus HTTP API call through the API server's service proxy."""
        proxy = f"/api/v1/namespaces/{self.ns}/services/prometheus-operated:{PROMETHEUS_PORT}/proxy"
        body = self.client.get(proxy + path, query=params)
        if not body or body.get("status") != "success":
            raise PlatformError(f"Prometheus {path}: {body}")
        return body["data"]

    def enable_query_log(self) -> None:
        """Set the Prometheus resource's ``queryLogFile`` (the operator rolls the pod)."""
        path = f"/apis/monitoring.coreos.com/v1/namespaces/{self.ns}/prometheuses/{PROMETHEUS}"
        found = self.client.get(path) or {}
        if (found.get("spec") or {}).get("queryLogFile") != QUERY_LOG:
            patch = {"spec": {"queryLogFile": QUERY_LOG}}
            self._merge_patch(path, patch)
            time.sleep(2.0)  # the operator updates the StatefulSet, which rolls the pod
        sts = f"/apis/apps/v1/namespaces/{self.ns}/statefulsets/prometheus-{PROMETHEUS}"
        until(lambda: statefulset_ready(self.client.get(sts)), 180, "Prometheus")
        until(self._log_found, 60, "the query log")

    def _log_found(self) -> Check:
        pod = self.client.get(f"/api/v1/namespaces/{self.ns}/pods/prometheus-{PROMETHEUS}-0")
        if pod is None:
            return False, "no Prometheus pod"
        uid = pod["metadata"]["uid"]
        volumes = self.cluster.path("kubelet", "pods", uid, "volumes", "kubernetes.io~empty-dir")
        found = sorted(volumes.glob(f"*/{QUERY_LOG}"))
        if not found:
            return False, f"no {QUERY_LOG} under {volumes}"
        self._log = found[0]
        return True, str(found[0])

    @contextmanager
    def restored(self) -> Iterator[None]:
        """The adapter's own config (and external APIService) are put back afterwards."""
        old = (self.client.get(self._config_path()) or {}).get("data") or {}
        external = self.client.get(f"{APISERVICES}/{EXTERNAL_APISERVICE}")
        try:
            yield
        finally:
            parsed = yaml.safe_load(old.get("config.yaml") or "{}") or {}
            had = external is not None
            self._install(
                old,
                custom=bool(parsed.get("rules")),
                external=had and bool(parsed.get("externalRules")),
                keep_external=had,
            )
            self.client.delete(f"{RBAC}/clusterrolebindings/{self._reader_name()}")
            self.client.delete(f"{RBAC}/clusterroles/{self._reader_name()}")

    def run(self, config: AdapterConfig) -> None:
        """Restart the adapter with ``config``; wait until its APIServices are available."""
        self._grant(config)
        self._install(
            {"config.yaml": config.to_yaml_text()},
            custom=bool(config.rules),
            external=bool(config.external_rules),
            keep_external=True,
        )

    def _reader_name(self) -> str:
        return f"{self.ns}-{ADAPTER}-fidelity-reader"

    def _grant(self, config: AdapterConfig) -> None:
        """Read access to what ``config`` maps series to, and to nodes (``resourceRules``),
        beyond the stack's RBAC, which covers the experiment's own config only."""
        by_group: dict[str, set[str]] = {"": {"pods", "namespaces", "nodes", "services"}}
        for group, resource in config.override_resources():
            plural = guess_plural(resource)
            by_group.setdefault(group or GROUPED.get(plural, ""), set()).add(plural)
        rules = [
            {"apiGroups": [g], "resources": sorted(r), "verbs": ["get", "list", "watch"]}
            for g, r in sorted(by_group.items())
        ]
        name = self._reader_name()
        role = {"apiVersion": f"{RBAC_API}", "kind": "ClusterRole", "metadata": {"name": name}}
        self.client.apply({**role, "rules": rules})
        subject = {"kind": "ServiceAccount", "name": ADAPTER, "namespace": self.ns}
        binding = {**role, "kind": "ClusterRoleBinding", "subjects": [subject]}
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
        self.client.apply({**binding, "roleRef": ref})

    def _no_pod_leaving(self) -> Check:
        pods = self.client.list(f"/api/v1/namespaces/{self.ns}/pods")
        leaving = [p["metadata"]["name"] for p in pods if p["metadata"].get("deletionTimestamp")]
        return not leaving, f"terminating: {leaving}"

    def _config_path(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/configmaps/{ADAPTER}-config"

    def _install(
        self, data: dict[str, str], *, custom: bool, external: bool, keep_external: bool = False
    ) -> None:
        """``keep_external``: between configs, an unserved external APIService stays (the
        aggregator is slow to find a new one available)."""
        path = self._config_path()
        self.client.call("PUT", path, body=self._configmap(path, data))
        stamp = {"metadata": {"annotations": {RESTARTED: f"{time.time():.3f}"}}}
        self._merge_patch(self._adapter_path(), {"spec": {"template": stamp}})
        time.sleep(1.0)
        until(lambda: deployment_ready(self.client.get(self._adapter_path())), 120, "the adapter")
        # by-selector requests list the namespace's pods: none may be on its way out
        until(self._no_pod_leaving, 120, "the old adapter pod gone")
        service_path = f"{APISERVICES}/{EXTERNAL_APISERVICE}"
        versions = [f"{v}.custom.metrics.k8s.io" for v in ("v1beta1", "v1beta2")]
        bodies = {name: _bare(self.client.get(f"{APISERVICES}/{name}")) for name in versions}
        if external:
            bodies[EXTERNAL_APISERVICE] = self._external_apiservice()
        elif not keep_external:
            self.client.delete(service_path)
        for name, body in bodies.items():
            if body is None:
                continue
            # created anew, the aggregator checks it now, not after the backoff of its failures
            path = f"{APISERVICES}/{name}"
            self.client.delete(path)
            until(partial(self._gone, path), 60, f"{name} deleted")
            self.client.apply(body)
        # the adapter serves the custom metrics API only with `rules`, the external one only
        # with `externalRules`
        groups = [g for g, on in (("custom", custom), ("external", external)) if on]
        for group in groups:
            until(partial(self._served, f"/apis/{group}.metrics.k8s.io/v1beta1"), 90, group)

    def _configmap(self, path: str, data: dict[str, str]) -> dict[str, Any]:
        current = self.client.get(path) or {}
        return {**current, "data": data}

    def _external_apiservice(self) -> dict[str, Any]:
        custom = _bare(self.client.get(f"{APISERVICES}/v1beta1.custom.metrics.k8s.io")) or {}
        meta = {**custom.get("metadata", {}), "name": EXTERNAL_APISERVICE}
        spec = {**custom.get("spec", {}), "group": "external.metrics.k8s.io"}
        return {**custom, "metadata": meta, "spec": spec, "kind": "APIService"}

    def _merge_patch(self, path: str, patch: dict[str, Any]) -> None:
        self.client.call("PATCH", path, body=patch, content_type="application/merge-patch+json")

    def relist_s(self) -> float:
        """The adapter's ``--metrics-relist-interval`` (its series' maximum age), default 10m."""
        deploy = self.client.get(self._adapter_path()) or {}
        for container in (
            deploy.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            for arg in container.get("args") or []:
                if arg.startswith("--metrics-relist-interval="):
                    return parse_prometheus_duration(arg.partition("=")[2])
        return 600.0

    def _adapter_path(self) -> str:
        return f"/apis/apps/v1/namespaces/{self.ns}/deployments/{ADAPTER}"

    def ask(self, path: str, query: dict[str, str] | None = None) -> Answer:
        """GET ``path`` through the aggregator; the query log entries it caused."""
        assert self._log is not None, "enable_query_log first"
        start = self._log.stat().st_size if self._log.exists() else 0
        response = self.client.request("GET", path, query=query)
        try:
            body: Any = json.loads(response.data or b"null")
        except ValueError:
            body = response.data.decode(errors="replace")
        with self._log.open("rb") as f:
            f.seek(start)
            lines = f.read().decode().splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        return Answer(path, response.status, body, [e.get("params") or {} for e in entries])

    def _gone(self, path: str) -> Check:
        return self.client.get(path) is None, "still there"

    def _served(self, path: str) -> Check:
        response = self.client.request("GET", path)
        return response.status == 200, f"HTTP {response.status}"


def _bare(found: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if found is None else restored(found)

"""``hpalab doctor --platform kubernetes``: each part of the metrics pipeline, checked in order,
every failure with the command that fixes or explains it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpalab.errors import HpalabError
from hpalab.platforms.kubernetes.client import KubeClient, load_api_client
from hpalab.platforms.kubernetes.fingerprinting import server_version
from hpalab.platforms.kubernetes.metrics_api import metric_read, read_metric
from hpalab.platforms.kubernetes.objects import APP, StackOptions, selector
from hpalab.platforms.kubernetes.waiting import condition


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: its name, whether it passed, what was seen, and the fix when it failed."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _apiservice_path(name: str) -> str:
    return f"/apis/apiregistration.k8s.io/v1/apiservices/{name}"


def _apiservice(client: KubeClient, name: str, fix: str) -> CheckResult:
    body = client.get(_apiservice_path(name))
    if body is None:
        return CheckResult(name, False, "not registered", fix)
    cond = condition(body, "Available") or {}
    if cond.get("status") == "True":
        return CheckResult(name, True, "Available")
    detail = f"unavailable: {cond.get('reason', '')} {cond.get('message', '')}".strip()
    return CheckResult(name, False, detail, f"`kubectl get apiservice {name} -o yaml`; {fix}")


def _prometheus(client: KubeClient, namespace: str, url: str | None) -> CheckResult:
    if url:
        import httpx

        try:
            response = httpx.get(f"{url.rstrip('/')}/-/ready", timeout=5.0)
        except httpx.HTTPError as error:
            return CheckResult("prometheus", False, f"{url}: {error}", "check the URL, or omit it")
        ok = response.status_code == 200
        return CheckResult(
            "prometheus",
            ok,
            f"{url}: HTTP {response.status_code}",
            "" if ok else "wait for Prometheus to start",
        )
    # Through the API server's service proxy: no port-forward needed to check it answers.
    path = f"/api/v1/namespaces/{namespace}/services/http:prometheus-operated:9090/proxy/-/ready"
    try:
        status = client.request("GET", path).status
    except HpalabError as error:
        return CheckResult("prometheus", False, str(error), "`hpalab up --platform kubernetes`")
    ok = status == 200
    return CheckResult(
        "prometheus",
        ok,
        f"service prometheus-operated in {namespace}: HTTP {status}",
        ""
        if ok
        else f"`kubectl -n {namespace} get prometheus,pods`; run `hpalab up --platform kubernetes`",
    )


def _hpa_metric(
    client: KubeClient, options: StackOptions, hpa_spec: dict[str, Any] | None
) -> CheckResult:
    ns = options.namespace
    if hpa_spec is None:
        hpa = client.get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{APP}")
        if hpa is None:
            return CheckResult(
                "hpa metric",
                False,
                f"no HPA {ns}/{APP}",
                "pass an experiment, or `hpalab up --platform kubernetes EXPERIMENT`",
            )
        hpa_spec = hpa["spec"]
    if not hpa_spec.get("metrics"):
        return CheckResult("hpa metric", False, "the HPA has no metrics", "give the HPA a metric")
    pods = ",".join(f"{k}={v}" for k, v in selector(options, APP).items())
    read = metric_read(hpa_spec["metrics"][0], namespace=ns, pod_selector=pods)
    try:
        value, count = read_metric(client, read)
    except HpalabError as error:
        return CheckResult(
            "hpa metric",
            False,
            str(error),
            "`hpalab adapter lint EXPERIMENT`; check the adapter's logs",
        )
    if count == 0:
        return CheckResult(
            "hpa metric",
            False,
            f"{read.path}: no value served",
            f"`kubectl get --raw '{read.path}'`; check that Prometheus scrapes the app and "
            "that the adapter rule names the metric",
        )
    return CheckResult("hpa metric", True, f"{read.path}: {count} value(s), {value}")


def run_checks(
    *,
    context: str | None = None,
    namespace: str = "hpalab",
    prometheus_url: str | None = None,
    hpa_spec: dict[str, Any] | None = None,
    kubeconfig: Path | None = None,
    client: KubeClient | None = None,
) -> list[CheckResult]:
    """Every check in pipeline order; stops after the first if the cluster is unreachable."""
    try:
        client = client or KubeClient(load_api_client(context=context, config_file=kubeconfig))
        version = server_version(client)
    except HpalabError as error:
        return [CheckResult("cluster", False, error.message, error.hint or "")]
    options = StackOptions(namespace=namespace, instance=namespace)
    up = "`hpalab up --platform kubernetes`"
    adapter = f"deploy prometheus-adapter: {up}"
    apis = [
        _apiservice(client, "v1beta1.metrics.k8s.io", f"install metrics-server: {up}"),
        _apiservice(client, "v1beta1.custom.metrics.k8s.io", adapter),
    ]
    # prometheus-adapter serves the external metrics API only with externalRules: it is
    # checked when the HPA needs it or when it is registered (then it must be available).
    external = "v1beta1.external.metrics.k8s.io"
    metrics = (hpa_spec or {}).get("metrics") or []
    if any(m.get("type") == "External" for m in metrics) or client.get(_apiservice_path(external)):
        apis.append(_apiservice(client, external, adapter))
    return [
        CheckResult("cluster", True, f"{client.server}, Kubernetes {version}"),
        *apis,
        _prometheus(client, namespace, prometheus_url),
        _hpa_metric(client, options, hpa_spec),
    ]

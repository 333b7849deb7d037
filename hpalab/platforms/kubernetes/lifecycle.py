"""``hpalab up / status / down --platform kubernetes``: the functions the CLI calls.

``up`` applies the stack step by step with server-side apply (field manager ``hpalab``) and
waits after each step until it is really ready. ``--dry-run`` prints every object as one YAML
stream and needs no cluster or kubeconfig. ``down`` deletes exactly the objects carrying
hpalab's managed-by and instance labels.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hpalab.platforms.kubernetes import profile
from hpalab.platforms.kubernetes import upstream as upstream_mod
from hpalab.platforms.kubernetes.certs import (
    TLS_SECRET,
    existing_tls,
    placeholder_tls,
    serving_tls,
)
from hpalab.platforms.kubernetes.client import (
    KubeClient,
    collection_path,
    describe,
    load_api_client,
)
from hpalab.platforms.kubernetes.namespaces import prepare_namespace, refuse_another_stack
from hpalab.platforms.kubernetes.objects import (
    GRAFANA_SECRET,
    MANAGED_BY,
    Obj,
    StackOptions,
    dump_yaml,
    owned_selector,
)
from hpalab.platforms.kubernetes.render_adapter import AdapterTLS, unused_apiservices
from hpalab.platforms.kubernetes.stack import Step, all_objects, plan
from hpalab.platforms.kubernetes.teardown import down, owned_objects
from hpalab.platforms.kubernetes.waiting import Waiter, condition, deployment_ready
from hpalab.specs import ExperimentSpec, load_experiment
from hpalab.specs.adapter import requests_per_second_config

__all__ = ["UpResult", "deploy", "down", "owned_objects", "status", "up"]

_DEFAULT_SPEC: dict[str, Any] = {
    "hpa": {
        "minReplicas": 1,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "http_requests_per_second"},
                    "target": {"type": "AverageValue", "averageValue": "10"},
                },
            }
        ],
    },
    "adapter": requests_per_second_config(),
    "load": {"stages": [{"type": "hold", "rps": 1, "duration": "10s"}]},
}


@dataclass
class UpResult:
    """What ``up`` applied (or would apply) and how to reach the stack."""

    objects: list[Obj]
    skipped: list[str] = field(default_factory=list)
    """Upstream components left alone because someone else installed them."""
    warnings: list[str] = field(default_factory=list)
    tls: AdapterTLS | None = None
    """The adapter's serving certificate (``None``: the adapter signs its own)."""


def experiment_spec(experiment: Path | None) -> tuple[ExperimentSpec, bool]:
    """The baseline variant's spec, and whether it came from a file (without one, the stack
    gets a default adapter rule and no HPA)."""
    if experiment is None:
        return ExperimentSpec.model_validate(_DEFAULT_SPEC), False
    loaded = load_experiment(experiment)
    return loaded.variant(loaded.baseline).spec, True


def _kubelet_insecure_tls(context: str | None, explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    return bool(context and context.startswith(("kind-", "minikube")))


def _local_upstream(
    *, manifests_dir: Path | None, instance: str, insecure_tls: bool, out: TextIO
) -> dict[str, list[Obj]]:
    """Upstream objects from files already here; in ``--dry-run`` nothing is downloaded."""
    found: dict[str, list[Obj]] = {}
    for component in upstream_mod.components().values():
        path = upstream_mod.local_file(
            component, manifests_dir=manifests_dir, cache=upstream_mod.cache_dir()
        )
        if path is None:
            source = (
                f"the Go module {component.module}@{component.version}"
                if component.module
                else component.url
            )
            out.write(
                f"# {component.name} {component.version}: from {source} "
                "(not fetched in --dry-run; `hpalab up` fetches, verifies and caches it)\n"
            )
            continue
        data = upstream_mod.fetch(component, manifests_dir=manifests_dir)
        found[component.name] = upstream_mod.upstream_objects(
            component, data, instance=instance, kubelet_insecure_tls=insecure_tls
        )
    return found


def print_stream(steps: list[Step], out: TextIO) -> None:
    """Every object as one YAML stream, each step introduced by a comment."""
    for step in steps:
        out.write(f"# step: {step.name}\n")
        for body in step.objects:
            out.write("---\n")
            out.write(dump_yaml(body))


def _installed(client: KubeClient, path: str) -> tuple[bool, str | None]:
    """(whether someone else installed it, the version hpalab installed if it did)."""
    found = client.get(path)
    if found is None:
        return False, None
    metadata = found["metadata"]
    if metadata.get("labels", {}).get(MANAGED_BY) != "hpalab":
        return True, None
    return False, (metadata.get("annotations") or {}).get(upstream_mod.VERSION_ANNOTATION)


_PROBES = {
    upstream_mod.PROMETHEUS_OPERATOR: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
    "prometheuses.monitoring.coreos.com",
    upstream_mod.METRICS_SERVER: "/apis/apiregistration.k8s.io/v1/apiservices/"
    "v1beta1.metrics.k8s.io",
}


def _cluster_upstream(
    client: KubeClient,
    *,
    manifests_dir: Path | None,
    options: StackOptions,
    insecure_tls: bool,
    result: UpResult,
    reapply: bool = False,
) -> dict[str, list[Obj]]:
    found: dict[str, list[Obj]] = {}
    for component in upstream_mod.components().values():
        foreign, version = _installed(client, _PROBES[component.name])
        if foreign:
            result.skipped.append(component.name)
            continue
        if version == component.version and not reapply:
            # Installed by an earlier `up`: applying again would roll it for nothing (and,
            # with other flags, could break it), so a run leaves it as it is.
            continue
        data = upstream_mod.fetch(
            component, manifests_dir=manifests_dir, warn=result.warnings.append
        )
        found[component.name] = upstream_mod.upstream_objects(
            component, data, instance=options.instance, kubelet_insecure_tls=insecure_tls
        )
    return found


def _grafana_password(client: KubeClient, options: StackOptions) -> str | None:
    """A new password, or ``None`` when the Secret exists (it is kept, never overwritten)."""
    path = f"/api/v1/namespaces/{options.namespace}/secrets/{GRAFANA_SECRET}"
    return None if client.get(path) is not None else secrets.token_urlsafe(24)


def drop_unused_apiservices(client: KubeClient, spec: ExperimentSpec) -> None:
    """Delete hpalab's metrics APIServices the current adapter config does not serve."""
    for name in unused_apiservices(spec):
        client.delete(f"/apis/apiregistration.k8s.io/v1/apiservices/{name}")


def apply_steps(client: KubeClient, steps: list[Step], waiter: Waiter, *, out: TextIO) -> None:
    """Apply each step's objects, then wait for each of its conditions, in order."""
    for step in steps:
        out.write(f"applying {step.name} ({len(step.objects)} objects)\n")
        for body in step.objects:
            client.apply(body)
        for wait in step.waits:
            waiter.wait(wait)
        out.flush()


def up(
    experiment: Path | None,
    *,
    context: str | None = None,
    namespace: str = "hpalab",
    dry_run: bool = False,
    manifests_dir: Path | None = None,
    out: TextIO,
    app_image: str | None = None,
    kubelet_insecure_tls: bool | None = None,
    kubeconfig: Path | None = None,
    client: KubeClient | None = None,
    waiter: Waiter | None = None,
    grafana: bool = True,
) -> UpResult:
    """Deploy (or with ``dry_run`` print) the stack for ``experiment``'s baseline variant.

    ``kubelet_insecure_tls`` (metrics-server) defaults to on for ``kind-*`` and ``minikube``
    contexts. ``client`` and ``waiter`` replace the kubeconfig's client (tests).

    Raises:
        SpecError: the experiment is invalid. PrerequisiteError: no kubeconfig, or
        ``manifests_dir`` lacks a file. PlatformError: applying or a wait failed.
    """
    spec, with_hpa = experiment_spec(experiment)
    options = StackOptions(namespace=namespace, instance=namespace, app_image=app_image)
    insecure = _kubelet_insecure_tls(context, kubelet_insecure_tls)
    if dry_run:
        upstream = _local_upstream(
            manifests_dir=manifests_dir, instance=options.instance, insecure_tls=insecure, out=out
        )
        tls = placeholder_tls(options)
        steps = plan(
            spec, options, upstream=upstream, grafana_password=None, tls=tls, with_hpa=with_hpa
        )
        print_stream(steps, out)
        return UpResult(all_objects(steps))
    client = client or KubeClient(load_api_client(context=context, config_file=kubeconfig))
    found = profile.detect(client)
    options = found.options(namespace=namespace, app_image=app_image)
    if not found.grafana and grafana:
        out.write(f"grafana: not deployed: the cluster's runtime ({found.runtime}) cannot run it\n")
    result = deploy(
        spec,
        options,
        client=client,
        waiter=waiter,
        manifests_dir=manifests_dir,
        kubelet_insecure_tls=(
            found.kubelet_insecure_tls if kubelet_insecure_tls is None else kubelet_insecure_tls
        ),
        with_hpa=with_hpa,
        with_grafana=grafana and found.grafana,
        out=out,
    )
    _print_access(options, found, out, grafana=grafana and found.grafana)
    return result


def deploy(
    spec: ExperimentSpec,
    options: StackOptions,
    *,
    client: KubeClient,
    waiter: Waiter | None = None,
    manifests_dir: Path | None = None,
    kubelet_insecure_tls: bool = False,
    with_hpa: bool = True,
    with_grafana: bool = True,
    out: TextIO,
) -> UpResult:
    """Apply every step of the stack for ``spec`` and wait until each is ready."""
    refuse_another_stack(client, options)
    prepare_namespace(client, options, log=_writer(out))
    result = UpResult([])
    upstream = _cluster_upstream(
        client,
        manifests_dir=manifests_dir,
        options=options,
        insecure_tls=kubelet_insecure_tls,
        result=result,
    )
    password = _grafana_password(client, options)
    tls, tls_warning = serving_tls(client.get(_tls_path(options)), options)
    result.tls = tls
    if tls_warning:
        result.warnings.append(tls_warning)
    steps = plan(
        spec,
        options,
        upstream=upstream,
        grafana_password=password,
        tls=tls,
        with_hpa=with_hpa,
        with_grafana=with_grafana,
    )
    if password is None:  # keep the existing Secret: re-applying would replace the password
        steps = [
            Step(s.name, [o for o in s.objects if not _is_grafana_secret(o)], s.waits)
            for s in steps
        ]
    for note in result.warnings:
        out.write(f"warning: {note}\n")
    for name in result.skipped:
        out.write(f"using the {name} already installed in the cluster\n")
    hpa_spec = spec.hpa.to_kubernetes() if with_hpa else None
    if waiter is None:
        waiter = Waiter(client, options, hpa_spec=hpa_spec, log=_writer(out))
    else:
        waiter.hpa_spec = hpa_spec
    drop_unused_apiservices(client, spec)
    apply_steps(client, steps, waiter, out=out)
    result.objects = all_objects(steps)
    return result


def _tls_path(options: StackOptions) -> str:
    return f"/api/v1/namespaces/{options.namespace}/secrets/{TLS_SECRET}"


def current_tls(client: KubeClient, options: StackOptions) -> AdapterTLS | None:
    """The serving certificate an earlier ``up`` stored, if any (variants keep using it)."""
    found = client.get(_tls_path(options))
    return existing_tls(found) if found else None


def _is_grafana_secret(body: Obj) -> bool:
    return bool(body["kind"] == "Secret" and body["metadata"]["name"] == GRAFANA_SECRET)


def _writer(out: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        out.write(line + "\n")

    return write


def password_command(namespace: str) -> str:
    """The kubectl command that prints Grafana's admin password (never printed by hpalab)."""
    jsonpath = "{.data.admin-password}"
    return (
        f"kubectl -n {namespace} get secret {GRAFANA_SECRET} -o jsonpath='{jsonpath}' | base64 -d"
    )


def _print_access(
    options: StackOptions, found: profile.Profile, out: TextIO, *, grafana: bool
) -> None:
    ns = options.namespace
    out.write(
        f"sample app: {found.node_url(options.app_node_port)}/ (NodePort {options.app_node_port})\n"
        f"prometheus: {found.node_url(options.prometheus_node_port)} (NodePort "
        f"{options.prometheus_node_port}), or "
        f"`kubectl -n {ns} port-forward svc/prometheus-operated 9090`\n"
    )
    if grafana:
        out.write(
            f"grafana:    {found.node_url(options.grafana_node_port)}; user hpalab, password: "
            f"`{password_command(ns)}`\n"
        )


def status(
    *,
    context: str | None = None,
    namespace: str = "hpalab",
    out: TextIO,
    kubeconfig: Path | None = None,
    client: KubeClient | None = None,
) -> dict[str, Any]:
    """What is running: each Deployment's readiness, the APIServices, the HPA; also printed.

    Returns ``{"deployments": {name: ready?}, "apiservices": {name: available?}, "hpa": status}``.
    """
    client = client or KubeClient(load_api_client(context=context, config_file=kubeconfig))
    selector_text = owned_selector(namespace)
    report: dict[str, Any] = {"deployments": {}, "apiservices": {}, "hpa": None}
    for item in client.list("/apis/apps/v1/deployments", label_selector=selector_text):
        ok, detail = deployment_ready(item)
        report["deployments"][item["metadata"]["name"]] = ok
        state = "ready" if ok else "not ready"
        out.write(f"deployment {describe(item).split(' ', 1)[1]}: {state} ({detail})\n")
    for item in client.list(
        "/apis/apiregistration.k8s.io/v1/apiservices", label_selector=selector_text
    ):
        cond = condition(item, "Available") or {}
        available = cond.get("status") == "True"
        report["apiservices"][item["metadata"]["name"]] = available
        state = "available" if available else f"unavailable ({cond.get('reason', 'no status')})"
        out.write(f"apiservice {item['metadata']['name']}: {state}\n")
    path = collection_path("autoscaling/v2", "HorizontalPodAutoscaler", namespace)
    for item in client.list(path, label_selector=selector_text):
        hpa_status = item.get("status", {})
        report["hpa"] = hpa_status
        active = (condition(item, "ScalingActive") or {}).get("status")
        out.write(
            f"hpa {item['metadata']['name']}: {hpa_status.get('currentReplicas', 0)} → "
            f"{hpa_status.get('desiredReplicas', 0)} replicas, ScalingActive={active}\n"
        )
    if not report["deployments"]:
        out.write(
            f"no hpalab stack in namespace {namespace!r} (run `hpalab up --platform kubernetes`)\n"
        )
    return report

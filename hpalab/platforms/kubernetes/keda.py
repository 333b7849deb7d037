"""KEDA on the kubernetes platform: install it, hand it ``external.metrics.k8s.io``, apply the
ScaledObject of a ``spec.keda`` variant, and give the registration back afterwards.

KEDA v2.20.2's manifests come from its Go module (``data/keda.yaml``, rendered by
:mod:`.keda_manifests`). KEDA is installed the first time a ``spec.keda`` variant runs, without
its APIService: prometheus-adapter and KEDA both register ``v1beta1.external.metrics.k8s.io``
and only one can hold it. A KEDA variant takes it (:func:`hold_external_metrics`); the next
adapter variant, ``stop`` and ``reset`` give it back (:func:`release_external_metrics`), after
which the adapter's own registration, if its config serves external metrics, is applied again
by the variant's steps.

On the cluster the ScaledObject is named as the engine names it (``sample-app``, so the
External metrics' selector ``scaledobject.keda.sh/name`` is the one ``spec.hpa`` carries), its
target is the app's Deployment, the HPA KEDA generates is named as hpalab's own HPA (so the
platform's watch sees its decisions) and each prometheus trigger's ``serverAddress`` is the
stack's Prometheus.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from importlib import resources
from typing import Any, TextIO

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes import keda_manifests, modules, upstream
from hpalab.platforms.kubernetes.client import KubeClient, collection_path
from hpalab.platforms.kubernetes.objects import (
    APP,
    MANAGED_BY,
    PROMETHEUS_PORT,
    Obj,
    StackOptions,
    meta,
    obj,
)
from hpalab.platforms.kubernetes.render_app import hpa
from hpalab.platforms.kubernetes.stack import Step, Wait, waits_for
from hpalab.platforms.kubernetes.waiting import Waiter
from hpalab.specs import ExperimentSpec
from hpalab.specs.keda.problems import SCALED_OBJECT_NAME

KEDA = "keda"
NAMESPACE = "keda"
APISERVICE = "v1beta1.external.metrics.k8s.io"
APISERVICE_PATH = f"/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh"
DEPLOYMENTS = ("keda-operator", "keda-metrics-apiserver", "keda-admission")
GONE_TIMEOUT_S = 120.0


def component() -> upstream.Component:
    """KEDA's pin (``data/keda.yaml``)."""
    text = resources.files(__package__).joinpath("data/keda.yaml").read_text("utf-8")
    return upstream.components(text)[KEDA]


def keda_objects(instance: str) -> list[Obj]:
    """KEDA's release objects, labelled as hpalab's (``hpalab down`` removes them)."""
    pin = component()
    data = modules.module_zip(pin.module, pin.version, pin.module_sum, cache=upstream.cache_dir())
    docs = keda_manifests.render(data, pin.module, pin.version, pin.module_kustomize)
    return upstream.upstream_objects(pin, docs_bytes(docs), instance=instance)


def docs_bytes(docs: list[Obj]) -> bytes:
    import yaml

    return yaml.safe_dump_all(docs, sort_keys=False).encode()


def installed_version(client: KubeClient) -> str | None:
    """The KEDA version hpalab installed (``None``: none, or someone else's)."""
    found = client.get(CRD_PATH)
    if found is None or found["metadata"].get("labels", {}).get(MANAGED_BY) != "hpalab":
        return None
    return (found["metadata"].get("annotations") or {}).get(upstream.VERSION_ANNOTATION)


def install_steps(objects: list[Obj]) -> list[Step]:
    """CRDs (established), then the rest but the APIService (every Deployment rolled out)."""
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    rest = [o for o in objects if o["kind"] not in ("CustomResourceDefinition", "APIService")]
    return [
        Step("KEDA CRDs", crds, waits_for(crds)),
        Step(f"KEDA {component().version}", rest, waits_for(rest)),
    ]


def ensure_installed(
    client: KubeClient, waiter: Waiter, options: StackOptions, *, out: TextIO
) -> None:
    """Install KEDA unless this version is installed already; someone else's KEDA is refused
    (hpalab would fight it over the external metrics API)."""
    pin = component()
    if client.get(CRD_PATH) is not None and installed_version(client) is None:
        raise PlatformError(
            "the cluster has a KEDA hpalab did not install",
            hint="spec.keda variants install their own KEDA; run them on a cluster without one",
        )
    if installed_version(client) == pin.version:
        return
    for step in install_steps(keda_objects(options.instance)):
        out.write(f"applying {step.name} ({len(step.objects)} objects)\n")
        for body in step.objects:
            client.apply(body)
        for wait in step.waits:
            waiter.wait(wait)


def apiservice(options: StackOptions) -> Obj:
    """KEDA's registration of the external metrics API, as its release file has it."""
    found = [o for o in keda_objects(options.instance) if o["kind"] == "APIService"]
    return found[0]


def holder(client: KubeClient) -> str | None:
    """``namespace/service`` that serves the external metrics API now, if any."""
    found = client.get(APISERVICE_PATH)
    service = ((found or {}).get("spec") or {}).get("service") or {}
    return f"{service.get('namespace')}/{service.get('name')}" if service else None


def hold_external_metrics(client: KubeClient, waiter: Waiter, options: StackOptions) -> None:
    """Point ``v1beta1.external.metrics.k8s.io`` at KEDA's metrics apiserver."""
    if holder(client) != f"{NAMESPACE}/keda-metrics-apiserver":
        # the adapter's registration may carry insecureSkipTLSVerify, which KEDA's CA bundle
        # (injected by its operator) may not be set next to: replace, never merge
        client.delete(APISERVICE_PATH)
        client.apply(apiservice(options))
    waiter.wait(Wait("apiservice", APISERVICE))


def scaled_object_path(namespace: str) -> str:
    return f"{collection_path('keda.sh/v1alpha1', 'ScaledObject', namespace)}/{SCALED_OBJECT_NAME}"


def remove_scaled_object(
    client: KubeClient, namespace: str, *, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Delete the variant's ScaledObject, if any, and wait until KEDA's finalizer has run."""
    path = scaled_object_path(namespace)
    if client.get(CRD_PATH) is not None and client.delete(path):
        wait_gone(client, path, sleep=sleep)


def release_external_metrics(
    client: KubeClient, namespace: str, *, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Delete the ScaledObject (its HPA goes with it) and KEDA's registration, if present."""
    remove_scaled_object(client, namespace, sleep=sleep)
    if holder(client) == f"{NAMESPACE}/keda-metrics-apiserver":
        client.delete(APISERVICE_PATH)


def wait_gone(
    client: KubeClient,
    path: str,
    *,
    timeout_s: float = GONE_TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Until ``path`` is gone (KEDA's finalizer has run)."""
    limit = time.monotonic() + timeout_s
    while client.get(path) is not None:
        if time.monotonic() > limit:
            raise PlatformError(
                f"{path} is still there after {timeout_s:.0f} s",
                hint=f"`kubectl -n {NAMESPACE} logs deploy/keda-operator` shows why its "
                "finalizer has not run",
            )
        sleep(1.0)


def scaled_object(spec: ExperimentSpec, options: StackOptions) -> Obj:
    """The variant's ScaledObject, as applied to the cluster."""
    if spec.keda is None:
        raise ValueError("not a spec.keda variant")
    body: dict[str, Any] = copy.deepcopy(spec.keda.to_yaml_dict())
    body["scaleTargetRef"] = {
        **body.get("scaleTargetRef", {}),
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": APP,
    }
    advanced = body.setdefault("advanced", {})
    advanced.setdefault("horizontalPodAutoscalerConfig", {})["name"] = APP
    server = f"http://prometheus-operated.{options.namespace}.svc:{PROMETHEUS_PORT}"
    for trigger in body.get("triggers", []):
        if trigger.get("type") == "prometheus":
            trigger.setdefault("metadata", {})["serverAddress"] = server
    return obj(
        "keda.sh/v1alpha1",
        "ScaledObject",
        meta(options, SCALED_OBJECT_NAME, part=KEDA),
        spec=body,
    )


def autoscaler(spec: ExperimentSpec, options: StackOptions) -> Obj:
    """What scales the app in this variant: the ScaledObject, or hpalab's HPA."""
    return scaled_object(spec, options) if spec.keda is not None else hpa(spec, options)


def scaled_object_step(spec: ExperimentSpec, options: StackOptions) -> Step:
    """The ScaledObject; done when its HPA is ScalingActive with the External metric served."""
    return Step(
        "keda scaledobject",
        [scaled_object(spec, options)],
        [Wait("metric", APP, options.namespace), Wait("hpa", APP, options.namespace)],
    )


def variant_steps(steps: list[Step], spec: ExperimentSpec, options: StackOptions) -> list[Step]:
    """An adapter variant's steps made a KEDA variant's: the adapter is left as it is (its
    rules serve no HPA now; an empty config would leave its APIs failing discovery), and the
    ScaledObject replaces the HPA."""
    kept = [s for s in steps if s.name not in ("prometheus-adapter", "hpa")]
    return [*kept, scaled_object_step(spec, options)]


def prepare_variant(
    client: KubeClient,
    spec: ExperimentSpec,
    waiter: Waiter,
    options: StackOptions,
    *,
    out: TextIO,
) -> None:
    """Before a variant's steps: a KEDA variant installs KEDA, drops hpalab's HPA (KEDA makes
    its own) and takes the external metrics API; any other variant gives it back."""
    if spec.keda is None:
        release_external_metrics(client, options.namespace)
        return
    ensure_installed(client, waiter, options, out=out)
    hpa_path = collection_path("autoscaling/v2", "HorizontalPodAutoscaler", options.namespace)
    found = client.get(f"{hpa_path}/{APP}")
    if found is not None and not found["metadata"].get("ownerReferences"):
        client.delete(f"{hpa_path}/{APP}")
        wait_gone(client, f"{hpa_path}/{APP}")
    hold_external_metrics(client, waiter, options)

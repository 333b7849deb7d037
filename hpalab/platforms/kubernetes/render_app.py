"""The sample app on a cluster: its code, Deployment, Service, ServiceMonitor and HPA.

Two ways to run the app's container (``StackOptions.app_image``):

- ``None`` (the default): the stock ``python`` image runs the app's source, mounted from a
  ConfigMap; an init container installs its two dependencies into an ``emptyDir``. No image
  build and no registry push, so it works on any cluster that can pull from Docker Hub and PyPI.
  The install adds a few seconds to every pod's start (``pod_created`` → ``pod_started``), which
  the actuation latency includes.
- an image built from the repository's ``Dockerfile`` (for kind: ``kind load docker-image``),
  which starts without installing anything; use it when start-up time matters.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from hpalab.platforms.kubernetes import objects
from hpalab.platforms.kubernetes.objects import (
    APP,
    APP_PORT,
    CONFIG_HASH,
    Obj,
    StackOptions,
    content_hash,
    duration,
    meta,
    obj,
    seconds,
    selector,
)
from hpalab.specs import ExperimentSpec

FAULT_DIR = "/var/run/hpalab-faults"
FAULT_FILE = f"{FAULT_DIR}/faults.json"
"""Where the app reads its fault file (an emptyDir): ``scrapeDelay`` and ``appSlowdown`` are
written there by ``kubectl exec`` (see ``hpalab.platforms.kubernetes.faults``)."""

APP_REQUIREMENTS = ("aiohttp==3.14.5", "prometheus-client==0.26.0")
"""What the app imports besides the standard library; the Dockerfile pins the same."""


def _app_sources() -> dict[str, tuple[str, str]]:
    """ConfigMap key → (package, file): ``hpalab/__init__.py`` and every module of the sample
    app's package, found in the package (a module added later is carried too); keys cannot
    contain slashes."""
    out = {"hpalab-init.py": ("hpalab", "__init__.py")}
    for entry in sorted(resources.files("hpalab.sampleapp").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            key = "sampleapp-" + entry.name.strip("_").replace("__", "")
            out[key] = ("hpalab.sampleapp", entry.name)
    return out


APP_SOURCES = _app_sources()
"""ConfigMap key → (package, file) of the app's source."""
_SOURCE_PATHS = {
    key: f"{package.replace('.', '/')}/{name}" for key, (package, name) in APP_SOURCES.items()
}


def app_source() -> dict[str, str]:
    """The sample app's Python files, keyed as in the source ConfigMap."""
    return {
        key: resources.files(package).joinpath(name).read_text(encoding="utf-8")
        for key, (package, name) in APP_SOURCES.items()
    }


def source_configmap(options: StackOptions) -> Obj:
    """The ConfigMap holding the app's source (only used without ``app_image``)."""
    return obj(
        "v1",
        "ConfigMap",
        meta(options, f"{APP}-source", part=APP, component="source"),
        data=app_source(),
    )


def _env(spec: ExperimentSpec) -> list[Obj]:
    app = spec.app
    values = {
        "HPALAB_APP_HOST": "0.0.0.0",  # noqa: S104 - a pod must listen on its own IP
        "HPALAB_APP_PORT": str(APP_PORT),
        "HPALAB_APP_CPU": repr(app.cpu_per_request),
        "HPALAB_APP_LATENCY": repr(app.latency),
        "HPALAB_APP_STARTUP": repr(app.startup_delay),
    }
    # Worker slots and the queue behind them, as on the local platform (capacity follows).
    if app.concurrency:
        values["HPALAB_APP_CONCURRENCY"] = str(app.concurrency)
    if app.queue_limit is not None:
        values["HPALAB_APP_QUEUE_LIMIT"] = str(app.queue_limit)
    out: list[Obj] = [{"name": k, "value": v} for k, v in values.items()]
    pod_name = {"fieldRef": {"fieldPath": "metadata.name"}}
    out.append({"name": "HPALAB_APP_POD_NAME", "valueFrom": pod_name})
    return out


def _resources(spec: ExperimentSpec) -> Obj:
    res = spec.app.resources
    out: Obj = {"requests": res.requests.to_yaml_dict()}
    if res.limits is not None:
        out["limits"] = res.limits.to_yaml_dict()
    return out


def _container(spec: ExperimentSpec, options: StackOptions) -> Obj:
    probe = spec.app.readiness_probe
    image = options.app_image or options.python_image
    container: Obj = {
        "name": APP,
        "image": image,
        # An image loaded into the cluster (kind load, hpalab cluster) has no registry to
        # pull from; `:latest` or no tag would default to Always and fail with ErrImagePull.
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--shutdown-timeout",
            repr(spec.app.termination_grace_period),
            "--fault-file",
            FAULT_FILE,
        ],
        "ports": [{"name": "http", "containerPort": APP_PORT, "protocol": "TCP"}],
        "env": _env(spec),
        "resources": _resources(spec),
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http"},
            "periodSeconds": seconds(probe.period),
            "timeoutSeconds": seconds(probe.timeout),
            "successThreshold": probe.success_threshold,
            "failureThreshold": probe.failure_threshold,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
    }
    container["volumeMounts"] = [{"name": "faults", "mountPath": FAULT_DIR}]
    if options.app_image is None:
        container["command"] = ["python", "-m", "hpalab.sampleapp"]
        container["env"].append({"name": "PYTHONPATH", "value": "/deps:/src"})
        container["volumeMounts"] += [
            {"name": "deps", "mountPath": "/deps", "readOnly": True},
            {"name": "source", "mountPath": "/src", "readOnly": True},
        ]
    return container


def _pod_spec(spec: ExperimentSpec, options: StackOptions) -> Obj:
    pod: Obj = {
        "terminationGracePeriodSeconds": seconds(spec.app.termination_grace_period),
        "containers": [_container(spec, options)],
        "volumes": [{"name": "faults", "emptyDir": {}}],
    }
    if options.app_image is None:
        pod["initContainers"] = [
            {
                "name": "install",
                "image": options.python_image,
                "command": ["pip", "install", "--no-cache-dir", "--quiet", "--target", "/deps"],
                "args": list(APP_REQUIREMENTS),
                "volumeMounts": [{"name": "deps", "mountPath": "/deps"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            }
        ]
        pod["volumes"] += [
            {"name": "deps", "emptyDir": {}},
            {
                "name": "source",
                "configMap": {
                    "name": f"{APP}-source",
                    "items": [{"key": k, "path": p} for k, p in _SOURCE_PATHS.items()],
                },
            },
        ]
    return pod


def deployment(spec: ExperimentSpec, options: StackOptions, *, replicas: int | None = None) -> Obj:
    """The sample app's Deployment; ``replicas`` defaults to ``spec.app.initialReplicas``."""
    pod = _pod_spec(spec, options)
    return objects.deployment(
        options,
        APP,
        component="app",
        pod_spec=pod,
        annotations={CONFIG_HASH: content_hash(pod)},
        replicas=replicas if replicas is not None else spec.app.initial_replicas,
        # All new pods at once, none removed before its replacement is Ready: a change of
        # variant never leaves the app short of capacity.
        strategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": 0},
        },
    )


def service(options: StackOptions) -> Obj:
    """A NodePort Service: the load generator reaches only Ready pods through it."""
    return objects.service(
        options,
        APP,
        part=APP,
        component="app",
        pod_selector=selector(options, APP),
        ports=[("http", 80)],
        node_port=options.app_node_port,
    )


def service_monitor(spec: ExperimentSpec, options: StackOptions) -> Obj:
    """The ServiceMonitor: Prometheus scrapes every app pod with ``namespace`` and ``pod`` labels
    (the labels adapter rules map to resources)."""
    interval = spec.prometheus.scrape_interval
    timeout = min(spec.prometheus.scrape_timeout or interval, interval)
    return obj(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        meta(options, APP, part=APP, component="monitoring"),
        spec={
            "selector": {"matchLabels": selector(options, APP)},
            "namespaceSelector": {"matchNames": [options.namespace]},
            "endpoints": [
                {
                    "port": "http",
                    "path": "/metrics",
                    "interval": duration(interval),
                    "scrapeTimeout": duration(timeout),
                }
            ],
        },
    )


def hpa(spec: ExperimentSpec, options: StackOptions) -> Obj:
    """The HorizontalPodAutoscaler: the experiment's spec, pointed at the sample app."""
    body: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP},
        **spec.hpa.to_kubernetes(),
    }
    return obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        meta(options, APP, part=APP, component="autoscaler"),
        spec=body,
    )


def app_objects(spec: ExperimentSpec, options: StackOptions) -> list[Obj]:
    """Everything of the sample app except the HPA, in apply order."""
    out = [] if options.app_image else [source_configmap(options)]
    return [*out, deployment(spec, options), service(options), service_monitor(spec, options)]

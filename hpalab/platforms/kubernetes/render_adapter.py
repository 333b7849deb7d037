"""prometheus-adapter on a cluster: config, Deployment, minimal RBAC and the two APIServices.

The adapter serves ``custom.metrics.k8s.io`` and ``external.metrics.k8s.io`` as an aggregated
API. Its serving certificate is the one the adapter generates for itself at start (written to an
``emptyDir`` ``--cert-dir``); the APIServices therefore skip TLS verification, as kube-prometheus
does. Set ``AdapterTLS`` to mount a ``kubernetes.io/tls`` Secret of your own (for example one
issued by cert-manager) and have the API server verify it against its CA bundle.

Every RBAC rule names its verbs and resources: the adapter reads the resources its rules map
series to (pods and namespaces at least), answers delegated authentication and authorization,
and reads the API server's request-header configuration in ``kube-system``. No wildcard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpalab.platforms.kubernetes import objects
from hpalab.platforms.kubernetes.objects import (
    ADAPTER,
    ADAPTER_PORT,
    CONFIG_HASH,
    PROMETHEUS_PORT,
    Obj,
    StackOptions,
    content_hash,
    dump_yaml,
    meta,
    obj,
    role_with_binding,
    selector,
)
from hpalab.platforms.kubernetes.resources import guess_plural
from hpalab.specs import ExperimentSpec
from hpalab.specs.adapter import AdapterConfig

METRIC_APIS = (
    ("custom.metrics.k8s.io", "v1beta1", 100),
    ("custom.metrics.k8s.io", "v1beta2", 200),
    ("external.metrics.k8s.io", "v1beta1", 100),
)
"""(group, version, versionPriority) of each APIService, as the adapter's upstream manifests
register them: clients that prefer v1beta2 of the custom metrics API get it, and the HPA
controller, which asks discovery for the preferred version, keeps working on either."""
GROUPED = {
    "deployments": "apps",
    "statefulsets": "apps",
    "replicasets": "apps",
    "daemonsets": "apps",
    "jobs": "batch",
    "cronjobs": "batch",
    "ingresses": "networking.k8s.io",
}
"""Groups of the kinds an override may name without one (the adapter maps them itself)."""


@dataclass(frozen=True, slots=True)
class AdapterTLS:
    """The adapter's serving certificate: a ``kubernetes.io/tls`` Secret and its CA."""

    secret_name: str
    ca_bundle_b64: str
    """The CA certificate, PEM, base64-encoded (the APIService ``caBundle`` field)."""
    secret: Obj | None = None
    """The Secret to apply; ``None`` when it exists already (or is managed elsewhere)."""


def adapter_config_text(spec: ExperimentSpec) -> str:
    """The adapter's ``config.yaml``: the experiment's ``spec.adapter`` in the adapter's own key
    names, unset fields left out (as ``hpalab adapter render`` prints it)."""
    config = AdapterConfig.model_validate(spec.adapter)
    return dump_yaml(config.to_yaml_dict())


def _prometheus_url(options: StackOptions) -> str:
    return f"http://prometheus-operated.{options.namespace}.svc:{PROMETHEUS_PORT}/"


def _rule_resources(spec: ExperimentSpec) -> set[tuple[str, str]]:
    """(group, plural) of every resource the rules map series labels to, plus pods and
    namespaces, which the adapter always resolves."""
    found = {("", "pods"), ("", "namespaces")}
    config = AdapterConfig.model_validate(spec.adapter)
    for rule in [*config.rules, *config.external_rules]:
        for target in rule.resources.overrides.values():
            # The adapter accepts a singular or a plural name; RBAC needs the plural.
            plural = guess_plural(target.resource)
            found.add((target.group or GROUPED.get(plural, ""), plural))
    return found


def _cluster_name(options: StackOptions, suffix: str) -> str:
    return f"{options.instance}-{ADAPTER}-{suffix}"


def _rule(group: str, resources: list[str], verbs: list[str]) -> Obj:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


_DELEGATOR_RULES = [
    _rule("authentication.k8s.io", ["tokenreviews"], ["create"]),
    _rule("authorization.k8s.io", ["subjectaccessreviews"], ["create"]),
]
_AUTH_READER_RULES = [
    {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["extension-apiserver-authentication"],
        "verbs": ["get", "list", "watch"],
    }
]


def _reader_rules(spec: ExperimentSpec) -> list[Obj]:
    by_group: dict[str, list[str]] = {}
    for group, plural in sorted(_rule_resources(spec)):
        by_group.setdefault(group, []).append(plural)
    rules = [_rule(g, plurals, ["get", "list", "watch"]) for g, plurals in by_group.items()]
    flows = ["flowschemas", "prioritylevelconfigurations"]
    return [*rules, _rule("flowcontrol.apiserver.k8s.io", flows, ["list", "watch"])]


def rbac(spec: ExperimentSpec, options: StackOptions) -> list[Obj]:
    """ServiceAccount, roles and bindings; cluster-scoped names carry the instance."""
    pairs: list[tuple[str, list[Obj], str | None]] = [
        ("reader", _reader_rules(spec), None),
        ("delegator", _DELEGATOR_RULES, None),
        ("auth-reader", _AUTH_READER_RULES, "kube-system"),
    ]
    out = [obj("v1", "ServiceAccount", meta(options, ADAPTER, part=ADAPTER))]
    for suffix, rules, namespace in pairs:
        out += role_with_binding(
            options,
            _cluster_name(options, suffix),
            part=ADAPTER,
            rules=rules,
            service_account=ADAPTER,
            cluster=namespace is None,
            namespace=namespace,
        )
    return out


def configmap(spec: ExperimentSpec, options: StackOptions) -> Obj:
    """The adapter's configuration, rendered from the experiment."""
    return obj(
        "v1",
        "ConfigMap",
        meta(options, f"{ADAPTER}-config", part=ADAPTER, component="config"),
        data={"config.yaml": adapter_config_text(spec)},
    )


def deployment(spec: ExperimentSpec, options: StackOptions, tls: AdapterTLS | None = None) -> Obj:
    """The adapter; its pod template carries the config's hash, so a new config rolls it."""
    cert_dir = "/var/run/serving-cert"
    args = [
        f"--prometheus-url={_prometheus_url(options)}",
        "--config=/etc/adapter/config.yaml",
        f"--metrics-relist-interval={options.relist_interval}",
        f"--secure-port={ADAPTER_PORT}",
        f"--cert-dir={cert_dir}",
        "--v=2",
    ]
    volumes: list[Obj] = [
        {"name": "config", "configMap": {"name": f"{ADAPTER}-config"}},
        # The root filesystem is read-only; anything that falls back to os.TempDir() writes
        # here (the upstream manifests and kube-prometheus mount the same).
        {"name": "tmp", "emptyDir": {}},
    ]
    if tls is None:
        volumes.append({"name": "serving-cert", "emptyDir": {}})
    else:
        volumes.append({"name": "serving-cert", "secret": {"secretName": tls.secret_name}})
        args += [
            f"--tls-cert-file={cert_dir}/tls.crt",
            f"--tls-private-key-file={cert_dir}/tls.key",
        ]
    container: Obj = {
        "name": ADAPTER,
        "image": options.adapter_image,
        "args": args,
        "ports": [{"name": "https", "containerPort": ADAPTER_PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 5,
        },
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/adapter", "readOnly": True},
            {"name": "serving-cert", "mountPath": cert_dir},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a private emptyDir
        ],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
    }
    ca = tls.ca_bundle_b64 if tls else ""
    annotations = {CONFIG_HASH: content_hash(adapter_config_text(spec), args, ca)}
    pod = {"serviceAccountName": ADAPTER, "containers": [container], "volumes": volumes}
    return objects.deployment(
        options, ADAPTER, component="metrics-api", pod_spec=pod, annotations=annotations
    )


def service(options: StackOptions) -> Obj:
    """The Service the API server proxies metric requests to."""
    return objects.service(
        options,
        ADAPTER,
        part=ADAPTER,
        component="metrics-api",
        pod_selector=selector(options, ADAPTER),
        ports=[("https", 443)],
    )


def apiservice_name(group: str, version: str) -> str:
    """``v1beta1.custom.metrics.k8s.io``: how the aggregator names an APIService."""
    return f"{version}.{group}"


def served_apis(spec: ExperimentSpec) -> list[tuple[str, str, int]]:
    """The metrics APIs the adapter serves with this config: prometheus-adapter installs the
    external metrics API only when the config has ``externalRules`` (an APIService for it
    would fail its discovery check, and with it the cluster's API discovery)."""
    external = bool(spec.adapter.get("externalRules"))
    return [api for api in METRIC_APIS if external or api[0] != "external.metrics.k8s.io"]


def unused_apiservices(spec: ExperimentSpec) -> list[str]:
    """Names of hpalab's metrics APIServices the config does not serve (to delete)."""
    served = served_apis(spec)
    return [apiservice_name(g, v) for g, v, _ in METRIC_APIS if (g, v, _) not in served]


def apiservices(
    spec: ExperimentSpec, options: StackOptions, tls: AdapterTLS | None = None
) -> list[Obj]:
    """The metrics APIServices the adapter serves, backed by the adapter's Service."""
    out = []
    for group, version, priority in served_apis(spec):
        body: dict[str, Any] = {
            "group": group,
            "version": version,
            "service": {"name": ADAPTER, "namespace": options.namespace, "port": 443},
            "groupPriorityMinimum": 100,
            "versionPriority": priority,
        }
        if tls is None:
            body["insecureSkipTLSVerify"] = True
        else:
            body["caBundle"] = tls.ca_bundle_b64
        name = apiservice_name(group, version)
        out.append(
            obj(
                "apiregistration.k8s.io/v1",
                "APIService",
                meta(options, name, part=ADAPTER, namespaced=False),
                spec=body,
            )
        )
    return out


def adapter_objects(
    spec: ExperimentSpec, options: StackOptions, tls: AdapterTLS | None = None
) -> list[Obj]:
    """Everything of the adapter, in apply order (the APIServices last: they point at it)."""
    return [
        *rbac(spec, options),
        configmap(spec, options),
        *([tls.secret] if tls and tls.secret else []),
        deployment(spec, options, tls),
        service(options),
        *apiservices(spec, options, tls),
    ]

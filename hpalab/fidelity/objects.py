"""The objects a fidelity scenario puts on the cluster: the idle Deployment, the HPA, and the
scripted backend's Service, Endpoints and APIServices."""

from __future__ import annotations

import math
from typing import Any

from hpalab.fidelity.backend import CONTAINER, CUSTOM, EXTERNAL, RESOURCE
from hpalab.specs.fidelity import FidelitySpec
from hpalab.specs.hpa import HPASpec

Obj = dict[str, Any]
NAME = "fid"
BACKEND = "fidelity-metrics"
LABELS = {"app": NAME}
GROUPS = (CUSTOM, EXTERNAL, RESOURCE)
APISERVICE_PATH = "/apis/apiregistration.k8s.io/v1/apiservices"


def apiservice_name(group: str) -> str:
    return f"v1beta1.{group}"


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment(spec: FidelitySpec, ns: str) -> Obj:
    """Idle pods whose readiness follows ``podStartup``: an exec probe that passes from
    ``initialDelaySeconds`` on, checked every second."""
    container: Obj = {
        "name": CONTAINER,
        "image": "hpalab/toolbox:dev",
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", "exec sleep infinity"],
    }
    grace = 1
    if spec.pod_termination > 0:  # an ignored signal stays ignored across exec
        container["command"] = ["sh", "-c", "trap '' TERM; exec sleep infinity"]
        grace = math.ceil(spec.pod_termination)
    if spec.pod_startup > 0:
        container["readinessProbe"] = {
            "exec": {"command": ["true"]},
            "initialDelaySeconds": math.ceil(spec.pod_startup),
            "periodSeconds": 1,
        }
    if spec.pod_requests is not None:
        requests = spec.pod_requests.to_yaml_dict()
        if requests:
            container["resources"] = {"requests": requests}
    pod: Obj = {"containers": [container], "terminationGracePeriodSeconds": grace}
    if spec.pod_level_requests is not None:
        pod["resources"] = {"requests": spec.pod_level_requests.to_yaml_dict()}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": ns},
        "spec": {
            "replicas": spec.initial_replicas,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": pod,
            },
        },
    }


def hpa(spec: HPASpec, ns: str) -> Obj:
    body = spec.to_kubernetes()
    body["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": NAME, "namespace": ns},
        "spec": body,
    }


def backend_objects(ns: str, *, host_ip: str, port: int) -> list[Obj]:
    """A Service without a selector whose Endpoints name the backend on the host, and the
    three metrics APIServices routed to it."""
    meta = {"name": BACKEND, "namespace": ns}
    service_port = {"name": "https", "port": 443, "targetPort": port}
    out: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"ports": [service_port]},
        },
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": meta,
            "subsets": [
                {"addresses": [{"ip": host_ip}], "ports": [{"name": "https", "port": port}]}
            ],
        },
    ]
    out += [apiservice(group, {"name": BACKEND, "namespace": ns, "port": 443}) for group in GROUPS]
    return out


def apiservice(group: str, service: Obj) -> Obj:
    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": apiservice_name(group)},
        "spec": {
            "service": service,
            "group": group,
            "version": "v1beta1",
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    }

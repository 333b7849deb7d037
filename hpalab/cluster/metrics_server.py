"""metrics-server as an add-on of the cluster: the resource metrics API for ``kubectl top``
and CPU-based HPAs, from the built binary (upstream's manifest, in its shape).

The kubernetes platform deploys metrics-server itself on any cluster; this add-on is for the
cluster on its own (``hpalab cluster up --with-metrics-server``) and its tests. It checks the
kubelet's serving certificate against the cluster CA (``kube-root-ca.crt``) instead of
skipping verification.
"""

from __future__ import annotations

from typing import Any

import yaml

from hpalab.cluster import addons
from hpalab.cluster.config import ClusterConfig

IMAGE = "registry.k8s.io/metrics-server/metrics-server:v0.8.0"
NS = "kube-system"
NAME = "metrics-server"
RBAC = "rbac.authorization.k8s.io"


def _binding(kind: str, name: str, role_kind: str, role: str) -> dict[str, Any]:
    meta: dict[str, str] = {"name": name}
    if kind == "RoleBinding":
        meta["namespace"] = NS
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NS}],
    }


def objects() -> list[dict[str, Any]]:
    labels = {"k8s-app": NAME}
    meta = {"name": NAME, "namespace": NS, "labels": labels}
    rules = [
        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
    ]
    container = {
        "name": NAME,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--cert-dir=/tmp",
            "--secure-port=10250",
            "--kubelet-preferred-address-types=InternalIP",
            "--kubelet-use-node-status-port",
            "--metric-resolution=15s",
            "--kubelet-certificate-authority=/ca/ca.crt",
        ],
        "ports": [{"name": "https", "containerPort": 10250}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 2,
        },
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}},
        "volumeMounts": [
            # The pod's own emptyDir, as upstream mounts it.
            {"name": "tmp-dir", "mountPath": "/tmp"},  # noqa: S108
            {"name": "cluster-ca", "mountPath": "/ca", "readOnly": True},
        ],
    }
    pod = {
        "serviceAccountName": NAME,
        "priorityClassName": "system-cluster-critical",
        "containers": [container],
        "volumes": [
            {"name": "tmp-dir", "emptyDir": {}},
            {"name": "cluster-ca", "configMap": {"name": "kube-root-ca.crt"}},
        ],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"system:{NAME}"},
            "rules": rules,
        },
        _binding(
            "RoleBinding",
            f"{NAME}-auth-reader",
            "Role",
            "extension-apiserver-authentication-reader",
        ),
        _binding(
            "ClusterRoleBinding",
            f"{NAME}:system:auth-delegator",
            "ClusterRole",
            "system:auth-delegator",
        ),
        _binding("ClusterRoleBinding", f"system:{NAME}", "ClusterRole", f"system:{NAME}"),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": labels,
                "ports": [{"name": "https", "port": 443, "targetPort": "https"}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        },
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": labels},
            "spec": {
                "service": {"name": NAME, "namespace": NS},
                "group": "metrics.k8s.io",
                "version": "v1beta1",
                # metrics-server signs its own serving certificate at start-up.
                "insecureSkipTLSVerify": True,
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
            },
        },
    ]


def apply(config: ClusterConfig) -> None:
    text = yaml.safe_dump_all(objects(), sort_keys=False)
    addons.kubectl(config, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=text)


def available(config: ClusterConfig) -> bool:
    """True once the metrics API answers for the node."""
    try:
        addons.kubectl(config, "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes", timeout_s=10)
    except Exception:
        return False
    return True

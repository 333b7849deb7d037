"""One real cluster (``hpalab cluster up --name test``) for every test in this folder.

It is started once per test session with short HPA timings, and taken down at the end; each
test works in a namespace of its own. These tests need root and the built components, which
``make test`` builds first.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hpalab.cluster import addons, lifecycle
from hpalab.cluster.building import binary_path
from hpalab.cluster.config import ClusterConfig, ControllerFlags

NAME = os.environ.get("HPALAB_TEST_CLUSTER", "test")
"""The cluster's name; set HPALAB_TEST_CLUSTER to run beside another cluster named ``test``."""
CONTROLLER = ControllerFlags(
    hpa_sync_period="5s",
    downscale_stabilization="20s",
    initial_readiness_delay="5s",
    cpu_initialization_period="30s",
)


class Kube:
    """kubectl against the test cluster, in one namespace."""

    def __init__(self, config: ClusterConfig, namespace: str) -> None:
        self.config = config
        self.namespace = namespace

    def __call__(self, *args: str, stdin: str | None = None, timeout_s: float = 60) -> str:
        return addons.kubectl(
            self.config, "-n", self.namespace, *args, stdin=stdin, timeout_s=timeout_s
        )

    def argv(self) -> list[str]:
        """kubectl's command line up to the verb, for tests that run it themselves."""
        kubectl = str(binary_path("kubectl"))
        return [kubectl, f"--kubeconfig={self.config.kubeconfig}", "-n", self.namespace]

    def apply(self, *objects: dict[str, Any]) -> None:
        self("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def get(self, kind: str, name: str = "") -> dict[str, Any]:
        out = self("get", kind, *([name] if name else []), "-o", "json")
        return dict(json.loads(out))

    def get_pods(self, selector: str) -> list[dict[str, Any]]:
        out = self("get", "pods", "-l", selector, "-o", "json")
        return list(json.loads(out)["items"])


def wait_for(check: Callable[[], Any], *, timeout_s: float, what: str, every_s: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    pytest.fail(f"{what}: not reached in {timeout_s:.0f} s (last: {last!r})")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a ``cluster`` test: ``-m cluster`` selects them."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterConfig]:
    config, _ = lifecycle.up(NAME, controller=CONTROLLER)
    try:
        yield config
    finally:
        left = lifecycle.down(NAME)
        assert left == [], f"hpalab cluster down left {left}"


@pytest.fixture
def kube(cluster: ClusterConfig, request: pytest.FixtureRequest) -> Iterator[Kube]:
    namespace = "t-" + request.node.name.replace("_", "-").lower()[:40].strip("-")
    addons.kubectl(cluster, "create", "namespace", namespace)
    try:
        yield Kube(cluster, namespace)
    finally:
        addons.kubectl(cluster, "delete", "namespace", namespace, "--wait=false")


def deployment(
    name: str, container: dict[str, Any], *, replicas: int = 1, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 5},
            },
        },
    }


def sample_app(
    *, cpu_per_request: str = "0", resources: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The sample app's container, listening on 8080 in its pod."""
    return {
        "name": "app",
        "image": "hpalab/sample-app:dev",
        "imagePullPolicy": "IfNotPresent",
        "args": ["--host", "0.0.0.0", "--port", "8080", "--cpu-per-request", cpu_per_request],
        "env": [
            {
                "name": "HPALAB_APP_POD_NAME",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
            }
        ],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 1},
        "resources": resources or {},
    }


def service(name: str, *, port: int = 80, target: int = 8080) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": target}]},
    }


def cpu_hpa(
    name: str, *, min_replicas: int, max_replicas: int, utilization: int, scale_down_window: int
) -> dict[str, Any]:
    """An autoscaling/v2 HPA of Deployment ``name`` on CPU utilization."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": utilization},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": scale_down_window}},
        },
    }


def ready_pods(kube: Kube, selector: str, count: int) -> list[dict[str, Any]] | None:
    pods = kube.get_pods(selector)
    ready = [
        p
        for p in pods
        if p["metadata"].get("deletionTimestamp") is None
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
    ]
    return ready if len(ready) == count else None

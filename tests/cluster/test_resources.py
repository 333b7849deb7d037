"""Resources on the real cluster: a CPU limit from the cgroup, kubectl top through
metrics-server, and the real HPA controller scaling on CPU utilization."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hpalab.cluster import addons, metrics_server
from hpalab.cluster.config import ClusterConfig
from tests.cluster.conftest import (
    Kube,
    cpu_hpa,
    deployment,
    ready_pods,
    sample_app,
    service,
    wait_for,
)

BUSY = "while True: pass"


def _cpuacct_usage(cluster: ClusterConfig, pod_uid: str) -> Path:
    root = Path("/sys/fs/cgroup/cpuacct") / cluster.cgroup_root.strip("/")
    found = [p for p in root.rglob("cpuacct.usage") if f"pod{pod_uid}" in p.parent.parent.name]
    assert len(found) == 1, found
    return found[0]


def test_cpu_limit_caps_a_busy_container(kube: Kube, cluster: ClusterConfig) -> None:
    limits = {"cpu": "200m", "memory": "128Mi"}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "busy"},
        "spec": {
            "containers": [
                {
                    "name": "busy",
                    "image": "python:3.12",
                    "command": ["python", "-c", BUSY],
                    "resources": {"requests": limits, "limits": limits},
                }
            ]
        },
    }
    kube.apply(pod)
    wait_for(
        lambda: kube.get("pod", "busy")["status"].get("phase") == "Running",
        timeout_s=60,
        what="Running",
    )
    usage = _cpuacct_usage(cluster, kube.get("pod", "busy")["metadata"]["uid"])
    time.sleep(2)
    start_ns, start = int(usage.read_text()), time.monotonic()
    time.sleep(6)
    cores = (int(usage.read_text()) - start_ns) / 1e9 / (time.monotonic() - start)
    assert cores == pytest.approx(0.2, rel=0.15)


@pytest.fixture(scope="module")
def metrics_api(cluster: ClusterConfig) -> ClusterConfig:
    metrics_server.apply(cluster)
    wait_for(lambda: metrics_server.available(cluster), timeout_s=120, what="the metrics API")
    return cluster


def test_kubectl_top_pods(kube: Kube, metrics_api: ClusterConfig) -> None:
    kube.apply(deployment("web", sample_app(resources={"requests": {"cpu": "100m"}})))
    wait_for(lambda: ready_pods(kube, "app=web", 1), timeout_s=60, what="a Ready replica")

    def top() -> str | None:
        try:
            out = kube("top", "pods", "--no-headers", timeout_s=15)
        except Exception:
            return None
        return out if "web-" in out else None

    out = wait_for(top, timeout_s=120, what="kubectl top pods to list the replica", every_s=3)
    _, cpu, memory = out.split()[:3]
    assert cpu.endswith("m") and memory.endswith("Mi"), out
    assert int(memory[:-2]) > 5  # a Python process: real memory, not a zero from a fake


LOAD = """
import time, urllib.request
end = time.time() + {seconds}
while time.time() < end:
    try:
        urllib.request.urlopen("http://web/", timeout=2).read()
    except OSError:
        time.sleep(0.05)
"""


def _hpa_status(kube: Kube) -> dict[str, object]:
    return dict(kube.get("hpa", "web").get("status", {}))


def test_real_hpa_scales_up_and_down_on_cpu(kube: Kube, metrics_api: ClusterConfig) -> None:
    resources = {"requests": {"cpu": "100m"}, "limits": {"cpu": "400m"}}
    hpa = cpu_hpa("web", min_replicas=1, max_replicas=4, utilization=50, scale_down_window=15)
    kube.apply(
        deployment("web", sample_app(cpu_per_request="2ms", resources=resources)),
        service("web"),
        hpa,
    )
    wait_for(lambda: ready_pods(kube, "app=web", 1), timeout_s=60, what="a Ready replica")
    wait_for(
        lambda: _hpa_status(kube).get("currentMetrics"),
        timeout_s=120,
        what="the HPA to read CPU",
        every_s=2,
    )
    load = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "load"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "load",
                    "image": "python:3.12",
                    "command": ["python", "-c", LOAD.format(seconds=150)],
                }
            ],
        },
    }
    kube.apply(load)
    wait_for(
        lambda: int(_hpa_status(kube).get("desiredReplicas", 1)) > 1,  # type: ignore[call-overload]
        timeout_s=150,
        what="the HPA to scale up",
        every_s=2,
    )
    scaled = kube.get("deployment", "web")["spec"]["replicas"]
    assert scaled > 1
    kube("delete", "pod", "load", "--grace-period=0", "--force")
    wait_for(
        lambda: kube.get("deployment", "web")["spec"]["replicas"] == 1,
        timeout_s=180,
        what="the HPA to scale back down to 1",
        every_s=3,
    )
    events = addons.kubectl(
        metrics_api,
        "-n",
        kube.namespace,
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=HorizontalPodAutoscaler",
    )
    assert "SuccessfulRescale" in events

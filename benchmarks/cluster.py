"""Figures of `hpalab cluster` on this machine (needs root and the built components).

- the warm build: every program rebuilt into an empty binary cache while Go's compile cache is
  warm (what a version bump of hpalab's own program or a wiped ~/.cache/hpalab costs); the
  cold build is timed by `.ci/run` on a fresh machine, where it prints "cluster build took"
  (``--no-build`` skips the warm build: it relinks every program, many minutes on 2 cores);
- `up` to node Ready and to CoreDNS answering (median of 3 ups), and `down`;
- pod create → Ready for the sample app (median of 10 pods, each timed from the create call
  to the watch event that shows it Ready), against a bare `python -c pass` start on the host
  as the baseline of the same run; then for the stock-python mode, whose init container
  pip-installs the app's dependencies (from the local wheelhouse: pods cannot reach PyPI here,
  so this is the floor of what that mode adds), as a ratio to the built image;
- resident memory of the control plane (etcd, apiserver, controller-manager, scheduler,
  kubelet, kube-proxy, runtime, streaming server) with 10 sample-app pods running.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubernetes import client, config, watch  # noqa: E402

from hpalab.cluster import building, lifecycle  # noqa: E402
from hpalab.cluster.components import ORDER  # noqa: E402
from hpalab.cluster.config import ClusterConfig  # noqa: E402
from hpalab.cluster.daemons import Daemon  # noqa: E402
from hpalab.platforms.kubernetes.render_app import APP_REQUIREMENTS  # noqa: E402

NAME = "bench"
MIB = 1024 * 1024


def warm_build() -> float:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "HPALAB_CACHE_DIR": cache}
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "hpalab.cli.main", "cluster", "build"],
            env=env,
            check=True,
            capture_output=True,
        )
        return time.monotonic() - started


def up_down() -> tuple[list[float], list[float], list[float]]:
    node, dns, downs = [], [], []
    for _ in range(3):
        _, timings = lifecycle.up(NAME)
        node.append(timings.marks["node-ready"] - timings.marks["built"])
        dns.append(timings.marks["coredns-ready"] - timings.marks["built"])
        started = time.monotonic()
        assert lifecycle.down(NAME) == []
        downs.append(time.monotonic() - started)
    return node, dns, downs


def _pod(name: str, *, stock_python: bool = False) -> dict[str, object]:
    container: dict[str, object] = {
        "name": "app",
        "image": "hpalab/sample-app",
        "imagePullPolicy": "IfNotPresent",
        "args": ["--host", "0.0.0.0", "--port", "8080"],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 1},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
    }
    spec: dict[str, object] = {"containers": [container]}
    if stock_python:
        # the ConfigMap mode's start: an init container pip-installs the app's dependencies
        # (here from the local wheelhouse) into an emptyDir the app imports them from
        mount = [{"name": "deps", "mountPath": "/deps"}]
        install = ["pip", "install", "--no-cache-dir", "--quiet", "--target", "/deps"]
        spec["initContainers"] = [
            {
                "name": "install",
                "image": "python:3.12-slim",
                "command": [*install, *APP_REQUIREMENTS],
                "volumeMounts": mount,
            }
        ]
        spec["volumes"] = [{"name": "deps", "emptyDir": {}}]
        container["env"] = [{"name": "PYTHONPATH", "value": "/deps"}]
        container["volumeMounts"] = mount
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def pod_ready_times(
    api: client.CoreV1Api, count: int, *, stock_python: bool = False
) -> list[float]:
    times = []
    for i in range(count):
        name = f"{'stock' if stock_python else 'app'}-{i}"
        started = time.monotonic()
        api.create_namespaced_pod("default", _pod(name, stock_python=stock_python))
        stream = watch.Watch()
        for event in stream.stream(
            api.list_namespaced_pod,
            "default",
            field_selector=f"metadata.name={name}",
            timeout_seconds=60,
        ):
            conditions = event["object"].status.conditions or []
            if any(c.type == "Ready" and c.status == "True" for c in conditions):
                times.append(time.monotonic() - started)
                stream.stop()
    return times


def python_start() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - started


def control_plane_rss(cluster: ClusterConfig) -> float:
    total = 0
    for component in ORDER:
        pid = Daemon(cluster, component.name).pid()
        if pid is not None:
            process = psutil.Process(pid)
            total += sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
    return total / MIB


def main() -> None:
    if "--no-build" not in sys.argv[1:]:
        print(f"warm build (compile cache warm, empty binary cache): {warm_build():.0f} s")
    building.build(lifecycle.PROGRAMS)
    node, dns, downs = up_down()
    each = ", ".join(f"{x:.1f}" for x in node)
    print(f"up → node Ready: median {statistics.median(node):.1f} s ({each})")
    print(f"up → CoreDNS Ready: median {statistics.median(dns):.1f} s (target ≤ 20 s)")
    print(f"down: median {statistics.median(downs):.1f} s (target ≤ 10 s)")
    cluster, _ = lifecycle.up(NAME)
    try:
        config.load_kube_config(str(cluster.kubeconfig))
        api = client.CoreV1Api()
        ready = pod_ready_times(api, 10)
        baseline = statistics.median(python_start() for _ in range(5))
        median = statistics.median(ready)
        print(
            f"pod create → Ready (sample app, 10 pods): median {median:.2f} s, "
            f"max {max(ready):.2f} s (target ≤ 2 s); {median / baseline:.1f}× a bare "
            f"`python -c pass` ({baseline:.3f} s)"
        )
        time.sleep(5)
        rss = control_plane_rss(cluster)
        print(
            "RSS of the components and all their children (shims and containers too), "
            f"10 sample-app pods: {rss:.0f} MiB"
        )
        stock = pod_ready_times(api, 5, stock_python=True)
        print(
            f"pod create → Ready, stock python image (pip install from the local wheelhouse in "
            f"an init container), 5 pods: median {statistics.median(stock):.2f} s, "
            f"{statistics.median(stock) / median:.1f}× the built image"
        )
    finally:
        lifecycle.down(NAME)


if __name__ == "__main__":
    main()

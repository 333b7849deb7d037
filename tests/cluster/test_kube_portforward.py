"""hpalab's PortForward with the real kubectl on the real cluster: the local port is the one
kubectl reports, and connections go through. (That kubectl never blocks on its output, a
line per connection, is shown by tests/unit/kubernetes/test_portforward.py with 1 MiB of it:
filling a 64 KiB pipe takes about 2,200 connections, three minutes here.)"""

from __future__ import annotations

import httpx

from hpalab.cluster.building import binary_path
from hpalab.cluster.config import ClusterConfig
from hpalab.platforms.kubernetes.portforward import PortForward
from tests.cluster.conftest import Kube, deployment, ready_pods, sample_app, service, wait_for

CONNECTIONS = 50


def test_port_forward_reaches_a_service_through_the_real_kubectl(
    kube: Kube, cluster: ClusterConfig
) -> None:
    kube.apply(deployment("web", sample_app()), service("web"))
    wait_for(lambda: ready_pods(kube, "app=web", 1), timeout_s=60, what="a Ready pod")
    forward = PortForward(
        namespace=kube.namespace,
        target="svc/web",
        remote_port=80,
        kubeconfig=cluster.kubeconfig,
        kubectl=str(binary_path("kubectl")),
    )
    forward.start()
    try:
        assert forward.url.startswith("http://127.0.0.1:") and forward.local_port > 0
        ok = 0
        for _ in range(CONNECTIONS):
            # a new connection each time, as each query of a short-lived client opens one
            with httpx.Client(timeout=10.0) as client:
                ok += client.get(f"{forward.url}/readyz").status_code == 200
        assert ok == CONNECTIONS
    finally:
        forward.stop()

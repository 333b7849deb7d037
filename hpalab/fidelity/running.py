"""Run one scenario on ``hpalab cluster``: the real HPA controller against the scripted metrics
backend, with every request and every state change recorded."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from hpalab.cluster import lifecycle, pki
from hpalab.cluster.config import ClusterConfig
from hpalab.errors import PlatformError
from hpalab.fidelity import objects
from hpalab.fidelity.backend import Backend, PodView, Served, Server
from hpalab.fidelity.recording import Recorder, Recording, pods_in_order
from hpalab.orchestration.clusters import apply_flags
from hpalab.platforms.kubernetes.client import KubeClient, load_api_client
from hpalab.platforms.kubernetes.waiting import condition
from hpalab.specs.fidelity import FidelityScenario
from hpalab.specs.units import parse_quantity_value

Say = Callable[[str], None]


@dataclass
class ClusterRun:
    """What the real controller was given and what it did."""

    started_s: float
    """Wall-clock time the HPA was created (the scripts' time 0)."""
    served: list[Served]
    recording: Recording
    stopped_s: float
    """Wall-clock time the HPA was deleted."""
    updated_s: list[float] = field(default_factory=list)
    """Wall-clock times the HPA's spec was changed (``hpaUpdates``), in order."""


def run_on_cluster(
    scenario: FidelityScenario, *, cluster: str, say: Say = lambda _: None
) -> ClusterRun:
    """Run ``scenario`` on cluster ``cluster`` for its duration; always clean up."""
    config = lifecycle.existing(cluster)
    spec = scenario.spec
    say(f"{scenario.metadata.name}: controller flags")
    apply_flags(cluster, spec.controller)
    client = KubeClient(load_api_client(context=None, config_file=config.kubeconfig))
    ns = f"fid-{scenario.metadata.name}"[:63].rstrip("-")
    # a namespace an interrupted run left behind
    client.delete(f"/api/v1/namespaces/{ns}")
    _wait_gone(client, f"/api/v1/namespaces/{ns}")
    client.apply(objects.namespace(ns))
    recorder = Recorder(client, ns)
    backend = Backend(spec, lambda: _pod_views(recorder.recording))
    updated: list[float] = []
    try:
        with _server(backend, config) as server, recorder, _registered(client, ns, config, server):
            client.apply(objects.deployment(spec, ns))
            say(f"{scenario.metadata.name}: waiting for {spec.initial_replicas} Ready pods")
            _poll(lambda: _ready(recorder.recording) >= spec.initial_replicas, 120, "pods Ready")
            started = time.time()
            backend.start(started)
            client.apply(objects.hpa(spec.hpa, ns))
            say(f"{scenario.metadata.name}: HPA created, running {spec.duration:g} s")
            for update in spec.hpa_updates:
                time.sleep(max(0.0, started + update.at - time.time()))
                client.apply(objects.hpa(update.hpa, ns))
                updated.append(time.time())
                say(f"{scenario.metadata.name}: HPA spec changed at {update.at:g} s")
            time.sleep(max(0.0, started + spec.duration - time.time()))
            stopped = time.time()
            path = f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{objects.NAME}"
            client.delete(path)
            time.sleep(1.0)
    finally:
        client.delete(f"/api/v1/namespaces/{ns}")
    return ClusterRun(started, list(backend.log), recorder.recording, stopped, updated)


def _pod_views(recording: Recording) -> list[PodView]:
    """The pods the backend has samples for: Running and not being deleted, in creation order."""
    out = []
    for pod in pods_in_order(recording.latest("pod")):
        if pod["metadata"].get("deletionTimestamp") or pod.get("status", {}).get("phase") != (
            "Running"
        ):
            continue
        out.append(PodView(pod["metadata"]["name"], requests_milli(pod)))
    return out


def requests_milli(pod: dict[str, Any]) -> dict[str, int]:
    """The pod's requests summed over its containers, each overridden by a pod-level request
    (component-helpers' ``PodRequests``), in milli-units."""
    out: dict[str, int] = {}
    for container in pod.get("spec", {}).get("containers", []):
        for name, value in (container.get("resources") or {}).get("requests", {}).items():
            milli = int(parse_quantity_value(value) * 1000)
            out[name] = out.get(name, 0) + milli
    return {**out, **(pod_level_requests(pod) or {})}


def pod_level_requests(pod: dict[str, Any]) -> dict[str, int] | None:
    """The pod's own ``spec.resources.requests``, in milli-units; None when it sets none."""
    requests = (pod.get("spec", {}).get("resources") or {}).get("requests")
    if not requests:
        return None
    return {name: int(parse_quantity_value(v) * 1000) for name, v in requests.items()}


def _ready(recording: Recording) -> int:
    pods = recording.latest("pod").values()
    return sum(1 for p in pods if (condition(p, "Ready") or {}).get("status") == "True")


def _poll(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise PlatformError(f"fidelity: {what} not reached in {timeout_s:.0f} s")
        time.sleep(0.25)


def _wait_gone(client: KubeClient, path: str) -> None:
    """Wait for an object (a namespace of an earlier run) to be deleted completely."""
    _poll(lambda: client.get(path) is None, 120, f"{path} deleted")


@contextmanager
def _server(backend: Backend, config: ClusterConfig) -> Iterator[Server]:
    """The backend on the host end of the cluster's link, with a certificate for that address."""
    ca = pki.make_ca("hpalab-fidelity-ca")
    leaf = pki.issue(ca, "hpalab-fidelity", server=True, ips=(config.host_ip,))
    with tempfile.TemporaryDirectory(prefix="hpalab-fidelity-") as tmp:
        cert, key = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        cert.write_bytes(leaf.cert.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            leaf.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        server = Server(backend, host=config.host_ip, cert=cert, key=key)
    with server:
        yield server


@contextmanager
def _registered(
    client: KubeClient, ns: str, config: ClusterConfig, server: Server
) -> Iterator[None]:
    """The three metrics APIServices routed to the backend; the ones they replace (such as
    metrics-server's) are put back afterwards."""
    saved = {g: _replaced(client.get(_apiservice_path(g))) for g in objects.GROUPS}
    try:
        for body in objects.backend_objects(ns, host_ip=config.host_ip, port=server.port):
            client.apply(body)
        _poll(lambda: all(_available(client, g) for g in objects.GROUPS), 60, "APIServices")
        yield
    finally:
        for group, old in saved.items():
            if old is None:
                client.delete(_apiservice_path(group))
            else:
                client.apply(restored(old))


def _replaced(found: dict[str, Any] | None) -> dict[str, Any] | None:
    """An APIService to put back afterwards; not one an interrupted run of ours left."""
    service = ((found or {}).get("spec") or {}).get("service") or {}
    return None if service.get("name") == objects.BACKEND else found


def restored(old: dict[str, Any]) -> dict[str, Any]:
    """A cluster-scoped object to create again: its kind, name, labels and spec."""
    meta = old["metadata"]
    return {
        "apiVersion": old["apiVersion"],
        "kind": old["kind"],
        "metadata": {"name": meta["name"], "labels": meta.get("labels") or {}},
        "spec": old["spec"],
    }


def _apiservice_path(group: str) -> str:
    return f"{objects.APISERVICE_PATH}/{objects.apiservice_name(group)}"


def _available(client: KubeClient, group: str) -> bool:
    found = client.get(_apiservice_path(group))
    return (condition(found, "Available") or {}).get("status") == "True"

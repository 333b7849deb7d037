"""Pods on the real cluster: scheduling, networking, DNS, logs, probes, restarts, termination."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from hpalab.cluster.config import ClusterConfig
from tests.cluster.conftest import Kube, deployment, ready_pods, sample_app, service, wait_for

CLIENT = """
import socket, time, urllib.request
host = "web.{ns}.svc.cluster.local"
print("IP", socket.gethostbyname(host))
names, errors, sent = set(), 0, 0
deadline = time.monotonic() + 60
# kube-proxy programs a pod that just became Ready a moment later: ask until all answered
while sent < 90 or (len(names) < {want} and time.monotonic() < deadline):
    sent += 1
    try:
        body = urllib.request.urlopen("http://" + host + "/", timeout=5).read().decode()
        names.add(body.split()[1])
    except OSError as error:  # a request may meet a Service rule still being written
        errors += 1
        print("ERROR", error)
        time.sleep(0.2)
print("PODS", " ".join(sorted(names)), "ERRORS", errors)
"""


def test_deployment_service_and_dns(kube: Kube, cluster: ClusterConfig) -> None:
    kube.apply(deployment("web", sample_app(), replicas=3), service("web"))
    pods = wait_for(lambda: ready_pods(kube, "app=web", 3), timeout_s=60, what="3 Ready replicas")
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 3, ips
    assert all(ip.startswith(cluster.pod_cidr.rsplit(".", 2)[0]) for ip in ips)
    cluster_ip = kube.get("service", "web")["spec"]["clusterIP"]
    client = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "client"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "client",
                    "image": "python:3.12",
                    "command": ["python", "-c", CLIENT.format(ns=kube.namespace, want=3)],
                }
            ],
        },
    }
    kube.apply(client)
    wait_for(
        lambda: kube.get("pod", "client")["status"].get("phase") in ("Succeeded", "Failed"),
        timeout_s=120,
        what="the client pod to finish",
    )
    logs = kube("logs", "client")
    assert f"IP {cluster_ip}" in logs, logs
    assert "PODS" in logs, logs
    served_by = set(logs.split("PODS", 1)[1].split("ERRORS", 1)[0].split())
    assert int(logs.rsplit("ERRORS", 1)[1]) <= 5, logs
    assert served_by == {p["metadata"]["name"] for p in pods}, logs


def test_exec_probe_logs_and_crash_loop(kube: Kube) -> None:
    probed = {
        "name": "probed",
        "image": "hpalab/toolbox",
        "command": [
            "sh",
            "-c",
            "echo starting; sleep 3; echo ready > /work/ready; echo ready; sleep 3600",
        ],
        "readinessProbe": {"exec": {"command": ["cat", "/work/ready"]}, "periodSeconds": 1},
        "volumeMounts": [{"name": "work", "mountPath": "/work"}],
    }
    crashing = {
        "name": "crashing",
        "image": "hpalab/toolbox",
        "command": ["sh", "-c", "echo crashing; exit 3"],
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probes"},
        "spec": {"containers": [probed, crashing], "volumes": [{"name": "work", "emptyDir": {}}]},
    }
    kube.apply(pod)

    def probed_ready() -> bool:
        statuses = kube.get("pod", "probes")["status"].get("containerStatuses", [])
        return any(s["name"] == "probed" and s["ready"] for s in statuses)

    wait_for(probed_ready, timeout_s=60, what="the exec readiness probe to pass")
    events = kube("get", "events", "--field-selector", "involvedObject.name=probes", "-o", "json")
    reasons = {e["reason"] for e in json.loads(events)["items"]}
    assert "Unhealthy" in reasons, reasons  # the probe failed before the file existed
    assert kube("logs", "probes", "-c", "probed").splitlines()[:2] == ["starting", "ready"]

    def crash_looping() -> dict[str, object] | None:
        for s in kube.get("pod", "probes")["status"].get("containerStatuses", []):
            waiting = s["state"].get("waiting", {})
            if (
                s["name"] == "crashing"
                and waiting.get("reason") == "CrashLoopBackOff"
                and s["restartCount"] >= 2
            ):
                return dict(s)
        return None

    status = wait_for(crash_looping, timeout_s=90, what="CrashLoopBackOff")
    assert status["lastState"]["terminated"]["exitCode"] == 3  # type: ignore[index]
    assert "crashing" in kube("logs", "probes", "-c", "crashing", "--previous")


def test_termination_grace_then_kill(kube: Kube, tmp_path: Path) -> None:
    script = (
        'trap "echo TERM >> /out/events" TERM; echo started >> /out/events; '
        "while true; do sleep 0.1; done"
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stubborn"},
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "containers": [
                {
                    "name": "stubborn",
                    "image": "hpalab/toolbox",
                    "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "out", "mountPath": "/out"}],
                }
            ],
            "volumes": [{"name": "out", "hostPath": {"path": str(tmp_path), "type": "Directory"}}],
        },
    }
    kube.apply(pod)
    events = tmp_path / "events"
    wait_for(
        lambda: events.exists() and "started" in events.read_text(), timeout_s=60, what="start"
    )
    deleted_at = time.monotonic()
    kube("delete", "pod", "stubborn", "--grace-period=5", "--wait=false")
    wait_for(
        lambda: "TERM" in events.read_text(), timeout_s=10, what="SIGTERM to reach the container"
    )
    wait_for(
        lambda: "stubborn" not in kube("get", "pods", "-o", "name"),
        timeout_s=30,
        what="the pod to be gone",
    )
    # It ignored SIGTERM, so only the SIGKILL at the end of the grace period ended it.
    assert time.monotonic() - deleted_at >= 4.5
    assert events.read_text().split() == ["started", "TERM"]


def test_kubectl_exec_and_port_forward(kube: Kube) -> None:
    kube.apply(deployment("web", sample_app()))
    pod = wait_for(lambda: ready_pods(kube, "app=web", 1), timeout_s=60, what="a Ready replica")[0]
    name = pod["metadata"]["name"]
    script = (
        "import os, socket; print(socket.gethostname(), os.environ['HPALAB_APP_POD_NAME']); "
        "raise SystemExit(4)"
    )
    done = subprocess.run(
        [*kube.argv(), "exec", name, "--", "python", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert done.stdout.split() == [name, name]
    piped = subprocess.run(
        [
            *kube.argv(),
            "exec",
            "-i",
            name,
            "--",
            "python",
            "-c",
            "import sys; print(sys.stdin.read().upper())",
        ],
        input="through stdin",
        capture_output=True,
        text=True,
        check=True,
    )
    assert piped.stdout.strip() == "THROUGH STDIN"
    forward = subprocess.Popen(
        [*kube.argv(), "port-forward", f"pod/{name}", ":8080", "--address", "127.0.0.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert forward.stdout is not None
        line = forward.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> 8080"
        port = int(line.split("127.0.0.1:", 1)[1].split()[0])
        body = httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text
    finally:
        forward.terminate()
        forward.wait(timeout=10)
    assert body == f"ok {name}\n"

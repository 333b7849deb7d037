"""Parts of the stack that run inside the cluster, on the real cluster: the sample app in the
stock ``python`` image (its init container pip-installs from the local wheelhouse) and
distributed Locust load, one master and two workers."""

from __future__ import annotations

import json
from pathlib import Path

from hpalab.load.arrivals import arrival_times
from hpalab.load.job import job_from_profile
from hpalab.load.processes import LOCUSTFILE
from hpalab.platforms.kubernetes import render_app
from hpalab.platforms.kubernetes.objects import NAME, StackOptions, selector
from hpalab.platforms.kubernetes.render_locust import LOAD_ID, WORKER, locust_objects
from hpalab.specs import load_experiment
from hpalab.specs.profiles import ProfileSpec
from tests.cluster.conftest import Kube, deployment, ready_pods, sample_app, service, wait_for

SMOKE = Path(__file__).resolve().parents[2] / "experiments" / "ci-smoke.yaml"
READ_COUNTER = """
import urllib.request
text = urllib.request.urlopen("http://127.0.0.1:8080/metrics", timeout=5).read().decode()
print(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
          if line.startswith("http_requests_total{")))
"""


def test_the_stock_python_mode_installs_the_app_from_the_wheelhouse(kube: Kube) -> None:
    spec = load_experiment(SMOKE).experiment.spec
    options = StackOptions(namespace=kube.namespace)  # no app image: the ConfigMap mode
    kube.apply(render_app.source_configmap(options), render_app.deployment(spec, options))
    labels = ",".join(f"{k}={v}" for k, v in selector(options, render_app.APP).items())
    (pod,) = wait_for(
        lambda: ready_pods(kube, labels, 1), timeout_s=180, what="the app pod to be Ready"
    )
    (install,) = pod["status"]["initContainerStatuses"]
    assert install["state"]["terminated"]["exitCode"] == 0, install
    # the app imports the dependencies pip put into the pod's emptyDir, not the host's
    name = pod["metadata"]["name"]
    where = kube(
        "exec", name, "-c", pod["spec"]["containers"][0]["name"], "--",
        "python", "-c", "import aiohttp, prometheus_client, hpalab; "
        "print(aiohttp.__file__, prometheus_client.__file__, hpalab.__file__)",
    )  # fmt: skip
    aiohttp_file, client_file, hpalab_file = where.split()
    assert aiohttp_file.startswith("/deps/") and client_file.startswith("/deps/"), where
    assert hpalab_file.startswith("/src/"), where


def _records(logs: str) -> list[dict[str, object]]:
    lines = (line for line in logs.splitlines() if line.startswith("{"))
    return [r for r in map(json.loads, lines) if r.get("type") == "second"]


def test_distributed_load_one_master_two_workers(kube: Kube) -> None:
    kube.apply(deployment("sampleapp", sample_app(), replicas=2), service("sampleapp"))
    wait_for(lambda: ready_pods(kube, "app=sampleapp", 2), timeout_s=60, what="2 app replicas")
    hold = {"type": "hold", "rps": 20, "duration": "15s"}
    profile = ProfileSpec.model_validate({"stages": [hold]})
    # the URL is the one the user's machine would use; the pods get the Service's instead
    job = job_from_profile(profile, url="http://127.0.0.1:9", workers=2)
    arrivals = arrival_times(
        job.curve(), process=job.profile.arrivals.process, seed=job.arrival_seed
    )
    planned = sum(1 for _ in arrivals)
    options = StackOptions(namespace=kube.namespace)
    objects = locust_objects(
        options,
        job_json=job.to_json(),
        locustfile=LOCUSTFILE.read_text(),
        workers=2,
        duration_s=15,
    )
    kube.apply(*objects)
    load = objects[1]["metadata"]["labels"][LOAD_ID]

    def finished() -> list[str] | None:
        names = [o["metadata"]["name"] for o in objects if o["kind"] == "Job"]
        jobs = [kube.get("job", name)["status"] for name in names]
        failed = [s for s in jobs if s.get("failed")]
        assert not failed, (jobs, kube("logs", "-l", f"{LOAD_ID}={load}", "--tail=40"))
        return names if all(s.get("succeeded") for s in jobs) else None

    wait_for(finished, timeout_s=180, what="the master and both workers to complete")
    workers = kube.get_pods(f"{LOAD_ID}={load},{NAME}={WORKER}")
    assert len(workers) == 2
    per_worker: dict[int, int] = {}
    records = []
    for pod in workers:
        mine = _records(kube("logs", pod["metadata"]["name"]))
        records += mine
        for r in mine:
            per_worker[int(r["worker"])] = per_worker.get(int(r["worker"]), 0) + int(r["sent"])
    assert sorted(per_worker) == [0, 1], per_worker
    sent = sum(per_worker.values())
    assert sent + sum(int(r["dropped"]) for r in records) == planned
    assert sum(int(r["failures"]) for r in records) == 0
    assert all(count >= planned // 2 - 2 for count in per_worker.values()), per_worker
    # every request reached the app, through its Service, on both replicas
    counted = [
        float(kube("exec", pod["metadata"]["name"], "--", "python", "-c", READ_COUNTER))
        for pod in kube.get_pods("app=sampleapp")
    ]
    assert sum(counted) == sent, counted
    assert all(c > 0 for c in counted), counted

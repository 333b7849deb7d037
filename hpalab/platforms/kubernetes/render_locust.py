"""Distributed load inside the cluster: a Locust master Deployment and N worker pods (one
Indexed Job), for more load than one machine can send.

The load job (what to send, when) and the locustfile are the ones the local load generator
uses, carried in a ConfigMap; each worker learns its index from the Job's completion index, which
is what ``HPALAB_LOAD_WORKER`` means locally. The image must contain hpalab (build the
Dockerfile's ``load`` target). Workers reach the app through its Service, so every Ready pod gets
its share; the master's web API (port 8089) is reached by port-forward from the user's machine.
"""

from __future__ import annotations

from hpalab.platforms.kubernetes.objects import (
    APP,
    CONFIG_HASH,
    LOCUST,
    Obj,
    StackOptions,
    content_hash,
    meta,
    obj,
    selector,
    service,
)

MASTER = f"{LOCUST}-master"
WORKER = f"{LOCUST}-worker"
MASTER_PORT = 5557
WEB_PORT = 8089


def _env(options: StackOptions) -> list[Obj]:
    return [
        {"name": "HPALAB_LOAD_JOB", "value": "/locust/job.json"},
        {"name": "HPALAB_TARGET_URL", "value": f"http://{APP}.{options.namespace}.svc"},
    ]


def locust_objects(
    options: StackOptions, *, job_json: str, locustfile: str, workers: int, image: str | None = None
) -> list[Obj]:
    """ConfigMap, master Deployment and Service, and the workers' Indexed Job.

    ``workers`` must be ≥ 1; the Job never restarts a finished worker (``backoffLimit: 0``), so
    a crashed worker shows up as a failed pod rather than as load silently resumed later.
    """
    if workers < 1:
        raise ValueError("in-cluster load needs at least one worker")
    image = image or options.locust_image
    files = {"job.json": job_json, "locustfile.py": locustfile}
    config = obj("v1", "ConfigMap", meta(options, LOCUST, part=LOCUST), data=files)
    volume = [{"name": "job", "configMap": {"name": LOCUST}}]
    mount = [{"name": "job", "mountPath": "/locust", "readOnly": True}]
    master_args = ["-f", "/locust/locustfile.py", "--master", f"--expect-workers={workers}"]
    master_args += [f"--master-bind-port={MASTER_PORT}", f"--web-port={WEB_PORT}"]
    master_container: Obj = {
        "name": "master",
        "image": image,
        "args": master_args,
        "env": _env(options),
        "ports": [
            {"name": "master", "containerPort": MASTER_PORT, "protocol": "TCP"},
            {"name": "web", "containerPort": WEB_PORT, "protocol": "TCP"},
        ],
        "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}},
        "volumeMounts": mount,
    }
    index = {
        "fieldRef": {
            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        }
    }
    worker_container: Obj = {
        "name": "worker",
        "image": image,
        "args": [
            "-f",
            "/locust/locustfile.py",
            "--worker",
            f"--master-host={MASTER}",
            f"--master-port={MASTER_PORT}",
        ],
        "env": [*_env(options), {"name": "HPALAB_LOAD_WORKER", "valueFrom": index}],
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}},
        "volumeMounts": mount,
    }
    digest = {CONFIG_HASH: content_hash(files)}
    master_labels = meta(options, MASTER, part=MASTER, component="master")["labels"]
    worker_labels = meta(options, WORKER, part=WORKER, component="worker")["labels"]
    return [
        config,
        obj(
            "apps/v1",
            "Deployment",
            meta(options, MASTER, part=MASTER, component="master"),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": selector(options, MASTER)},
                "template": {
                    "metadata": {"labels": master_labels, "annotations": digest},
                    "spec": {"containers": [master_container], "volumes": volume},
                },
            },
        ),
        service(
            options,
            MASTER,
            part=MASTER,
            component="master",
            pod_selector=selector(options, MASTER),
            ports=[("master", MASTER_PORT), ("web", WEB_PORT)],
        ),
        obj(
            "batch/v1",
            "Job",
            meta(options, WORKER, part=WORKER, component="worker"),
            spec={
                "completionMode": "Indexed",
                "completions": workers,
                "parallelism": workers,
                "backoffLimit": 0,
                "ttlSecondsAfterFinished": 600,
                "template": {
                    "metadata": {"labels": worker_labels, "annotations": digest},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [worker_container],
                        "volumes": volume,
                    },
                },
            },
        ),
    ]

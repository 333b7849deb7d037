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
    deployment,
    labels,
    meta,
    obj,
    selector,
    service,
)

MASTER = f"{LOCUST}-master"
WORKER = f"{LOCUST}-worker"
MASTER_PORT = 5557
WEB_PORT = 8089
_COMPLETION_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
_VOLUMES = [{"name": "job", "configMap": {"name": LOCUST}}]
_MOUNTS = [{"name": "job", "mountPath": "/locust", "readOnly": True}]


def _container(options: StackOptions, name: str, image: str, args: list[str]) -> Obj:
    env: list[Obj] = [
        {"name": "HPALAB_LOAD_JOB", "value": "/locust/job.json"},
        {"name": "HPALAB_TARGET_URL", "value": f"http://{APP}.{options.namespace}.svc"},
    ]
    return {
        "name": name,
        "image": image,
        "args": ["-f", "/locust/locustfile.py", *args],
        "env": env,
        "resources": {
            "requests": {"cpu": "500m" if name == "worker" else "200m", "memory": "256Mi"}
        },
        "volumeMounts": _MOUNTS,
    }


def _master(options: StackOptions, image: str, *, workers: int, digest: dict[str, str]) -> Obj:
    args = ["--master", f"--expect-workers={workers}"]
    args += [f"--master-bind-port={MASTER_PORT}", f"--web-port={WEB_PORT}"]
    container = _container(options, "master", image, args)
    container["ports"] = [
        {"name": "master", "containerPort": MASTER_PORT, "protocol": "TCP"},
        {"name": "web", "containerPort": WEB_PORT, "protocol": "TCP"},
    ]
    pod = {"containers": [container], "volumes": _VOLUMES}
    return deployment(options, MASTER, component="master", pod_spec=pod, annotations=digest)


def _workers(options: StackOptions, image: str, *, workers: int, digest: dict[str, str]) -> Obj:
    args = ["--worker", f"--master-host={MASTER}", f"--master-port={MASTER_PORT}"]
    container = _container(options, "worker", image, args)
    index = {"fieldRef": {"fieldPath": _COMPLETION_INDEX}}
    container["env"].append({"name": "HPALAB_LOAD_WORKER", "valueFrom": index})
    pod = {"restartPolicy": "Never", "containers": [container], "volumes": _VOLUMES}
    return obj(
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
                "metadata": {"labels": labels(options, WORKER), "annotations": digest},
                "spec": pod,
            },
        },
    )


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
    digest = {CONFIG_HASH: content_hash(files)}
    return [
        obj("v1", "ConfigMap", meta(options, LOCUST, part=LOCUST), data=files),
        _master(options, image, workers=workers, digest=digest),
        service(
            options,
            MASTER,
            part=MASTER,
            component="master",
            pod_selector=selector(options, MASTER),
            ports=[("master", MASTER_PORT), ("web", WEB_PORT)],
        ),
        _workers(options, image, workers=workers, digest=digest),
    ]

"""Distributed load inside the cluster: a Locust master and N workers, each an Indexed Job, for
more load than one machine can send.

The load job (what to send, when) and the locustfile are the ones the local load generator
uses, carried in a ConfigMap. Each worker learns its index from the Job's completion index,
which is what ``HPALAB_LOAD_WORKER`` means locally, and reaches the app through its Service
(``HPALAB_TARGET_URL``), so every Ready pod gets its share. The image must have hpalab: the
Dockerfile's ``load`` target, or on ``hpalab cluster`` the ``locustio/locust`` image, which runs
the Locust of hpalab's own interpreter.

One load is one set of objects named by a digest of what it sends (``locust-master-<id>``…): a
Job's pod template cannot change, so a different load is a new set, never an update. The master
runs headless and starts once every worker has connected; when the profile ends it stops the
workers and every pod exits: both Jobs complete. No driver listens inside the cluster, so each
worker writes its per-second records to its standard output (``kubectl logs``). Both Jobs have a
deadline, so a load that cannot finish still stops by itself.
"""

from __future__ import annotations

from hpalab.platforms.kubernetes.objects import (
    APP,
    LOCUST,
    Obj,
    StackOptions,
    content_hash,
    labels,
    meta,
    obj,
    selector,
    service,
)

MASTER = f"{LOCUST}-master"
WORKER = f"{LOCUST}-worker"
MASTER_PORT = 5557
LOAD_ID = "hpalab.io/load"
"""Label with the load's digest: the master Service selects only its own load's master."""
START_MARGIN_S = 300
"""Added to the load's duration for each Job's deadline: pod starts and the workers' wait."""
_COMPLETION_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
_MOUNTS = [{"name": "job", "mountPath": "/locust", "readOnly": True}]


def _container(options: StackOptions, name: str, image: str, args: list[str]) -> Obj:
    env: list[Obj] = [
        {"name": "HPALAB_LOAD_JOB", "value": "/locust/job.json"},
        {"name": "HPALAB_TARGET_URL", "value": f"http://{APP}.{options.namespace}.svc"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    return {
        "name": name,
        "image": image,
        "args": ["-f", "/locust/locustfile.py", *args, "--loglevel", "WARNING"],
        "env": env,
        "resources": {
            "requests": {"cpu": "500m" if name == "worker" else "200m", "memory": "256Mi"}
        },
        "volumeMounts": _MOUNTS,
    }


def _job(
    options: StackOptions,
    part: str,
    load_id: str,
    *,
    component: str,
    container: Obj,
    spec: Obj,
    deadline_s: int,
) -> Obj:
    pod_labels = {**labels(options, part, component), **selector(options, part), LOAD_ID: load_id}
    metadata = meta(options, f"{part}-{load_id}", part=part, component=component)
    metadata["labels"][LOAD_ID] = load_id
    pod = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [{"name": "job", "configMap": {"name": f"{LOCUST}-{load_id}"}}],
    }
    return obj(
        "batch/v1",
        "Job",
        metadata,
        spec={
            **spec,
            "activeDeadlineSeconds": deadline_s,
            "ttlSecondsAfterFinished": 600,
            "template": {"metadata": {"labels": pod_labels}, "spec": pod},
        },
    )


def locust_objects(
    options: StackOptions,
    *,
    job_json: str,
    locustfile: str,
    workers: int,
    duration_s: float,
    image: str | None = None,
) -> list[Obj]:
    """ConfigMap, the master's Job and Service, and the workers' Indexed Job.

    ``workers`` must be ≥ 1. A worker that fails is retried once before its index counts as
    failed (for one that started before the master could be reached); the master is not
    retried, since a new master would wait for workers that already ran.
    """
    if workers < 1:
        raise ValueError("in-cluster load needs at least one worker")
    image = image or options.locust_image
    files = {"job.json": job_json, "locustfile.py": locustfile}
    load_id = content_hash(files, workers, image)[:8]
    deadline_s = int(duration_s) + START_MARGIN_S
    master_name = f"{MASTER}-{load_id}"
    master = _container(
        options,
        "master",
        image,
        [
            "--headless",
            "--master",
            f"--master-bind-port={MASTER_PORT}",
            f"--expect-workers={workers}",
            "--expect-workers-max-wait=120",
            "--only-summary",
            "--exit-code-on-error=0",
        ],
    )
    master["ports"] = [{"name": "master", "containerPort": MASTER_PORT, "protocol": "TCP"}]
    worker = _container(
        options,
        "worker",
        image,
        ["--worker", f"--master-host={master_name}", f"--master-port={MASTER_PORT}"],
    )
    index = {"fieldRef": {"fieldPath": _COMPLETION_INDEX}}
    worker["env"].append({"name": "HPALAB_LOAD_WORKER", "valueFrom": index})
    configmap = obj(
        "v1", "ConfigMap", meta(options, f"{LOCUST}-{load_id}", part=LOCUST), data=files
    )
    configmap["metadata"]["labels"][LOAD_ID] = load_id
    return [
        configmap,
        _job(
            options,
            MASTER,
            load_id,
            component="master",
            container=master,
            spec={"completions": 1, "parallelism": 1, "backoffLimit": 0},
            deadline_s=deadline_s,
        ),
        service(
            options,
            master_name,
            part=MASTER,
            component="master",
            pod_selector={**selector(options, MASTER), LOAD_ID: load_id},
            ports=[("master", MASTER_PORT)],
        ),
        _job(
            options,
            WORKER,
            load_id,
            component="worker",
            container=worker,
            spec={
                "completionMode": "Indexed",
                "completions": workers,
                "parallelism": workers,
                "backoffLimitPerIndex": 1,
                "maxFailedIndexes": 0,
            },
            deadline_s=deadline_s,
        ),
    ]

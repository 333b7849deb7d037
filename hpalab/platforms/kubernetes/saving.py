"""What a run on an existing workload changes, saved before and restored after.

Before the first change, ``cluster-objects.json`` in the run directory records, as the API
served them: the workload's replicas (its scale), the HPA hpalab will set (or that there is
none), the adapter's ConfigMap and the Deployments that mount it (their pod template is touched
to reload the rules). :func:`restore` puts each back: the HPA and ConfigMap exactly as saved
(replaced, or created again when the run had deleted them), a Deployment's spec, the replicas;
an HPA hpalab created is deleted. It runs when the run ends, however it ends; after a crash
``hpalab restore RUN_DIR`` does it. Nothing else is ever changed, and nothing is deleted that
was not created by the run.

The file holds no Secret: an HPA, a ConfigMap of adapter rules, Deployment specs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hpalab.errors import PlatformError, UsageError
from hpalab.platforms.kubernetes.client import KubeClient
from hpalab.platforms.kubernetes.objects import MANAGED_BY

SAVED_FILE = "cluster-objects.json"
MERGE_PATCH = "application/merge-patch+json"
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields")
CONTROLLER_ANNOTATIONS = ("deployment.kubernetes.io/revision",)
"""Annotations the Deployment controller rewrites on every rollout: never compared."""


def _collection(path: str) -> str:
    return path.rsplit("/", 1)[0]


def _without_server_fields(body: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    return out


def comparable(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """What restoring must give back exactly: name, namespace, labels, annotations (less the
    Deployment controller's revision), spec and data. The API server's own bookkeeping
    (resourceVersion, uid and creation time of an object the run deleted and created again,
    managedFields, status) is not the user's and is left out."""
    if body is None:
        return None
    meta = body.get("metadata", {})
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in CONTROLLER_ANNOTATIONS
    }
    return {
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "labels": meta.get("labels") or {},
            "annotations": annotations,
        },
        **{k: body[k] for k in ("spec", "data", "binaryData") if k in body},
    }


def saved_path(run_dir: Path) -> Path:
    return run_dir / SAVED_FILE


def save(
    client: KubeClient, run_dir: Path, paths: list[str], *, context: str | None
) -> dict[str, Any]:
    """Record each object (``None``: absent) before anything changes. A record left by an
    earlier start of this run directory that was never restored is kept: it, not the state the
    unrestored run left, is what was there before."""
    path = saved_path(run_dir)
    if path.is_file():
        record = json.loads(path.read_text())
        if not record.get("restored_at"):
            raise UsageError(
                f"{run_dir} holds changes to the cluster that were never restored",
                hint=f"run `hpalab restore {run_dir}` first",
            )
    record = {
        "server": client.server,
        "context": context,
        "saved_at": datetime.now(UTC).isoformat(),
        "restored_at": None,
        "objects": [{"path": p, "object": client.get(p)} for p in paths],
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    tmp.replace(path)
    return record


def load(run_dir: Path) -> dict[str, Any]:
    path = saved_path(run_dir)
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{run_dir} has no {SAVED_FILE}: its run changed nothing on a cluster",
            hint="pass the run directory of a run on spec.target",
        ) from None
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: {error}", hint="the file is damaged; restore by hand") from None
    return record


def restore(
    client: KubeClient, run_dir: Path, *, log: Callable[[str], None] = lambda _: None
) -> list[str]:
    """Put every saved object back; returns what was done. Safe to repeat."""
    record = load(run_dir)
    if client.server != record.get("server"):
        raise UsageError(
            f"{run_dir} was saved from {record.get('server')}, and this is {client.server}",
            hint=f"pass --context {record.get('context') or 'CONTEXT'} (the run's cluster)",
        )
    done: list[str] = []
    # the HPA first: a variant's HPA left running would scale the workload back
    for entry in sorted(record["objects"], key=lambda e: "/scale" in e["path"]):
        action = _restore_one(client, entry["path"], entry["object"])
        if action:
            log(action)
            done.append(action)
    record["restored_at"] = datetime.now(UTC).isoformat()
    tmp = saved_path(run_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    tmp.replace(saved_path(run_dir))
    return done


def _restore_one(client: KubeClient, path: str, saved: dict[str, Any] | None) -> str | None:
    current = client.get(path)
    if path.endswith("/scale"):
        replicas = int((saved or {}).get("spec", {}).get("replicas", 0))
        if current is None or current.get("spec", {}).get("replicas") == replicas:
            return None
        body = {"spec": {"replicas": replicas}}
        client.call("PATCH", path, body=body, content_type=MERGE_PATCH)
        return f"scaled {_collection(path).rsplit('/', 1)[-1]} back to {replicas} replicas"
    if saved is None:
        labels = ((current or {}).get("metadata") or {}).get("labels") or {}
        if current is None or labels.get(MANAGED_BY) != "hpalab":
            return None  # absent before, and not created by hpalab: not ours to delete
        client.delete(path)
        return f"deleted {path} (created by the run)"
    if current is not None and comparable(current) == comparable(saved):
        return None
    body = _without_server_fields(saved)
    if current is None:
        client.call("POST", _collection(path), body=body)
        return f"created {path} again as saved"
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    try:
        client.call("PUT", path, body=body)
    except PlatformError as error:
        raise PlatformError(
            f"could not restore {path}: {error}",
            hint="run `hpalab restore RUN_DIR` again once the cluster answers",
        ) from error
    return f"restored {path} as saved"

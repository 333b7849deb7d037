"""Feed what the real controller saw, sync by sync, through hpalab's HPA engine, and compare
its decisions with the real ones.

A *sync* is a burst of metrics requests: the controller fetches every metric of the HPA one
after the other, then writes the scale and the HPA status. Bursts are separated by the sync
period, so a gap of more than half of it (at most one second) starts a new one. The engine
gets, for each sync, the pods and the Deployment's replicas as the watches had them when the
burst began, the values the backend returned, and the time of the burst's last request; the
real decision is the HPA status as it stood just before the next burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hpalab.autoscaling.hpa import (
    Container,
    ContainerUsage,
    FetchFailure,
    HPAController,
    MetricsSnapshot,
    Pod,
    PodResourceMetrics,
)
from hpalab.autoscaling.hpa.spec import milli_value
from hpalab.autoscaling.hpa.versions import controller_config
from hpalab.fidelity.backend import CONTAINER, Served
from hpalab.fidelity.recording import Recording, pods_in_order
from hpalab.fidelity.running import ClusterRun, pod_level_requests, requests_milli
from hpalab.fidelity.timing import TimingCheck, check_timing
from hpalab.specs.fidelity import FidelitySpec

CONDITIONS = ("AbleToScale", "ScalingActive", "ScalingLimited", "ScaledToZero")


@dataclass
class SyncComparison:
    """One sync: its inputs in short, and both decisions."""

    index: int
    t_s: float
    """Seconds since the HPA was created."""
    replicas: int
    ready: int
    inputs: str
    real_desired: int | None
    engine_desired: int
    real_conditions: dict[str, str]
    engine_conditions: dict[str, str]
    differences: list[str] = field(default_factory=list)


def _ts(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def group_syncs(served: list[Served], sync_period_s: float) -> list[list[Served]]:
    """The requests split into bursts, one per sync."""
    gap = min(1.0, sync_period_s / 2)
    out: list[list[Served]] = []
    for request in sorted(served, key=lambda s: s.t_s):
        if out and request.t_s - out[-1][-1].t_s <= gap:
            out[-1].append(request)
        else:
            out.append([request])
    return out


def engine_pod(pod: dict[str, Any]) -> Pod:
    status = pod.get("status", {})
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    containers = pod.get("spec", {}).get("containers", [])
    return Pod(
        name=pod["metadata"]["name"],
        phase=status.get("phase", "Pending"),
        ready=ready.get("status") if ready else None,
        ready_transition_s=_ts(ready.get("lastTransitionTime")) if ready else None,
        start_s=_ts(status.get("startTime")),
        deleted=bool(pod["metadata"].get("deletionTimestamp")),
        containers=tuple(
            Container(c["name"], requests_milli({"spec": {"containers": [c]}})) for c in containers
        ),
        requests_milli=pod_level_requests(pod),
    )


def snapshot(burst: list[Served]) -> MetricsSnapshot:
    """The values the backend returned in one burst, as the engine takes them."""
    pods: dict[str, dict[str, int] | FetchFailure] = {}
    objects: dict[str, int | FetchFailure] = {}
    external: dict[str, list[int] | FetchFailure] = {}
    resource: list[PodResourceMetrics] | FetchFailure = []
    for request in burst:
        failure = FetchFailure(request.message) if request.status != 200 else None
        values = {k: milli_value(v) for k, v in request.values.items() if "=" not in v}
        if request.api == "pods":
            pods[request.metric] = failure or values
        elif request.api == "object":
            objects[request.metric] = failure or next(iter(values.values()), 0)
        elif request.api == "external":
            external[request.metric] = failure or list(values.values())
        else:
            resource = failure or _resource_items(request)
    return MetricsSnapshot(resource=resource, pods=pods, objects=objects, external=external)


def _resource_items(request: Served) -> list[PodResourceMetrics]:
    stamp = _ts(request.timestamp) or request.t_s
    items = []
    for pod, usage in request.values.items():
        amounts = dict(part.split("=", 1) for part in usage.split(","))
        container = ContainerUsage(CONTAINER, {k: milli_value(v) for k, v in amounts.items()})
        items.append(PodResourceMetrics(pod, stamp, request.window_s, (container,)))
    return items


def _conditions(status: dict[str, Any]) -> dict[str, str]:
    out = {}
    for cond in status.get("conditions") or []:
        if cond.get("type") in CONDITIONS:
            out[cond["type"]] = f"{cond.get('status')}/{cond.get('reason')}"
    return out


def _inputs(burst: list[Served]) -> str:
    parts = []
    for request in burst:
        if request.status != 200:
            parts.append(f"{request.metric}=HTTP {request.status}")
        else:
            values = sorted(set(request.values.values()))
            parts.append(f"{request.metric}={'|'.join(values) or '(none)'}")
    return " ".join(parts)


def replay(spec: FidelitySpec, run: ClusterRun) -> list[SyncComparison]:
    """Every sync of ``run`` through a fresh engine, compared with the real controller."""
    controller = HPAController(spec.hpa.to_kubernetes(), controller_config(spec.controller))
    bursts = _bursts(spec, run)
    updates = list(zip(run.updated_s, spec.hpa_updates, strict=True))
    out = []
    for index, burst in enumerate(bursts):
        begin, now = burst[0].t_s, burst[-1].t_s
        while updates and updates[0][0] <= begin:
            controller.update_spec(updates.pop(0)[1].hpa.to_kubernetes())
        end = bursts[index + 1][0].t_s if index + 1 < len(bursts) else run.stopped_s
        # an edit's own sync may make no metrics request (replicas outside the new bounds)
        end = min([end, *(t for t in run.updated_s if t > now)])
        pods = [engine_pod(p) for p in pods_in_order(run.recording.state_at("pod", begin))]
        spec_replicas, status_replicas = _scale(run.recording, begin)
        result = controller.sync(
            now,
            spec_replicas=spec_replicas,
            status_replicas=status_replicas,
            pods=pods,
            metrics=snapshot(burst),
        )
        real = _real_status(run.recording, end)
        comparison = SyncComparison(
            index=index,
            t_s=round(now - run.started_s, 2),
            replicas=spec_replicas,
            ready=sum(1 for p in pods if p.ready == "True" and not p.deleted),
            inputs=_inputs(burst),
            real_desired=real.get("desiredReplicas"),
            engine_desired=int(result.status.get("desiredReplicas", result.desired_replicas)),
            real_conditions=_conditions(real),
            engine_conditions=_conditions(result.status),
        )
        comparison.differences = _differences(comparison)
        out.append(comparison)
    return out


def _bursts(spec: FidelitySpec, run: ClusterRun) -> list[list[Served]]:
    # A burst just before the HPA was deleted may have no status written yet.
    served = [s for s in run.served if s.t_s < run.stopped_s - 0.5]
    return group_syncs(served, spec.controller.sync_period)


def timing(spec: FidelitySpec, run: ClusterRun) -> list[TimingCheck]:
    """The first sync after the HPA's creation and after each spec change, real against the
    engine's version model."""
    config = controller_config(spec.controller)
    syncs = [burst[0].t_s for burst in _bursts(spec, run)]
    return check_timing(config, started_s=run.started_s, updated_s=run.updated_s, syncs_s=syncs)


def _scale(recording: Recording, t_s: float) -> tuple[int, int]:
    deployments = list(recording.state_at("deployment", t_s).values())
    if not deployments:
        return 0, 0
    body = deployments[0]
    return int(body["spec"].get("replicas", 1)), int(body.get("status", {}).get("replicas", 0))


def _real_status(recording: Recording, t_s: float) -> dict[str, Any]:
    hpas = list(recording.state_at("hpa", t_s).values())
    return dict(hpas[0].get("status") or {}) if hpas else {}


def _differences(sync: SyncComparison) -> list[str]:
    out = []
    if sync.real_desired != sync.engine_desired:
        out.append(f"desiredReplicas real {sync.real_desired} engine {sync.engine_desired}")
    for kind in CONDITIONS:
        real, engine = sync.real_conditions.get(kind), sync.engine_conditions.get(kind)
        if real != engine:
            out.append(f"{kind} real {real} engine {engine}")
    return out

"""Syncs per second of the embedded HPA engine: one HPA with 3 metrics and 100 pods.

One sync is the controller's full reconcile: pod classification, a proposal per metric (CPU
utilization, a Pods metric, an External metric), stabilization, policies and the status. The
machine is shared and noisy, so the figure is also given as a ratio against a trivial Python
loop measured in the same run.

Run: .venv/bin/python benchmarks/hpa_engine.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import time

from hpalab.autoscaling.hpa import (
    Container,
    ContainerUsage,
    ControllerConfig,
    HPAController,
    MetricsSnapshot,
    Pod,
    PodResourceMetrics,
)

PODS = 100
SPEC = {
    "minReplicas": 1,
    "maxReplicas": 200,
    "metrics": [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 60},
            },
        },
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "http_requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "10"},
            },
        },
        {
            "type": "External",
            "external": {
                "metric": {"name": "queue_depth"},
                "target": {"type": "AverageValue", "averageValue": "30"},
            },
        },
    ],
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
}


NAMES = [f"app-{i}" for i in range(PODS)]
# Pods persist between syncs (as in a cluster); only the metric values change.
PODS_LIST = [
    Pod(
        n, start_s=-3600.0, ready_transition_s=-3500.0, containers=(Container("app", {"cpu": 500}),)
    )
    for n in NAMES
]


def _snapshot(step: int, *, full: bool) -> MetricsSnapshot:
    """Metrics of one sync; ``full`` gives CPU as metrics.k8s.io items, else as per-pod usage."""
    wobble = step % 7
    cpu = {n: 280 + (i + wobble) % 40 for i, n in enumerate(NAMES)}
    rps = {n: 9000 + 37 * ((i + wobble) % 50) for i, n in enumerate(NAMES)}
    snapshot = MetricsSnapshot(
        pods={"http_requests_per_second": rps}, external={"queue_depth": [2_900_000]}
    )
    if full:
        snapshot.resource = [
            PodResourceMetrics(n, 0.0, 60.0, (ContainerUsage("app", {"cpu": v}),))
            for n, v in cpu.items()
        ]
    else:
        snapshot.resource_usage = {"cpu": cpu}
    return snapshot


def _measure(seconds: float, *, full: bool) -> tuple[float, int]:
    controller = HPAController(SPEC, ControllerConfig())
    snapshots = [_snapshot(step, full=full) for step in range(7)]
    syncs = 0
    now = 0.0
    start = time.perf_counter()
    end = start + seconds
    desired = 0
    while time.perf_counter() < end:
        for snapshot in snapshots:
            result = controller.sync(now, spec_replicas=PODS, pods=PODS_LIST, metrics=snapshot)
            desired = result.desired_replicas
            now += 15.0
            syncs += 1
    return syncs / (time.perf_counter() - start), desired


def _baseline(seconds: float) -> float:
    """Iterations per second of a trivial loop (sum over 100 ints), as a machine-speed ruler."""
    values = list(range(PODS))
    count = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            sum(values)
        count += 100
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per part")
    args = parser.parse_args()
    rate, desired = _measure(args.seconds, full=False)
    rate_full, _ = _measure(args.seconds, full=True)
    base = _baseline(args.seconds)
    print(f"HPA engine: {rate:,.0f} syncs/s (3 metrics x {PODS} pods, CPU as per-pod usage)")
    print(f"HPA engine: {rate_full:,.0f} syncs/s (same, CPU as metrics.k8s.io PodMetrics items)")
    print(f"baseline: {base:,.0f} sum(100 ints)/s in the same run")
    print(f"ratios to baseline: {rate / base:.4f} and {rate_full / base:.4f}")
    print(f"last decision: desired {desired} replicas")
    print("target: >= 20,000 syncs/s" + (" (met)" if rate >= 20_000 else " (NOT met)"))


if __name__ == "__main__":
    main()

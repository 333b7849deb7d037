"""The replay of an HPA edited while it runs (``hpaUpdates``): the engine takes the new spec
from the first sync after the edit, and each sync's real decision is read before the edit."""

from __future__ import annotations

from pathlib import Path

from hpalab.fidelity.backend import Served
from hpalab.fidelity.recording import Change, Recording
from hpalab.fidelity.replay import replay, timing
from hpalab.fidelity.running import ClusterRun
from hpalab.specs.fidelity import load_scenario

SPEC = load_scenario(Path(__file__).parents[2] / "fidelity" / "hpa-spec-change.yaml").spec
T0 = 1_000_000.0


def _pod(name: str) -> dict:
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    return {
        "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": [{"name": "idle"}]},
        "status": {"phase": "Running", "startTime": "2026-01-01T00:00:00Z", "conditions": [ready]},
    }


def _served(t_s: float, pods: int) -> Served:
    values = {f"p{i}": "10" for i in range(pods)}
    return Served(t_s, "pods", "requests_per_second", "*", "app=fid", 200, values=values)


def _deployment(replicas: int) -> dict:
    return {"spec": {"replicas": replicas}, "status": {"replicas": replicas}}


def _run() -> ClusterRun:
    """Syncs at 0, 6, 12 (2 pods, target 10: hold), the edit to target 5 at 15 synced at once
    (4), and a periodic sync at 18."""
    recording = Recording()
    changes = [Change(T0 - 5, "pod", f"p{i}", _pod(f"p{i}")) for i in range(2)]
    changes.append(Change(T0 - 5, "deployment", "fid", _deployment(2)))
    changes.append(Change(T0 + 0.2, "hpa", "fid", {"status": {"desiredReplicas": 2}}))
    changes.append(Change(T0 + 15.2, "hpa", "fid", {"status": {"desiredReplicas": 4}}))
    changes.append(Change(T0 + 15.3, "deployment", "fid", _deployment(4)))
    changes += [Change(T0 + 15.3, "pod", f"p{i}", _pod(f"p{i}")) for i in (2, 3)]
    changes.append(Change(T0 + 18.2, "hpa", "fid", {"status": {"desiredReplicas": 8}}))
    recording.changes = changes
    served = [_served(T0 + t, 2) for t in (0.1, 6.1, 12.1, 15.1)] + [_served(T0 + 18.1, 4)]
    # the scenario's second edit (27 s) comes after this run's end
    return ClusterRun(T0, served, recording, T0 + 21.0, [T0 + 15.0, T0 + 27.0])


def test_the_edit_reaches_the_engine_before_the_sync_after_it() -> None:
    syncs = replay(SPEC, _run())
    assert [(s.real_desired, s.engine_desired) for s in syncs] == [
        (2, 2),
        (2, 2),
        (2, 2),
        (4, 4),
        (8, 8),
    ]


def test_the_sync_at_once_after_the_edit_agrees_with_1_37() -> None:
    checks = timing(SPEC, _run())
    assert [(c.event, round(c.real_s or -1, 1), c.difference) for c in checks[:2]] == [
        ("created", 0.1, ""),
        ("changed", 0.1, ""),
    ]

"""Comparisons of the real KEDA with the KEDA engine: pure functions over what was read.

- the HPA: KEDA's, as the API server stores it, against the engine's after the same API server
  defaulted it (a dry-run create), field by field;
- External metric values: the value KEDA's metrics apiserver served against the engine's
  quantity of the Prometheus answer to the same query;
- activation and deactivation: the times the real operator scaled the target from and to zero
  against the engine's operator loop run on the same Prometheus, within one polling interval.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.keda.activation import ScaledObjectState, TriggerState, poll_step

Obj = dict[str, Any]


@dataclass
class ObjectComparison:
    """Everything compared for one ScaledObject."""

    name: str
    hpa_fields: int = 0
    """How many HPA fields were compared."""
    differences: list[str] = field(default_factory=list)
    values: list[tuple[str, str, str]] = field(default_factory=list)
    """(metric, real, engine) for every External metric value read."""
    transitions: list[tuple[str, float, float | None]] = field(default_factory=list)
    """(kind, real seconds after creation, engine seconds after creation or ``None``)."""

    @property
    def disagreements(self) -> int:
        return len(self.differences)


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"spec.metrics[0].type": "External", ...}``: every scalar of ``value`` by its path."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(leaves(item, f"{prefix}[{index}]"))
        return out or {prefix: []}
    return {prefix: value}


def comparable_hpa(hpa: Obj) -> Obj:
    """The parts of an HPA the ScaledObject decides: name, labels, annotations, spec."""
    metadata = hpa.get("metadata") or {}
    return {
        "metadata": {
            "name": metadata.get("name"),
            "labels": metadata.get("labels") or {},
            "annotations": {
                k: v
                for k, v in (metadata.get("annotations") or {}).items()
                if not k.startswith("kubectl.kubernetes.io/")
            },
        },
        "spec": hpa.get("spec") or {},
    }


def compare_hpa(real: Obj, engine: Obj, result: ObjectComparison) -> None:
    """Field by field; each differing field is one disagreement."""
    have, want = leaves(comparable_hpa(real)), leaves(comparable_hpa(engine))
    result.hpa_fields += len(set(have) | set(want))
    for path in sorted(set(have) | set(want)):
        if have.get(path, "<absent>") != want.get(path, "<absent>"):
            result.differences.append(
                f"hpa {path}: real {have.get(path, '<absent>')!r}, "
                f"engine {want.get(path, '<absent>')!r}"
            )


def compare_value(metric: str, real: str, engine: str, result: ObjectComparison) -> None:
    result.values.append((metric, real, engine))
    if real != engine:
        result.differences.append(f"external metric {metric}: real {real}, engine {engine}")


@dataclass(frozen=True, slots=True)
class Poll:
    """One engine poll: seconds after the ScaledObject's creation and each trigger's value."""

    t_s: float
    values: tuple[float | None, ...]
    """``None``: the read failed."""


def engine_transitions(
    spec: Obj,
    polls: list[Poll],
    *,
    activation_thresholds: list[float],
    replicas: int,
) -> list[tuple[str, float]]:
    """``("activate"|"deactivate", t_s)`` of the engine's operator loop over ``polls``."""
    so = ScaledObjectState.from_spec(spec)
    last_active: float | None = None
    out: list[tuple[str, float]] = []
    for poll in polls:
        triggers = [
            TriggerState(value=value, activation_threshold=threshold, error=value is None)
            for value, threshold in zip(poll.values, activation_thresholds, strict=True)
        ]
        active = any(t.value is not None and t.value > t.activation_threshold for t in triggers)
        error = any(t.error for t in triggers)
        step = poll_step(
            so,
            is_active=active,
            is_error=error,
            current_replicas=replicas,
            last_active_age_s=None if last_active is None else poll.t_s - last_active,
            creation_age_s=poll.t_s,
        )
        if step.last_active_updated:
            last_active = poll.t_s
        if step.action in ("activate", "deactivate"):
            out.append((step.action, poll.t_s))
        replicas = step.replicas_after
    return out


def real_transitions(samples: list[tuple[float, int]]) -> list[tuple[str, float]]:
    """From ``(t_s, spec.replicas)`` samples: when the target went from 0 up, and down to 0."""
    out: list[tuple[str, float]] = []
    for (_, before), (t, after) in itertools.pairwise(samples):
        if before == 0 and after > 0:
            out.append(("activate", t))
        elif before > 0 and after == 0:
            out.append(("deactivate", t))
    return out


def compare_transitions(
    real: list[tuple[str, float]],
    engine: list[tuple[str, float]],
    *,
    polling_interval_s: float,
    result: ObjectComparison,
) -> None:
    """Each real transition must match the engine's of the same kind, in order, within one
    polling interval (the real loop's phase is unknown to the engine); and none missing."""
    for index in range(max(len(real), len(engine))):
        have = real[index] if index < len(real) else None
        want = engine[index] if index < len(engine) else None
        if have is not None:
            result.transitions.append((have[0], have[1], want[1] if want else None))
        if have is None or want is None or have[0] != want[0]:
            result.differences.append(f"transition {index}: real {have}, engine {want}")
        elif abs(have[1] - want[1]) > polling_interval_s:
            result.differences.append(
                f"{have[0]} at {have[1]:.1f} s, engine {want[1]:.1f} s: more than "
                f"{polling_interval_s:g} s apart"
            )

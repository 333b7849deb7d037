"""Kubernetes minor versions with known HPA behaviour, and the HPA feature gates of each.

Stages and defaults follow the upstream feature-gate table; a GA gate is locked on, as
kube-controller-manager locks it. What each version switches in the engine:
``hpalab.autoscaling.hpa.versions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35", "1.36", "1.37")
"""Minor versions with known HPA behaviour, oldest first."""
NEWEST_VERSION = KUBERNETES_VERSIONS[-1]


@dataclass(slots=True, frozen=True)
class GateStage:
    """A feature gate in one version: its maturity and whether it is on by default."""

    stage: str
    default: bool

    @property
    def locked(self) -> bool:
        return self.stage == "GA"

    @property
    def exists(self) -> bool:
        return self.stage != "absent"


_ABSENT = GateStage("absent", False)
_ALPHA = GateStage("alpha", False)
_BETA = GateStage("beta", True)
_GA = GateStage("GA", True)

GATES: dict[str, dict[str, GateStage]] = {
    # KEP-4951: behavior.scaleUp/scaleDown.tolerance
    "HPAConfigurableTolerance": {
        "1.33": _ALPHA,
        "1.34": _ALPHA,
        "1.35": _BETA,
        "1.36": _BETA,
        "1.37": _GA,
    },
    # KEP-2021: minReplicas 0 (API validation since 1.16); the ScaledToZero condition and the
    # rule that only the HPA's own scale to zero is undone come with 1.36.
    "HPAScaleToZero": {
        "1.33": _ALPHA,
        "1.34": _ALPHA,
        "1.35": _ALPHA,
        "1.36": _ALPHA,
        "1.37": _BETA,
    },
    # kubernetes#138228: metadata.generation and status.observedGeneration on HPAs; with it a
    # spec change (a new generation) is reconciled at once (kubernetes#138294)
    "HPAGeneration": {
        "1.33": _ABSENT,
        "1.34": _ABSENT,
        "1.35": _ABSENT,
        "1.36": _ABSENT,
        "1.37": _BETA,
    },
    # KEP-2837: pod-level spec.resources; the HPA reads it for Resource metrics from 1.34
    "PodLevelResources": {
        "1.33": _ALPHA,
        "1.34": _BETA,
        "1.35": _BETA,
        "1.36": _BETA,
        "1.37": _BETA,
    },
}
"""Feature gates of the HPA controller by version."""


def gate_problems(version: str, gates: Mapping[str, bool]) -> list[str]:
    """Why a version and gate settings are invalid (empty list: valid)."""
    if version not in KUBERNETES_VERSIONS:
        return [f"unknown Kubernetes version {version!r}; known: {', '.join(KUBERNETES_VERSIONS)}"]
    problems = []
    for name, enabled in gates.items():
        stages = GATES.get(name)
        if stages is None:
            problems.append(f"unknown HPA feature gate {name!r}; known: {', '.join(GATES)}")
        elif stages[version].locked and not enabled:
            problems.append(f"{name} is GA in {version} and locked on")
        elif not stages[version].exists and enabled:
            problems.append(f"{name} does not exist in {version}")
    return problems


def gate_enabled(version: str, gates: Mapping[str, bool], name: str) -> bool:
    """Whether feature gate ``name`` is on in ``version`` with ``gates`` set against the
    version's defaults."""
    return gates.get(name, GATES[name][version].default)


def scale_to_zero(version: str, gates: Mapping[str, bool]) -> bool:
    """Whether the API server accepts minReplicas 0 (HPAScaleToZero)."""
    return gate_enabled(version, gates, "HPAScaleToZero")

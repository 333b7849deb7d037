"""The HPA behaviour a Kubernetes version selects in the engine.

A version and its feature gates (table: ``hpalab.specs.kubeversions``) map to the engine's
switches in :class:`ControllerConfig` (``configurable_tolerance``, ``pod_level_resources``,
``scaled_to_zero_condition``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from hpalab.autoscaling.hpa.model import ControllerConfig
from hpalab.specs.kubeversions import GATES, KUBERNETES_VERSIONS, NEWEST_VERSION, gate_problems

SCALED_TO_ZERO_SINCE = "1.36"
POD_LEVEL_RESOURCES_SINCE = "1.34"


@dataclass(slots=True, frozen=True)
class VersionFeatures:
    """What a version (with its feature gates) switches on in the engine."""

    version: str
    gates: dict[str, bool]
    configurable_tolerance: bool
    """behavior.scaleUp/scaleDown.tolerance is honoured."""
    scale_to_zero: bool
    """minReplicas 0 is accepted (the API server's side of HPAScaleToZero)."""
    scaled_to_zero_condition: bool
    """The controller sets ScaledToZero and scales up from zero only what it scaled down."""
    pod_level_resources: bool
    """Resource metrics use the pod-level request where a pod sets one."""

    def config_flags(self) -> dict[str, bool]:
        """The :class:`ControllerConfig` keyword arguments of these features."""
        return {
            "configurable_tolerance": self.configurable_tolerance,
            "scaled_to_zero_condition": self.scaled_to_zero_condition,
            "pod_level_resources": self.pod_level_resources,
        }


def features(
    version: str = NEWEST_VERSION, gates: Mapping[str, bool] | None = None
) -> VersionFeatures:
    """The engine features of ``version`` with ``gates`` overriding the defaults.

    Raises ValueError for an unknown version or gate, or a locked gate turned off.
    """
    settings = dict(gates or {})
    problems = gate_problems(version, settings)
    if problems:
        raise ValueError("; ".join(problems))
    enabled = {name: settings.get(name, stages[version].default) for name, stages in GATES.items()}
    scale_to_zero = enabled["HPAScaleToZero"]
    return VersionFeatures(
        version=version,
        gates=enabled,
        configurable_tolerance=enabled["HPAConfigurableTolerance"],
        scale_to_zero=scale_to_zero,
        scaled_to_zero_condition=scale_to_zero and _at_least(version, SCALED_TO_ZERO_SINCE),
        pod_level_resources=enabled["PodLevelResources"]
        and _at_least(version, POD_LEVEL_RESOURCES_SINCE),
    )


def differences(old: VersionFeatures, new: VersionFeatures) -> list[str]:
    """One line per behaviour that differs between two feature sets (empty: none)."""
    lines = []
    for name in GATES:
        before = f"{GATES[name][old.version].stage} {_on(old.gates[name])}"
        after = f"{GATES[name][new.version].stage} {_on(new.gates[name])}"
        if before != after:
            lines.append(
                f"feature gate {name}: {before} in {old.version}, {after} in {new.version}"
            )
    if old.configurable_tolerance != new.configurable_tolerance:
        lines.append(
            "behavior.scaleUp/scaleDown.tolerance: "
            f"{_honoured(old.configurable_tolerance)} in {old.version}, "
            f"{_honoured(new.configurable_tolerance)} in {new.version}"
        )
    if old.scaled_to_zero_condition != new.scaled_to_zero_condition:
        lines.append(
            "ScaledToZero condition (scale up from zero only after the HPA scaled to zero): "
            f"{_on(old.scaled_to_zero_condition)} in {old.version}, "
            f"{_on(new.scaled_to_zero_condition)} in {new.version}"
        )
    if old.pod_level_resources != new.pod_level_resources:
        lines.append(
            "pod-level spec.resources.requests for Resource metrics: "
            f"{_on(old.pod_level_resources)} in {old.version}, "
            f"{_on(new.pod_level_resources)} in {new.version}"
        )
    return lines


def _at_least(version: str, since: str) -> bool:
    return KUBERNETES_VERSIONS.index(version) >= KUBERNETES_VERSIONS.index(since)


def _on(value: bool) -> str:
    return "on" if value else "off"


def _honoured(value: bool) -> str:
    return "honoured" if value else "ignored"


class ControllerFlags(Protocol):
    """An experiment's ``spec.controller`` (``hpalab.specs.experiment.ControllerFlags``)."""

    sync_period: float
    tolerance: float
    downscale_stabilization: float
    initial_readiness_delay: float
    cpu_initialization_period: float
    kubernetes_version: str
    feature_gates: dict[str, bool]


def controller_config(flags: ControllerFlags) -> ControllerConfig:
    """The engine configuration of an experiment's ``spec.controller`` (version included)."""
    return ControllerConfig(
        tolerance=flags.tolerance,
        cpu_initialization_period_s=flags.cpu_initialization_period,
        initial_readiness_delay_s=flags.initial_readiness_delay,
        downscale_stabilization_window_s=flags.downscale_stabilization,
        sync_period_s=flags.sync_period,
        **features(flags.kubernetes_version, flags.feature_gates).config_flags(),
    )

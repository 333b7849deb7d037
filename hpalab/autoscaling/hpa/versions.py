"""The HPA behaviour a Kubernetes version selects in the engine.

A version and its feature gates (table: ``hpalab.specs.kubeversions``) map to the engine's
switches in :class:`ControllerConfig` (``configurable_tolerance``, ``pod_level_resources``,
``scaled_to_zero_condition``, ``reconcile_on_create``, ``reconcile_on_spec_change``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from hpalab.autoscaling.hpa.model import ControllerConfig
from hpalab.specs.kubeversions import (
    GATES,
    KUBERNETES_VERSIONS,
    NEWEST_VERSION,
    gate_enabled,
    gate_problems,
)

SCALED_TO_ZERO_SINCE = "1.36"
POD_LEVEL_RESOURCES_SINCE = "1.34"
RECONCILE_ON_CREATE_SINCE = "1.37"
"""kubernetes#138294: a new HPA is queued with ``Add`` instead of ``AddRateLimited``."""


@dataclass(slots=True, frozen=True)
class VersionFeatures:
    """What a version (with its feature gates) switches on in the engine."""

    version: str
    gates: dict[str, bool]
    """The version's HPA feature gates (those that exist in it), on or off."""
    configurable_tolerance: bool
    """behavior.scaleUp/scaleDown.tolerance is honoured."""
    scale_to_zero: bool
    """minReplicas 0 is accepted (the API server's side of HPAScaleToZero)."""
    scaled_to_zero_condition: bool
    """The controller sets ScaledToZero and scales up from zero only what it scaled down."""
    pod_level_resources: bool
    """Resource metrics use the pod-level request where a pod sets one."""
    reconcile_on_create: bool
    """A new HPA is reconciled at once, not one sync period after it was created."""
    reconcile_on_spec_change: bool
    """A spec change (new metadata.generation, HPAGeneration) is reconciled at once."""

    def config_flags(self) -> dict[str, bool]:
        """The :class:`ControllerConfig` keyword arguments of these features."""
        return {
            "configurable_tolerance": self.configurable_tolerance,
            "scaled_to_zero_condition": self.scaled_to_zero_condition,
            "pod_level_resources": self.pod_level_resources,
            "reconcile_on_create": self.reconcile_on_create,
            "reconcile_on_spec_change": self.reconcile_on_spec_change,
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
    enabled = {
        name: gate_enabled(version, settings, name)
        for name, stages in GATES.items()
        if stages[version].exists
    }
    scale_to_zero = enabled["HPAScaleToZero"]
    return VersionFeatures(
        version=version,
        gates=enabled,
        configurable_tolerance=enabled["HPAConfigurableTolerance"],
        scale_to_zero=scale_to_zero,
        scaled_to_zero_condition=scale_to_zero and _at_least(version, SCALED_TO_ZERO_SINCE),
        pod_level_resources=enabled["PodLevelResources"]
        and _at_least(version, POD_LEVEL_RESOURCES_SINCE),
        reconcile_on_create=_at_least(version, RECONCILE_ON_CREATE_SINCE),
        reconcile_on_spec_change=enabled.get("HPAGeneration", False),
    )


def differences(old: VersionFeatures, new: VersionFeatures) -> list[str]:
    """One line per behaviour that differs between two feature sets (empty: none)."""
    lines = []
    for name in GATES:
        before = _gate_state(name, old)
        after = _gate_state(name, new)
        if before != after:
            lines.append(
                f"feature gate {name}: {before} in {old.version}, {after} in {new.version}"
            )
    for label, attribute, words in _BEHAVIOURS:
        before, after = getattr(old, attribute), getattr(new, attribute)
        if before != after:
            lines.append(
                f"{label}: {words(before)} in {old.version}, {words(after)} in {new.version}"
            )
    return lines


def _when(immediate: bool) -> str:
    return "at once" if immediate else "at the next sync period"


def _gate_state(name: str, features: VersionFeatures) -> str:
    stage = GATES[name][features.version]
    return f"{stage.stage} {_on(features.gates[name])}" if stage.exists else stage.stage


def _at_least(version: str, since: str) -> bool:
    return KUBERNETES_VERSIONS.index(version) >= KUBERNETES_VERSIONS.index(since)


def _on(value: bool) -> str:
    return "on" if value else "off"


def _honoured(value: bool) -> str:
    return "honoured" if value else "ignored"


_BEHAVIOURS: tuple[tuple[str, str, Callable[[bool], str]], ...] = (
    ("behavior.scaleUp/scaleDown.tolerance", "configurable_tolerance", _honoured),
    (
        "ScaledToZero condition (scale up from zero only after the HPA scaled to zero)",
        "scaled_to_zero_condition",
        _on,
    ),
    ("pod-level spec.resources.requests for Resource metrics", "pod_level_resources", _on),
    ("first sync of a new HPA", "reconcile_on_create", _when),
    ("sync after a spec change", "reconcile_on_spec_change", _when),
)
"""The behaviours ``differences`` names: label, :class:`VersionFeatures` field, its words."""


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

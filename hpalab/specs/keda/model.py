"""``spec.keda``: a KEDA ``ScaledObject`` spec (keda.sh/v1alpha1, KEDA v2.20), pasted verbatim.

Field names, nesting and defaults are KEDA's own. The schema here is what the CRD's OpenAPI
schema enforces; KEDA's admission webhook and controller rules, which need several fields at
once, are in :mod:`hpalab.specs.keda.admission`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpalab.specs.base import SpecModel
from hpalab.specs.hpa import HPABehavior

TriggerType = Literal["prometheus", "cpu", "memory"]
FallbackBehavior = Literal[
    "static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"
]


class ScaleTarget(SpecModel):
    """``scaleTargetRef``: on hpalab's platforms it always names the sample app."""

    name: str = Field("", description="workload name; hpalab points it at the sample app")
    api_version: str | None = Field(None, description="default apps/v1")
    kind: str | None = Field(None, description="default Deployment")
    env_source_container_name: str | None = Field(
        None, description="container whose environment triggers may read (unused here)"
    )


class ScaleTrigger(SpecModel):
    """One entry of ``triggers``."""

    type: TriggerType = Field(
        description="scaler: prometheus (External metric), cpu or memory (Resource metric)"
    )
    name: str | None = Field(
        None, description="trigger name; needed to refer to it from scalingModifiers.formula"
    )
    metric_type: Literal["AverageValue", "Value", "Utilization"] | None = Field(
        None,
        description="HPA target type: AverageValue (default; the HPA divides the value by the "
        "replicas), Value, or Utilization (cpu/memory only)",
    )
    use_cached_metrics: bool = Field(
        False,
        description="HPA requests read the value of the last poll instead of querying "
        "(not allowed for cpu/memory)",
    )
    metadata: dict[str, str] = Field(
        description="scaler settings, strings as in the CRD: prometheus serverAddress, query, "
        "threshold, activationThreshold, ignoreNullValues...; cpu/memory value, containerName"
    )


class Fallback(SpecModel):
    """``fallback``: the replica count to steer to while a trigger keeps failing."""

    failure_threshold: int = Field(
        description="failed reads (polls and HPA requests) before the fallback applies"
    )
    replicas: int = Field(description="replicas to steer to once the threshold is passed")
    behavior: FallbackBehavior = Field(
        "static",
        description="static (fallback.replicas), currentReplicas, currentReplicasIfHigher or "
        "currentReplicasIfLower",
    )


class HorizontalPodAutoscalerConfig(SpecModel):
    """``advanced.horizontalPodAutoscalerConfig``: what KEDA copies into the HPA."""

    name: str | None = Field(None, description="HPA name; default keda-hpa-<ScaledObject name>")
    behavior: HPABehavior | None = Field(
        None, description="autoscaling/v2 behavior, copied into the HPA unchanged"
    )


class ScalingModifiers(SpecModel):
    """``advanced.scalingModifiers``: one composite metric computed from named triggers."""

    formula: str | None = Field(None, description="expression over trigger names")
    target: str | None = Field(None, description="target of the composite metric (a number)")
    activation_target: str | None = Field(
        None, description="the composite metric must exceed this to activate (default 0)"
    )
    metric_type: Literal["AverageValue", "Value"] | None = Field(
        None, description="target type of the composite metric (default AverageValue)"
    )


class Advanced(SpecModel):
    """``advanced``."""

    horizontal_pod_autoscaler_config: HorizontalPodAutoscalerConfig | None = Field(
        None, description="HPA name and behavior"
    )
    scaling_modifiers: ScalingModifiers | None = Field(
        None, description="composite metric from several triggers"
    )
    restore_to_original_replica_count: bool = Field(
        False, description="on deletion, restore the replicas the target had before KEDA"
    )


class ScaledObjectSpec(SpecModel):
    """A KEDA ScaledObject ``spec``; the HPA KEDA's operator would generate is derived from it."""

    scale_target_ref: ScaleTarget | None = Field(
        None, description="the workload; hpalab points it at the sample app"
    )
    polling_interval: int = Field(
        30,
        ge=1,
        description="seconds between KEDA's polls: activation (0 -> 1) is decided at a poll",
    )
    cooldown_period: int = Field(
        300, ge=0, description="seconds after the last active poll before scaling to 0 or idle"
    )
    initial_cooldown_period: int = Field(
        0, ge=0, description="like cooldownPeriod, counted from creation, before any activity"
    )
    idle_replica_count: int | None = Field(
        None, ge=0, description="replicas while inactive (only 0 works reliably in KEDA)"
    )
    min_replica_count: int | None = Field(
        None, ge=0, description="lowest count (default 0: KEDA scales to zero when inactive)"
    )
    max_replica_count: int | None = Field(None, ge=0, description="highest count (default 100)")
    fallback: Fallback | None = Field(None, description="replicas to use while a trigger fails")
    advanced: Advanced | None = Field(None, description="HPA config and scaling modifiers")
    triggers: list[ScaleTrigger] = Field(description="the scalers")

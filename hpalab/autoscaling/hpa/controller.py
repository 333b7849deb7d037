"""The stateful HPA controller: one ``sync`` = one upstream ``reconcileAutoscaler`` of one HPA.

The controller keeps what kube-controller-manager keeps per HPA between syncs: the
recommendation history, the scale-up and scale-down events, the status conditions and the last
scale time. It never reads a clock: every sync gets ``now_s``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.hpa.behavior import (
    Limited,
    convert_with_behavior_rate,
    legacy_convert,
    legacy_stabilize,
    stabilize_with_behavior,
    store_scale_event,
)
from hpalab.autoscaling.hpa.evaluate import (
    EvalContext,
    MetricOutcome,
    MetricsSnapshot,
    describe,
    evaluate_metric,
)
from hpalab.autoscaling.hpa.model import (
    ControllerConfig,
    HPASpec,
    Pod,
    Recommendation,
    ScaleEvent,
    Tolerances,
)
from hpalab.autoscaling.hpa.pods import PodFactsCache, PodIndex
from hpalab.autoscaling.hpa.spec import parse_hpa_spec


@dataclass(slots=True)
class Condition:
    """One status condition; ``last_transition_s`` changes only when ``status`` changes."""

    type: str
    status: str
    reason: str
    message: str
    last_transition_s: float


@dataclass(slots=True)
class Normalization:
    """How the metric proposal became the desired count (for explanations)."""

    proposal: int
    stabilized: int
    desired: int
    stabilization_reason: str
    limit_reason: str
    limit_message: str


@dataclass(slots=True)
class SyncResult:
    """Outcome of one sync.

    ``desired_replicas`` is what the controller writes to the scale subresource (equal to the
    current replicas when it does not rescale); ``status`` is the HPA status as
    ``kubectl get hpa -o yaml`` shows it (times are seconds on the caller's clock); ``events``
    are the Kubernetes events the sync emitted.
    """

    desired_replicas: int
    rescale: bool
    status: dict[str, Any]
    events: list[dict[str, str]]
    outcomes: list[MetricOutcome] = field(default_factory=list)
    normalization: Normalization | None = None
    metric_proposal: int | None = None
    rescale_reason: str = ""
    error: str = ""


class HPAController:
    """Decides like the Kubernetes autoscaling/v2 HPA controller for one HPA.

    ``spec`` is a HorizontalPodAutoscalerSpec dict in Kubernetes camelCase (or an already
    parsed HPASpec). Construct once and call :meth:`sync` every sync period.
    """

    __slots__ = (
        "_conditions",
        "_descriptions",
        "_down_events",
        "_last_desired",
        "_last_scale_s",
        "_pod_facts",
        "_recommendations",
        "_up_events",
        "config",
        "spec",
        "tolerances",
    )

    def __init__(
        self, spec: Mapping[str, Any] | HPASpec, config: ControllerConfig | None = None
    ) -> None:
        self.spec = spec if isinstance(spec, HPASpec) else parse_hpa_spec(spec)
        self.config = config or ControllerConfig()
        behavior = self.spec.behavior if self.config.configurable_tolerance else None
        up_tol = behavior.scale_up.tolerance if behavior else None
        down_tol = behavior.scale_down.tolerance if behavior else None
        self.tolerances = Tolerances(
            scale_down=self.config.tolerance if down_tol is None else down_tol,
            scale_up=self.config.tolerance if up_tol is None else up_tol,
        )
        self._recommendations: list[Recommendation] | None = None
        self._descriptions = [describe(m) for m in self.spec.metrics]
        self._up_events: list[ScaleEvent] = []
        self._down_events: list[ScaleEvent] = []
        self._conditions: dict[str, Condition] = {}
        self._last_scale_s: float | None = None
        self._last_desired: int | None = None
        self._pod_facts = PodFactsCache()

    # -- history access (for tests, conformance and explanations) --------------------------
    @property
    def recommendations(self) -> list[Recommendation] | None:
        return self._recommendations

    def seed_history(
        self,
        *,
        recommendations: list[Recommendation] | None,
        up_events: list[ScaleEvent],
        down_events: list[ScaleEvent],
    ) -> None:
        """Replace the stored histories (None recommendations = no history yet)."""
        self._recommendations = recommendations
        self._up_events = up_events
        self._down_events = down_events

    def _set_condition(
        self, kind: str, status: str, reason: str, message: str, now_s: float
    ) -> None:
        existing = self._conditions.get(kind)
        if existing is None:
            self._conditions[kind] = Condition(kind, status, reason, message, now_s)
            return
        if existing.status != status:
            existing.last_transition_s = now_s
        existing.status = status
        existing.reason = reason
        existing.message = message

    def sync(
        self,
        now_s: float,
        *,
        spec_replicas: int,
        status_replicas: int | None = None,
        pods: Sequence[Pod] = (),
        metrics: MetricsSnapshot | None = None,
    ) -> SyncResult:
        """Reconcile once at ``now_s`` (seconds).

        ``spec_replicas`` is scale.spec.replicas (the controller's current replicas),
        ``status_replicas`` scale.status.replicas (defaults to ``spec_replicas``); ``pods`` are
        the pods the target's selector matches; ``metrics`` what the metrics APIs return.
        """
        snapshot = metrics if metrics is not None else MetricsSnapshot()
        status_reps = spec_replicas if status_replicas is None else status_replicas
        events: list[dict[str, str]] = []
        self._set_condition(
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
            now_s,
        )
        current = spec_replicas
        if self._recommendations is None:
            self._recommendations = [Recommendation(current, now_s)]
        spec = self.spec
        min_replicas = spec.min_replicas
        result = SyncResult(current, False, {}, events)
        rescale = True
        desired = 0
        if current == 0 and min_replicas != 0:
            rescale = False
            self._set_condition(
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now_s,
            )
        elif current > spec.max_replicas:
            result.rescale_reason = "Current number of replicas above Spec.MaxReplicas"
            desired = spec.max_replicas
        elif current < min_replicas:
            result.rescale_reason = "Current number of replicas below Spec.MinReplicas"
            desired = min_replicas
        else:
            ctx = EvalContext(
                spec_replicas=current,
                status_replicas=status_reps,
                index=PodIndex(
                    self._pod_facts.facts(pods),
                    now_s,
                    self.config.cpu_initialization_period_s,
                    self.config.initial_readiness_delay_s,
                ),
                snapshot=snapshot,
                tolerances=self.tolerances,
                namespace=spec.namespace,
            )
            proposal = self._compute_metrics(ctx, result, now_s)
            if proposal is None:
                # Upstream keeps the previous status.desiredReplicas when metrics fail.
                previous = current if self._last_desired is None else self._last_desired
                self._finish(result, current, previous, False, now_s)
                result.desired_replicas = current
                return result
            desired = self._normalize(result, current, proposal, now_s)
            rescale = desired != current
        if rescale:
            self._record_rescale(result, current, desired, now_s)
        else:
            desired = current
        self._finish(result, current, desired, rescale, now_s)
        return result

    def _compute_metrics(self, ctx: EvalContext, result: SyncResult, now_s: float) -> int | None:
        outcomes = [evaluate_metric(m, ctx) for m in self.spec.metrics]
        result.outcomes = outcomes
        replicas = 0
        best = ""
        invalid = [o for o in outcomes if o.proposal is None]
        for outcome, description in zip(outcomes, self._descriptions, strict=True):
            if outcome.proposal is None:
                result.events.append(_event("Warning", outcome.reason, _condition_error(outcome)))
                continue
            outcome.description = description
            if replicas == 0 or outcome.proposal.replicas > replicas:
                replicas = outcome.proposal.replicas
                best = description
        if invalid:
            result.error = (
                f"invalid metrics ({len(invalid)} invalid out of {len(outcomes)}), "
                f"first error is: {invalid[0].error}"
            )
        if len(invalid) >= len(outcomes) or (invalid and replicas < ctx.spec_replicas):
            first = invalid[0]
            self._set_condition(
                "ScalingActive", "False", first.reason, first.condition_message, now_s
            )
            result.events.append(_event("Warning", "FailedComputeMetricsReplicas", result.error))
            return None
        self._set_condition(
            "ScalingActive",
            "True",
            "ValidMetricFound",
            f"the HPA was able to successfully calculate a replica count from {best}",
            now_s,
        )
        result.metric_proposal = replicas
        if replicas > ctx.spec_replicas:
            result.rescale_reason = f"{best} above target"
        elif replicas < ctx.spec_replicas:
            result.rescale_reason = "All metrics below target"
        return replicas

    def _normalize(self, result: SyncResult, current: int, proposal: int, now_s: float) -> int:
        spec = self.spec
        assert self._recommendations is not None
        behavior = spec.behavior
        if behavior is None:
            stabilized = legacy_stabilize(
                self._recommendations,
                now_s=now_s,
                desired_replicas=proposal,
                window_s=self.config.downscale_stabilization_window_s,
            )
            reason = (
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest "
                "recent recommendation",
            )
            limited = legacy_convert(
                current_replicas=current,
                desired_replicas=stabilized,
                min_replicas=spec.min_replicas,
                max_replicas=spec.max_replicas,
                scale_up_limit_factor=self.config.scale_up_limit_factor,
                scale_up_limit_minimum=self.config.scale_up_limit_minimum,
            )
        else:
            down_window = behavior.scale_down.stabilization_window_seconds
            stabilized, *reason_pair = stabilize_with_behavior(
                self._recommendations,
                now_s=now_s,
                current_replicas=current,
                desired_replicas=proposal,
                up_window_s=behavior.scale_up.stabilization_window_seconds or 0,
                down_window_s=self.config.downscale_stabilization_window_s
                if down_window is None
                else down_window,
            )
            reason = (reason_pair[0], reason_pair[1])
            limited = convert_with_behavior_rate(
                current_replicas=current,
                desired_replicas=stabilized,
                min_replicas=spec.min_replicas,
                max_replicas=spec.max_replicas,
                scale_up=behavior.scale_up,
                scale_down=behavior.scale_down,
                up_events=self._up_events,
                down_events=self._down_events,
                now_s=now_s,
            )
        return self._apply_normalization(
            result,
            proposal=proposal,
            stabilized=stabilized,
            reason=reason,
            limited=limited,
            now_s=now_s,
        )

    def _apply_normalization(
        self,
        result: SyncResult,
        *,
        proposal: int,
        stabilized: int,
        reason: tuple[str, str],
        limited: Limited,
        now_s: float,
    ) -> int:
        if stabilized != proposal:
            self._set_condition("AbleToScale", "True", reason[0], reason[1], now_s)
        else:
            self._set_condition(
                "AbleToScale",
                "True",
                "ReadyForNewScale",
                "recommended size matches current size",
                now_s,
            )
        limited_status = "False" if limited.replicas == stabilized else "True"
        self._set_condition(
            "ScalingLimited", limited_status, limited.reason, limited.message, now_s
        )
        result.normalization = Normalization(
            proposal,
            stabilized,
            limited.replicas,
            reason[0] if stabilized != proposal else "",
            limited.reason,
            limited.message,
        )
        return limited.replicas

    def _record_rescale(self, result: SyncResult, current: int, desired: int, now_s: float) -> None:
        self._set_condition(
            "AbleToScale",
            "True",
            "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}",
            now_s,
        )
        result.events.append(
            _event(
                "Normal",
                "SuccessfulRescale",
                f"New size: {desired}; reason: {result.rescale_reason}",
            )
        )
        behavior = self.spec.behavior
        if behavior is not None:
            if desired > current:
                store_scale_event(
                    self._up_events,
                    rules=behavior.scale_up,
                    replica_change=desired - current,
                    now_s=now_s,
                )
            else:
                store_scale_event(
                    self._down_events,
                    rules=behavior.scale_down,
                    replica_change=current - desired,
                    now_s=now_s,
                )
        self._last_scale_s = now_s

    def _finish(
        self, result: SyncResult, current: int, desired: int, rescale: bool, now_s: float
    ) -> None:
        result.desired_replicas = desired
        result.rescale = rescale
        self._last_desired = desired
        result.status = {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "currentMetrics": [o.status for o in result.outcomes] or None,
            "lastScaleTime": self._last_scale_s,
            "conditions": [
                {
                    "type": c.type,
                    "status": c.status,
                    "reason": c.reason,
                    "message": c.message,
                    "lastTransitionTime": c.last_transition_s,
                }
                for c in self._conditions.values()
            ],
        }

    @property
    def up_events(self) -> list[ScaleEvent]:
        return self._up_events

    @property
    def down_events(self) -> list[ScaleEvent]:
        return self._down_events


def _condition_error(outcome: MetricOutcome) -> str:
    prefix = "the HPA was unable to compute the replica count: "
    message = outcome.condition_message
    return message[len(prefix) :] if message.startswith(prefix) else message


def _event(kind: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "reason": reason, "message": message}

"""The stateful HPA controller: one ``sync`` = one upstream ``reconcileAutoscaler`` of one HPA.

The controller keeps what kube-controller-manager keeps per HPA between syncs: the
recommendation history, the scale-up and scale-down events, the status conditions and the last
scale time. It never reads a clock: every sync gets ``now_s``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpalab.autoscaling.hpa.behavior import (
    Limited,
    store_scale_event,
)
from hpalab.autoscaling.hpa.evaluate import (
    EvalContext,
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
from hpalab.autoscaling.hpa.normalizing import History, normalize_legacy, normalize_with_behavior
from hpalab.autoscaling.hpa.pods import PodFactsCache, PodIndex
from hpalab.autoscaling.hpa.spec import parse_hpa_spec
from hpalab.autoscaling.hpa.status import (
    Conditions,
    Normalization,
    SyncResult,
    condition_error,
    event,
)
from hpalab.autoscaling.hpa.zero import (
    SCALED_TO_ZERO,
    computes_at_zero,
    condition_after_rescale,
)


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
        self.config = config or ControllerConfig()
        self.update_spec(spec)
        self._recommendations: list[Recommendation] | None = None
        self._up_events: list[ScaleEvent] = []
        self._down_events: list[ScaleEvent] = []
        self._conditions = Conditions()
        self._last_scale_s: float | None = None
        self._last_desired: int | None = None
        self._pod_facts = PodFactsCache()

    def update_spec(self, spec: Mapping[str, Any] | HPASpec) -> None:
        """A new spec for the same HPA (an edit): the histories and conditions are kept, as
        upstream keys them by the HPA's name."""
        self.spec = spec if isinstance(spec, HPASpec) else parse_hpa_spec(spec)
        behavior = self.spec.behavior if self.config.configurable_tolerance else None
        up_tol = behavior.scale_up.tolerance if behavior else None
        down_tol = behavior.scale_down.tolerance if behavior else None
        default = self.config.default_tolerances()
        self.tolerances = Tolerances(
            scale_down=default.scale_down if down_tol is None else down_tol,
            scale_up=default.scale_up if up_tol is None else up_tol,
        )
        self._descriptions = [describe(m) for m in self.spec.metrics]

    def seed_history(
        self,
        *,
        recommendations: list[Recommendation] | None,
        up_events: list[ScaleEvent],
        down_events: list[ScaleEvent],
        status_desired: int | None = None,
    ) -> None:
        """Replace the stored histories (None recommendations = no history yet);
        ``status_desired`` is an existing HPA's status.desiredReplicas (None: a new HPA,
        whose status has none, which reads as 0)."""
        self._recommendations = recommendations
        self._up_events = up_events
        self._down_events = down_events
        self._last_desired = status_desired

    def seed_condition(self, kind: str, status: str, reason: str, now_s: float) -> None:
        """Give an existing HPA's status condition (e.g. ScaledToZero) before the next sync."""
        self._set_condition(kind, status, reason, "", now_s)

    def _set_condition(
        self, kind: str, status: str, reason: str, message: str, now_s: float
    ) -> None:
        self._conditions.set(kind, status, reason, message, now_s)

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
        result = SyncResult(current, False, {}, [])
        rescale = True
        desired = self._out_of_range(result, current, now_s)
        if desired is None:
            decided = self._decide_from_metrics(
                result,
                now_s,
                current=current,
                status_replicas=status_reps,
                pods=pods,
                snapshot=snapshot,
            )
            if decided is None:
                return result
            desired = decided
            if current == 0 and desired < self.spec.min_replicas and self._computes_at_zero():
                # back from the HPA's own zero after minReplicas was raised: never below it
                desired = self.spec.min_replicas
            rescale = desired != current
        elif desired < 0:
            rescale = False
        if rescale:
            self._record_rescale(result, current, desired, now_s)
        else:
            desired = current
        self._finish(result, current, desired, rescale, now_s)
        return result

    def _out_of_range(self, result: SyncResult, current: int, now_s: float) -> int | None:
        """Cases decided without metrics: -1 when scaling is disabled (zero replicas), the
        bound when the current count is outside [min, max], None otherwise."""
        if current == 0:
            if self._computes_at_zero():
                return None
            self._set_condition(
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now_s,
            )
            return -1
        if current > self.spec.max_replicas:
            result.rescale_reason = "Current number of replicas above Spec.MaxReplicas"
            return self.spec.max_replicas
        if current < self.spec.min_replicas:
            result.rescale_reason = "Current number of replicas below Spec.MinReplicas"
            return self.spec.min_replicas
        return None

    def _decide_from_metrics(
        self,
        result: SyncResult,
        now_s: float,
        *,
        current: int,
        status_replicas: int,
        pods: Sequence[Pod],
        snapshot: MetricsSnapshot,
    ) -> int | None:
        """The normalized desired count, or None (status written) when metrics block scaling."""
        ctx = EvalContext(
            spec_replicas=current,
            status_replicas=status_replicas,
            index=PodIndex(
                self._pod_facts.facts(pods),
                now_s,
                self.config.cpu_initialization_period_s,
                self.config.initial_readiness_delay_s,
                pod_level_resources=self.config.pod_level_resources,
            ),
            snapshot=snapshot,
            tolerances=self.tolerances,
            namespace=self.spec.namespace,
        )
        proposal = self._compute_metrics(ctx, result, now_s)
        if proposal is None:
            # Upstream keeps the previous status.desiredReplicas when metrics fail: 0 on the
            # first sync of a new HPA, whose status is still empty.
            previous = 0 if self._last_desired is None else self._last_desired
            self._finish(result, current, previous, False, now_s)
            result.desired_replicas = current
            return None
        return self._normalize(result, current, proposal, now_s)

    def _compute_metrics(self, ctx: EvalContext, result: SyncResult, now_s: float) -> int | None:
        outcomes = [evaluate_metric(m, ctx) for m in self.spec.metrics]
        result.outcomes = outcomes
        replicas = 0
        best = ""
        invalid = [o for o in outcomes if o.proposal is None]
        for outcome, description in zip(outcomes, self._descriptions, strict=True):
            if outcome.proposal is None:
                result.events.append(event("Warning", outcome.reason, condition_error(outcome)))
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
            result.events.append(event("Warning", "FailedComputeMetricsReplicas", result.error))
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
        """Stabilize the metric proposal, then apply the scaling limits and min/max."""
        assert self._recommendations is not None
        history = History(self._recommendations, self._up_events, self._down_events)
        normalize = normalize_legacy if self.spec.behavior is None else normalize_with_behavior
        stabilized, reason, limited = normalize(
            self.spec, self.config, history, current=current, proposal=proposal, now_s=now_s
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
            event(
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
        if self.config.scaled_to_zero_condition:
            status, reason, message = condition_after_rescale(self.spec, current, desired)
            self._set_condition(SCALED_TO_ZERO, status, reason, message, now_s)

    def _computes_at_zero(self) -> bool:
        return computes_at_zero(
            self.spec,
            condition_logic=self.config.scaled_to_zero_condition,
            scaled_to_zero=self._conditions.status_of(SCALED_TO_ZERO) == "True",
        )

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
            "conditions": self._conditions.as_status(),
        }

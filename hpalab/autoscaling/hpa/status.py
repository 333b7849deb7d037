"""What one sync produces: the HPA status conditions, the result, and the events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.hpa.evaluate import MetricOutcome


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


class Conditions:
    """The HPA's status conditions in upstream order of first appearance."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, Condition] = {}

    def set(self, kind: str, status: str, reason: str, message: str, now_s: float) -> None:
        """Set a condition; its transition time only changes when its status changes."""
        existing = self._items.get(kind)
        if existing is None:
            self._items[kind] = Condition(kind, status, reason, message, now_s)
            return
        if existing.status != status:
            existing.last_transition_s = now_s
        existing.status = status
        existing.reason = reason
        existing.message = message

    def status_of(self, kind: str) -> str | None:
        """The status of condition ``kind`` ('True', 'False', ...), None when it is not set."""
        existing = self._items.get(kind)
        return None if existing is None else existing.status

    def as_status(self) -> list[dict[str, Any]]:
        return [
            {
                "type": c.type,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "lastTransitionTime": c.last_transition_s,
            }
            for c in self._items.values()
        ]


def condition_error(outcome: MetricOutcome) -> str:
    prefix = "the HPA was unable to compute the replica count: "
    message = outcome.condition_message
    return message[len(prefix) :] if message.startswith(prefix) else message


def event(kind: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "reason": reason, "message": message}

"""Firing a trial's ``spec.events`` at their times, and recording each fault's start and end.

Faults fire at their own times, not on the 1 s grid of the signals: the trial loop asks for
the actions due before its next tick and sleeps to each one. Every fault injected is taken
back before the trial ends, even when the trial is interrupted, so the next trial (and the
Prometheus recording at the end of this one) starts from a healthy stack.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hpalab.errors import HpalabError
from hpalab.platforms.base import Platform
from hpalab.specs.events import COMPONENT, AnyEvent, event_end

Recorder = Callable[[float, str, str, dict[str, Any]], None]
"""Appends one row to events.csv: ``(t_s, kind, object, detail)``."""


@dataclass(frozen=True, slots=True)
class FaultAction:
    """The start or the end of one event of ``spec.events``."""

    t_s: float
    action: Literal["start", "end"]
    index: int
    event: AnyEvent


def plan_actions(events: Sequence[AnyEvent]) -> list[FaultAction]:
    """Every start and end in time order; at equal times ends come first, so a fault that
    ends when another of its component begins is cleared before the next is injected."""
    actions = []
    for index, event in enumerate(events):
        actions.append(FaultAction(event.at, "start", index, event))
        if event_end(event) > event.at:
            actions.append(FaultAction(event_end(event), "end", index, event))
    return sorted(actions, key=lambda a: (a.t_s, a.action == "start", a.index))


class FaultTimeline:
    """The faults of one trial: which are due, which are active."""

    def __init__(self, events: Sequence[AnyEvent]) -> None:
        self._pending = deque(plan_actions(events))
        self.active: dict[int, AnyEvent] = {}

    def due_before(self, t_s: float) -> Iterator[FaultAction]:
        """Actions planned before ``t_s`` (seconds since the load phase began), in order."""
        while self._pending and self._pending[0].t_s < t_s:
            yield self._pending.popleft()

    def fire(
        self, action: FaultAction, platform: Platform, *, now_s: float, record: Recorder
    ) -> None:
        """Inject or take back one fault and record it; a platform error becomes a warning
        (the trial goes on, the report shows the fault did not happen)."""
        event, component = action.event, COMPONENT[action.event.type]
        planned = action.t_s if action.action == "start" else event_end(event)
        base: dict[str, Any] = {"event": action.index, "type": event.type, "planned_s": planned}
        if action.t_s < planned:
            base["cut_short"] = True
        try:
            if action.action == "start":
                detail = platform.start_fault(event)
                if event_end(event) > event.at:  # an instant fault has nothing to take back
                    self.active[action.index] = event
                kind = "fault_injected"
                base["planned_end_s"] = event_end(event)
            else:
                if self.active.pop(action.index, None) is None:
                    return
                detail = platform.end_fault(event)
                kind = "fault_cleared"
        except HpalabError as error:
            record(now_s, "warning", component, {**base, "error": f"{action.action}: {error}"})
            return
        record(now_s, kind, component, {**base, **detail})

    def end_all(self, platform: Platform, *, now_s: float, record: Recorder) -> None:
        """Take back every fault still active (the trial was cut short)."""
        for index, event in sorted(self.active.items()):
            action = FaultAction(now_s, "end", index, event)
            self.fire(action, platform, now_s=now_s, record=record)
        self._pending.clear()

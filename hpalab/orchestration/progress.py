"""Progress of a run: a live rich panel, quiet notes, or one JSON object per line for CI."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from hpalab.specs.units import format_duration
from hpalab.specs.variants import TrialPlan


class QuietProgress:
    """Only warnings and the trial results, on stderr."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = 0
        self.per_trial_s = 0.0
        self.finished = 0
        self.started_at = time.monotonic()

    def run_started(self, *, trials: list[TrialPlan], per_trial_s: float, path: str) -> None:
        self.total, self.per_trial_s = len(trials), per_trial_s
        self.started_at = time.monotonic()

    def trial_started(self, trial: TrialPlan) -> None:
        """A trial begins (after the platform reset)."""

    def trial_tick(
        self, *, trial: TrialPlan, phase: str, t_s: float, end_s: float, signals: dict[str, float]
    ) -> None:
        """One second of a trial went by."""

    def trial_finished(self, trial: TrialPlan, status: str) -> None:
        self.finished += 1
        self.note(f"trial {trial.trial_id}: {status} ({self.finished}/{self.total})")

    def note(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def close(self) -> None:
        """Stop any live display."""

    def eta_s(self, t_s: float = 0.0, end_s: float = 0.0) -> float:
        left = max(self.total - self.finished - 1, 0) * self.per_trial_s
        return left + max(end_s - t_s, 0.0)


class PlainProgress(QuietProgress):
    """Without a terminal (CI logs): the trial lines, plus one plain line every ``every_s``
    seconds with the trial, phase, elapsed time, ETA, replicas and rates."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(stream)
        self.every_s = every_s
        self.clock = clock
        self._last = clock()

    def run_started(self, *, trials: list[TrialPlan], per_trial_s: float, path: str) -> None:
        super().run_started(trials=trials, per_trial_s=per_trial_s, path=path)
        self.started_at = self._last = self.clock()

    def trial_tick(
        self, *, trial: TrialPlan, phase: str, t_s: float, end_s: float, signals: dict[str, float]
    ) -> None:
        now = self.clock()
        if now - self._last < self.every_s:
            return
        self._last = now
        self.note(
            f"trial {self.finished + 1}/{self.total} {trial.trial_id}: {phase} "
            f"{t_s:.0f}/{end_s:.0f} s, elapsed {format_duration(round(now - self.started_at))}, "
            f"ETA {format_duration(round(self.eta_s(t_s, end_s)))}; replicas "
            f"{_count(signals, 'ready_replicas')} ready / {_count(signals, 'desired_replicas')} "
            f"desired; {_count(signals, 'offered_rps')} rps offered, "
            f"{_count(signals, 'achieved_rps')} achieved"
        )


def _count(signals: dict[str, float], name: str) -> str:
    value = signals.get(name)
    return "?" if value is None or math.isnan(value) else f"{value:.0f}"


class JsonProgress(QuietProgress):
    """One JSON object per line on stdout: ``{"event": ..., ...}``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stdout)

    def _emit(self, event: str, **fields: Any) -> None:
        print(
            json.dumps({"event": event, "t": round(time.time(), 3), **fields}),
            file=self.stream,
            flush=True,
        )

    def run_started(self, *, trials: list[TrialPlan], per_trial_s: float, path: str) -> None:
        super().run_started(trials=trials, per_trial_s=per_trial_s, path=path)
        self._emit("run_started", run_dir=path, trials=[t.trial_id for t in trials])

    def trial_started(self, trial: TrialPlan) -> None:
        self._emit("trial_started", trial_id=trial.trial_id, variant=trial.variant)

    def trial_tick(
        self, *, trial: TrialPlan, phase: str, t_s: float, end_s: float, signals: dict[str, float]
    ) -> None:
        self._emit(
            "tick",
            trial_id=trial.trial_id,
            phase=phase,
            t_s=t_s,
            eta_s=round(self.eta_s(t_s, end_s)),
            signals=signals,
        )

    def trial_finished(self, trial: TrialPlan, status: str) -> None:
        self.finished += 1
        self._emit("trial_finished", trial_id=trial.trial_id, status=status)

    def note(self, message: str) -> None:
        self._emit("note", message=message)


class RichProgress(QuietProgress):
    """A live panel: trial, phase, offered against achieved load, replicas, ETA."""

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        self.console = console or Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=2, transient=True)
        self.live.start()

    def trial_tick(
        self, *, trial: TrialPlan, phase: str, t_s: float, end_s: float, signals: dict[str, float]
    ) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_row(
            f"[bold]trial {self.finished + 1}/{self.total}[/] {trial.trial_id}",
            f"{phase} {t_s:.0f}/{end_s:.0f} s",
            f"ETA {format_duration(round(self.eta_s(t_s, end_s)))}",
        )
        table.add_row(
            f"offered {signals.get('offered_rps', 0):.0f} rps · achieved "
            f"{signals.get('achieved_rps', 0):.0f} rps",
            f"replicas {signals.get('ready_replicas', 0):.0f} ready / "
            f"{signals.get('desired_replicas', 0):.0f} desired",
            f"metric {signals.get('metric_value', float('nan')):.2f} / "
            f"{signals.get('metric_target', float('nan')):.2f}",
        )
        self.live.update(table)

    def note(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        self.live.stop()

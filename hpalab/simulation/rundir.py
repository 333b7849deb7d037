"""``hpalab simulate``: simulated trials written as a run directory (the results contract).

``report`` and ``compare`` read it unchanged. The manifest says ``platform: simulation`` and
carries the calibration: its source and what was fitted. Trial start and end times are the
run's start plus each trial's virtual position in the run order, so the times in
``trials.csv`` say how long the trials would have taken for real.
"""

from __future__ import annotations

import hashlib
import json
import platform as host
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from hpalab import __version__
from hpalab.orchestration.runner import lock_text, trial_seconds
from hpalab.results import TRIALS, Manifest, RunWriter
from hpalab.results.schema import EVENTS, LOCK_FILE, PROMETHEUS, TIMESERIES
from hpalab.simulation.calibration import Calibration
from hpalab.simulation.experiment import Planner, run_trials
from hpalab.simulation.recording import COUNTER_QUERY
from hpalab.simulation.trial import TrialOutput
from hpalab.specs import LoadedExperiment


@dataclass(frozen=True)
class SimulationResult:
    """Where the simulated run went."""

    path: Path
    trials: int
    simulated_s: float
    """Virtual time simulated (sum of trial lengths), seconds."""


def simulate_experiment(
    loaded: LoadedExperiment,
    *,
    out_dir: Path,
    calibration: Calibration,
    repetitions: int | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate every trial of ``loaded`` and write a run directory under ``out_dir``."""
    reps = repetitions or loaded.experiment.spec.repetitions
    plans = loaded.trials(repetitions=reps)
    inputs = Planner(loaded, calibration=calibration).plan(plans)
    started = datetime.now(UTC)
    writer = RunWriter.create(out_dir, experiment=loaded.name, started_at=started)
    writer.write_text(LOCK_FILE, lock_text(loaded, repetitions=reps, only=[]))
    done = 0

    def write(output: TrialOutput) -> None:
        nonlocal done
        _append(writer, output)
        done += 1
        if progress is not None:
            progress(done, len(inputs))

    run_trials(inputs, jobs=jobs, done=write)
    per_trial = trial_seconds(loaded)
    rows = [
        {
            "trial_id": p.trial_id,
            "variant": p.variant,
            "repetition": p.repetition,
            "order": p.order,
            "started_at": (started + timedelta(seconds=(p.order - 1) * per_trial)).isoformat(),
            "ended_at": (started + timedelta(seconds=p.order * per_trial)).isoformat(),
            "status": "complete",
        }
        for p in plans
    ]
    writer.replace_table(TRIALS, pd.DataFrame(rows, columns=list(TRIALS.names)))
    writer.write_manifest(_manifest(loaded, writer, started=started, calibration=calibration))
    return SimulationResult(writer.path, len(plans), per_trial * len(plans))


def _append(writer: RunWriter, output: TrialOutput) -> None:
    trial = output.trial_id
    writer.append_rows(TIMESERIES, ((trial, t, s, v) for t, s, v in output.signals))
    writer.append_rows(
        EVENTS,
        (
            (trial, t, kind, obj, json.dumps(detail, sort_keys=True, separators=(",", ":")))
            for t, kind, obj, detail in output.events
        ),
    )
    writer.append_rows(PROMETHEUS, _counter_rows(trial, output.counters))


def _counter_rows(
    trial: str, counters: list[tuple[float, str, float]]
) -> Iterable[tuple[str, float, str, str, float]]:
    labels: dict[str, str] = {}
    for t, pod, value in counters:
        if pod not in labels:
            labels[pod] = json.dumps({"namespace": "default", "pod": pod}, sort_keys=True)
        yield (trial, t, COUNTER_QUERY, labels[pod], value)


def _manifest(
    loaded: LoadedExperiment, writer: RunWriter, *, started: datetime, calibration: Calibration
) -> Manifest:
    lock = (writer.path / LOCK_FILE).read_bytes()
    fingerprint = {
        "platform": "simulation",
        "calibration": {
            "source": calibration.source,
            "platform": calibration.platform,
            "fitted": calibration.notes,
        },
        "host": {
            "hostname": host.node(),
            "system": host.platform(),
            "python": host.python_version(),
        },
    }
    return Manifest(
        hpalab_version=__version__,
        experiment=loaded.name,
        started_at=started,
        ended_at=datetime.now(UTC),
        status="complete",
        platform=fingerprint,
        spec_hash=hashlib.sha256(lock).hexdigest(),
        seed=loaded.experiment.spec.seed,
    )

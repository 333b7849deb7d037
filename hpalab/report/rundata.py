"""Reading a run directory for reporting: the tables, the manifest and the resolved experiment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hpalab.errors import BadInput, HpalabError
from hpalab.results.schema import EVENTS, LOCK_FILE, PROMETHEUS, TIMESERIES, TRIALS
from hpalab.results.store import Manifest, read_manifest, read_table
from hpalab.specs import LoadedExperiment, load_experiment


@dataclass
class RunData:
    """Everything a report needs from one run directory."""

    path: Path
    manifest: Manifest | None
    experiment: LoadedExperiment | None
    lock_problem: str | None
    """Why the lock file could not be used (then spec-derived parts use defaults)."""
    trials: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame
    prometheus: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        """The experiment name, else the directory name."""
        if self.experiment is not None:
            return self.experiment.name
        return self.manifest.experiment if self.manifest else self.path.name

    def variants(self) -> list[str]:
        """Variants that have trials: in the spec's order, then any others of trials.csv."""
        ordered = self.trials.sort_values("order") if "order" in self.trials else self.trials
        present = list(dict.fromkeys(str(v) for v in ordered["variant"]))
        spec = [v.name for v in self.experiment.variants] if self.experiment else []
        return [v for v in spec if v in present] + [v for v in present if v not in spec]


def load_run(path: Path) -> RunData:
    """Read a run directory. Raises :class:`BadInput` when ``path`` is not one."""
    if not path.exists():
        raise BadInput(f"{path} does not exist", hint="pass a run directory, e.g. reports/<run>")
    if not path.is_dir():
        raise BadInput(f"{path} is not a directory", hint="pass the run directory itself")
    if not (path / TRIALS.filename).is_file():
        raise BadInput(
            f"{path} is not a run directory: it has no {TRIALS.filename}",
            hint="pass a directory written by `hpalab run` (reports/<time>-<experiment>)",
        )
    try:
        manifest = read_manifest(path)
    except ValueError as error:
        raise BadInput(
            f"{path}/manifest.json is unreadable: {error}", hint="repair or remove it"
        ) from error
    experiment, problem = _experiment(path)
    trials = read_table(path, TRIALS)
    trials = trials[trials["status"].astype("object") != "pending"].reset_index(drop=True)
    return RunData(
        path=path,
        manifest=manifest,
        experiment=experiment,
        lock_problem=problem,
        trials=trials,
        timeseries=read_table(path, TIMESERIES),
        events=read_table(path, EVENTS),
        prometheus=read_table(path, PROMETHEUS),
    )


def _experiment(path: Path) -> tuple[LoadedExperiment | None, str | None]:
    lock = path / LOCK_FILE
    if not lock.is_file():
        return None, f"{LOCK_FILE} is missing"
    try:
        return load_experiment(lock), None
    except HpalabError as error:
        first = str(error).splitlines()[0] if str(error) else error.message
        return None, f"{LOCK_FILE} could not be read: {first}"

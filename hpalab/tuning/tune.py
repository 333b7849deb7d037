"""``hpalab tune``: search, write the tuning directory, optionally confirm for real."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hpalab import __version__
from hpalab.results import RunWriter
from hpalab.simulation.calibration import Calibration
from hpalab.specs import LoadedExperiment
from hpalab.tuning.confirm import Confirmation, confirm
from hpalab.tuning.objectives import Objective
from hpalab.tuning.outputs import write_outputs
from hpalab.tuning.search import SearchResult, search
from hpalab.tuning.space import Param


@dataclass(frozen=True)
class TuneRequest:
    """What the user asked for."""

    params: list[Param]
    objectives: list[Objective]
    budget: int
    repetitions: int
    calibration: Calibration
    out_dir: Path
    jobs: int | None = None
    confirm: int = 0
    platform: str = "local"
    confirm_repetitions: int | None = None


@dataclass(frozen=True)
class TuneOutcome:
    """Where the tuning went."""

    path: Path
    result: SearchResult
    confirmation: Confirmation | None


def make_directory(out_dir: Path, name: str) -> Path:
    """A new ``<UTC time>-<name>-tune`` directory under ``out_dir`` (never reused)."""
    return RunWriter.create(out_dir, experiment=f"{name}-tune", started_at=datetime.now(UTC)).path


def tune(
    loaded: LoadedExperiment,
    request: TuneRequest,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> TuneOutcome:
    """Search, write candidates.csv, pareto.csv, best-hpa.yaml, tune.html; then confirm."""
    path = make_directory(request.out_dir, loaded.name)
    base = loaded.variant(loaded.baseline).spec.to_yaml_dict()
    result = search(
        loaded,
        params=request.params,
        objectives=request.objectives,
        budget=request.budget,
        repetitions=request.repetitions,
        calibration=request.calibration,
        seed=loaded.experiment.spec.seed,
        jobs=request.jobs,
        progress=progress,
    )
    write_outputs(result, path=path, title=f"hpalab tune: {loaded.name}", base=base)
    (path / "tune.json").write_text(json.dumps(_record(loaded, request), indent=2) + "\n")
    confirmation = None
    if request.confirm and result.front:
        confirmation = confirm(
            loaded,
            result,
            count=request.confirm,
            platform=request.platform,
            out_dir=path,
            repetitions=request.confirm_repetitions,
        )
        confirmation.table.to_csv(path / "confirm.csv", index=False, na_rep="")
    return TuneOutcome(path, result, confirmation)


def _record(loaded: LoadedExperiment, request: TuneRequest) -> dict[str, Any]:
    """What was searched, so a tuning directory says how it was made."""
    return {
        "hpalab_version": __version__,
        "experiment": loaded.name,
        "seed": loaded.experiment.spec.seed,
        "params": [p.path for p in request.params],
        "objectives": [o.metric for o in request.objectives],
        "budget": request.budget,
        "repetitions": request.repetitions,
        "calibration": {"source": request.calibration.source, "fitted": request.calibration.notes},
        "sampler": "optuna NSGAIISampler",
    }

"""Read a real run directory and fit a :class:`Calibration` from it (``--calibrate``)."""

from __future__ import annotations

from pathlib import Path

from hpalab.errors import BadInput
from hpalab.results import EVENTS, TIMESERIES, read_manifest, read_table
from hpalab.results.schema import LOCK_FILE
from hpalab.simulation.calibration import Calibration, fit
from hpalab.specs import load_experiment


def calibrate_from_run(run_dir: Path) -> Calibration:
    """Fit the simulator's delays and rates from a run written by ``hpalab run``.

    Raises BadInput when ``run_dir`` is not a run directory or was itself simulated.
    """
    if not (run_dir / LOCK_FILE).is_file():
        raise BadInput(
            f"{run_dir} is not a run directory: it has no {LOCK_FILE}",
            hint="pass a directory written by `hpalab run` with --calibrate",
        )
    manifest = read_manifest(run_dir)
    platform = str((manifest.platform if manifest else {}).get("platform", "local"))
    if platform == "simulation":
        raise BadInput(
            f"{run_dir} is a simulated run; a calibration must come from a real one",
            hint="pass a run directory written by `hpalab run` on the local or kubernetes platform",
        )
    loaded = load_experiment(run_dir / LOCK_FILE)
    spec = loaded.experiment.spec
    return fit(
        events=read_table(run_dir, EVENTS),
        timeseries=read_table(run_dir, TIMESERIES),
        source=run_dir.name,
        platform=platform,
        sync_period_s=spec.controller.sync_period,
        app_service_s=spec.app.cpu_per_request + spec.app.latency,
        concurrency=spec.app.concurrency,
    )

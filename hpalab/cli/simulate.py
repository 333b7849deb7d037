"""``hpalab simulate``: an experiment's trials in virtual time, written as a run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from hpalab.specs.units import format_duration


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def simulate(
    experiment: Annotated[Path, typer.Argument(help="Experiment file.")],
    calibrate: Annotated[
        Path | None,
        typer.Option(help="A real run directory to fit start-up, service time and phases from."),
    ] = None,
    repetitions: Annotated[
        int | None, typer.Option(min=1, max=10000, help="Override spec.repetitions.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for run directories.")] = Path(
        "reports"
    ),
    jobs: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: one per core).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Simulate every trial of an experiment (virtual time, hpalab's HPA and adapter engines)
    and write a run directory that `hpalab report` and `compare` read like a real one."""
    from hpalab.report.outputs import report_run
    from hpalab.simulation.calibrate import calibrate_from_run
    from hpalab.simulation.calibration import Calibration
    from hpalab.simulation.rundir import simulate_experiment
    from hpalab.specs import load_experiment

    loaded = load_experiment(experiment)
    calibration = calibrate_from_run(calibrate) if calibrate is not None else Calibration()
    console = Console(stderr=True)
    if calibrate is not None and not as_json:
        console.print(f"calibrated from {calibration.source} ({calibration.platform}):")
        for line in calibration.describe():
            console.print(f"  {line}", markup=False, highlight=False)
    began = time.perf_counter()
    with progress_bar(console, enabled=not as_json, unit="trials") as progress:
        task = progress.add_task("simulating", total=None)
        result = simulate_experiment(
            loaded,
            out_dir=out,
            calibration=calibration,
            repetitions=repetitions,
            jobs=jobs,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    elapsed = time.perf_counter() - began
    report_run(result.path, fmt="html")
    summary = {
        "path": str(result.path),
        "trials": result.trials,
        "simulated_s": result.simulated_s,
        "wall_s": round(elapsed, 3),
        "calibration": {"source": calibration.source, "fitted": calibration.notes},
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    speed = result.simulated_s / elapsed if elapsed > 0 else float("inf")
    console.print(
        f"{result.trials} trials ({format_duration(result.simulated_s)} of virtual time) "
        f"in {elapsed:.1f} s, {speed:,.0f}× real time"
    )
    typer.echo(str(result.path))


def progress_bar(console: Console, *, enabled: bool, unit: str) -> Progress:
    """A transient progress bar with elapsed time and ETA on stderr (off for --json)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(f"{{task.completed}}/{{task.total}} {unit}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=True,
    )

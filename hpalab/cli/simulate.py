"""``hpalab simulate``: an experiment's trials in virtual time, written as a run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from hpalab.specs.units import format_duration

Jobs = Annotated[int | None, typer.Option(min=1, help="Worker processes (default: one per core).")]
"""``--jobs``, as simulate and tune take it."""
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

if TYPE_CHECKING:
    import pandas as pd


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
    jobs: Jobs = None,
    as_json: AsJson = False,
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
    table = _validate(calibrate, result.path) if calibrate is not None else None
    summary = {
        "path": str(result.path),
        "trials": result.trials,
        "simulated_s": result.simulated_s,
        "wall_s": round(elapsed, 3),
        "calibration": {"source": calibration.source, "fitted": calibration.notes},
        "validation": None if table is None else table.to_dict("records"),
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    if table is not None:
        _print_validation(table, console)
    speed = result.simulated_s / elapsed if elapsed > 0 else float("inf")
    console.print(
        f"{result.trials} trials ({format_duration(result.simulated_s)} of virtual time) "
        f"in {elapsed:.1f} s, {speed:,.0f}× real time"
    )
    typer.echo(str(result.path))


def _validate(lab: Path, simulated: Path) -> pd.DataFrame | None:
    """The simulation against the calibrating run, when they share variants (validation.csv)."""
    from hpalab.results import COMPARISON, read_table
    from hpalab.simulation.validation import validation_table

    table = validation_table(read_table(lab, COMPARISON), read_table(simulated, COMPARISON))
    if table.empty:
        return None
    table.to_csv(simulated / "validation.csv", index=False, na_rep="")
    return table


def _print_validation(table: pd.DataFrame, console: Console) -> None:
    view = Table("variant", "metric", "lab median [CI]", "simulated", "diff", "within", box=None)
    for row in table.itertuples(index=False):
        view.add_row(
            str(row.variant),
            str(row.metric),
            f"{row.lab_median:.1f} [{row.lab_ci_low:.1f}, {row.lab_ci_high:.1f}]",
            f"{row.sim_median:.1f}",
            f"{row.diff_pct:+.0f} %",
            "yes" if row.within else "NO",
        )
    console.print("against the calibrating run (within 10 % or its bootstrap interval):")
    console.print(view)


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

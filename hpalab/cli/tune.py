"""``hpalab tune``: search HPA and adapter settings in simulation, confirm the best for real."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hpalab.cli.simulate import AsJson, Jobs, progress_bar
from hpalab.errors import EXIT_CHECKS_FAILED, UsageError

PLATFORMS = ("local", "kubernetes")


def register(app: typer.Typer) -> None:
    app.command("tune")(tune)


def tune(
    experiment: Annotated[Path, typer.Argument(help="Experiment file; its baseline is the start.")],
    param: Annotated[
        list[str],
        typer.Option(
            help="PATH=SPEC to search (repeatable): LOW..HIGH, log:LOW..HIGH, A,B,C or, for a "
            "PromQL field, window:30s,1m,2m.",
        ),
    ],
    objective: Annotated[
        list[str] | None,
        typer.Option(
            help="Summary metric to optimise (repeatable). Default: slo_violation_s, "
            "cost_replica_s, time_to_capacity_s."
        ),
    ] = None,
    budget: Annotated[int, typer.Option(min=2, max=100000, help="Candidates to try.")] = 64,
    repetitions: Annotated[
        int, typer.Option(min=1, max=1000, help="Simulated trials per candidate.")
    ] = 10,
    calibrate: Annotated[
        Path | None, typer.Option(help="A real run directory to fit the simulator from.")
    ] = None,
    confirm: Annotated[
        int, typer.Option(min=0, max=20, help="Run the K best candidates for real.")
    ] = 0,
    platform: Annotated[str, typer.Option(help="Platform of --confirm: local or kubernetes.")] = (
        "local"
    ),
    confirm_repetitions: Annotated[
        int | None, typer.Option(min=1, help="Real trials per confirmed candidate.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the tuning directory.")] = Path(
        "reports"
    ),
    jobs: Jobs = None,
    as_json: AsJson = False,
) -> None:
    """Search tunings in simulation (optuna NSGA-II), write the Pareto front, tune.html and
    best-hpa.yaml, and with --confirm run the best ones on a real platform."""
    from hpalab.simulation.calibrate import calibrate_from_run
    from hpalab.simulation.calibration import Calibration
    from hpalab.simulation.experiment import check_simulable_spec
    from hpalab.specs import load_experiment
    from hpalab.tuning.objectives import parse_objectives
    from hpalab.tuning.space import parse_param
    from hpalab.tuning.tune import TuneRequest
    from hpalab.tuning.tune import tune as run_tune

    if platform not in PLATFORMS:
        raise UsageError(
            f"--platform {platform!r} is not one of {', '.join(PLATFORMS)}",
            hint="use --platform local (the default) or --platform kubernetes",
        )
    loaded = load_experiment(experiment)
    check_simulable_spec(loaded.variant(loaded.baseline).spec)
    base = loaded.variant(loaded.baseline).spec.to_yaml_dict()
    params = [parse_param(text, base=base) for text in param]
    if len({p.path for p in params}) != len(params):
        raise UsageError("a --param path is given twice", hint="give each field once")
    request = TuneRequest(
        params=params,
        objectives=parse_objectives(list(objective or [])),
        budget=budget,
        repetitions=repetitions,
        calibration=calibrate_from_run(calibrate) if calibrate else Calibration(),
        out_dir=out,
        jobs=jobs,
        confirm=confirm,
        platform=platform,
        confirm_repetitions=confirm_repetitions,
    )
    console = Console(stderr=True)
    with progress_bar(console, enabled=not as_json, unit="candidates") as bar:
        task = bar.add_task("simulating candidates", total=budget)
        outcome = run_tune(
            loaded, request, progress=lambda done, total: bar.update(task, completed=done)
        )
    _report(outcome, console=console, as_json=as_json)


def _report(outcome: object, *, console: Console, as_json: bool) -> None:
    from hpalab.tuning.tune import TuneOutcome

    assert isinstance(outcome, TuneOutcome)
    result, confirmation = outcome.result, outcome.confirmation
    front = [
        {
            "candidate": c.number,
            "params": {k: _plain(v) for k, v in c.values.items()},
            "objectives": {m: _plain(s.median) for m, s in c.objectives.items()},
        }
        for c in result.front
    ]
    flagged = confirmation.flagged if confirmation else []
    if as_json:
        doc = {
            "path": str(outcome.path),
            "candidates": len(result.candidates),
            "pareto": front,
            "knee": front[0]["candidate"] if front else None,
            "confirm_run": str(confirmation.run.path) if confirmation else None,
            "flagged": flagged,
        }
        typer.echo(json.dumps(doc))
    else:
        _print_front(result, console)
        if confirmation is not None:
            console.print(f"confirmed for real in {confirmation.run.path}")
            for name in flagged:
                console.print(f"warning: {name}: the real result left its simulated interval")
        typer.echo(str(outcome.path))
    if flagged:
        raise typer.Exit(EXIT_CHECKS_FAILED)


def _print_front(result: object, console: Console) -> None:
    from hpalab.tuning.search import SearchResult

    assert isinstance(result, SearchResult)
    table = Table(
        "candidate", *(p.path for p in result.params), *(o.label for o in result.objectives)
    )
    for c in result.front[:10]:
        knee = " ★" if c is result.knee else ""
        table.add_row(
            f"{c.number}{knee}",
            *(p.label_of(c.values[p.path]) for p in result.params),
            *(f"{c.objectives[o.metric].median:.1f}" for o in result.objectives),
        )
    console.print(f"Pareto front: {len(result.front)} of {len(result.candidates)} candidates")
    console.print(table)


def _plain(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else "inf"
    return value

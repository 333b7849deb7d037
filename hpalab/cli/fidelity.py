"""`hpalab fidelity hpa SCENARIO... [--json]`: the real HPA controller against the engine."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hpalab.errors import EXIT_CHECKS_FAILED

if TYPE_CHECKING:
    from hpalab.fidelity.replay import SyncComparison

fidelity_app = typer.Typer(
    name="fidelity",
    help="Check hpalab's engines decision for decision against the real components.",
    no_args_is_help=True,
)


@fidelity_app.command("hpa")
def hpa_command(
    scenarios: Annotated[list[Path], typer.Argument(help="FidelityScenario files.")],
    cluster: Annotated[
        str, typer.Option("--cluster", help="The `hpalab cluster` to run on.")
    ] = "hpalab",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per scenario.")] = False,
) -> None:
    """Run each scenario on the real HPA controller, replay it through the engine, and compare
    every sync; exit 3 when any sync disagrees."""
    from hpalab.fidelity.replay import replay
    from hpalab.fidelity.running import run_on_cluster
    from hpalab.specs.fidelity import load_scenario

    loaded = [load_scenario(path) for path in scenarios]
    console = Console(stderr=True)
    total = 0
    for path, scenario in zip(scenarios, loaded, strict=True):
        run = run_on_cluster(scenario, cluster=cluster, say=console.print)
        syncs = replay(scenario.spec, run)
        disagreements = sum(1 for s in syncs if s.differences)
        total += disagreements
        if as_json:
            record = {
                "scenario": str(path),
                "name": scenario.metadata.name,
                "syncs": [asdict(s) for s in syncs],
                "disagreements": disagreements,
                "requests": [asdict(r) for r in run.served],
                "watchErrors": run.recording.errors,
            }
            typer.echo(json.dumps(record, sort_keys=True))
        else:
            _print(scenario.metadata.name, syncs, disagreements)
    if not as_json:
        typer.echo(f"{len(loaded)} scenarios, {total} disagreements")
    if total:
        raise typer.Exit(EXIT_CHECKS_FAILED)


def _print(name: str, syncs: list[SyncComparison], disagreements: int) -> None:
    table = Table(title=name, title_justify="left")
    for column in ("t_s", "replicas", "ready", "metrics", "desired real/engine", "conditions"):
        table.add_column(column)
    for sync in syncs:
        mark = "" if not sync.differences else " ✗"
        conditions = " ".join(
            f"{k[0:1]}{k[7:8] if k.startswith('Scaling') else ''}={v}"
            for k, v in sync.real_conditions.items()
        )
        if sync.differences:
            conditions += "\n" + "; ".join(sync.differences)
        table.add_row(
            f"{sync.t_s:.1f}",
            str(sync.replicas),
            str(sync.ready),
            sync.inputs,
            f"{sync.real_desired}/{sync.engine_desired}{mark}",
            conditions,
        )
    Console(soft_wrap=True, width=160).print(table)
    typer.echo(f"{name}: {len(syncs)} syncs, {disagreements} disagreements")


def register(app: typer.Typer) -> None:
    app.add_typer(fidelity_app)

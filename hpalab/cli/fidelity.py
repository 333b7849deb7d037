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
    from hpalab.fidelity.adapter_compare import ConfigComparison
    from hpalab.fidelity.replay import SyncComparison
    from hpalab.fidelity.timing import TimingCheck

SHORT = {"AbleToScale": "A", "ScalingActive": "SA", "ScalingLimited": "SL", "ScaledToZero": "SZ"}
"""Condition types as the table prints them."""

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
    from hpalab.cluster.versions import kubernetes_version
    from hpalab.fidelity.replay import replay, timing
    from hpalab.fidelity.running import run_on_cluster
    from hpalab.specs.fidelity import load_scenario

    version = ".".join(kubernetes_version().removeprefix("v").split(".")[:2])
    loaded = [load_scenario(path, cluster_version=version) for path in scenarios]
    console = Console(stderr=True)
    total = 0
    for path, scenario in zip(scenarios, loaded, strict=True):
        run = run_on_cluster(scenario, cluster=cluster, say=console.print)
        syncs = replay(scenario.spec, run)
        checks = timing(scenario.spec, run)
        disagreements = sum(1 for s in syncs if s.differences)
        disagreements += sum(1 for c in checks if c.difference)
        total += disagreements
        if as_json:
            record = {
                "scenario": str(path),
                "name": scenario.metadata.name,
                "syncs": [asdict(s) for s in syncs],
                "timing": [asdict(c) for c in checks],
                "disagreements": disagreements,
                "requests": [asdict(r) for r in run.served],
                "watchErrors": run.recording.errors,
            }
            typer.echo(json.dumps(record, sort_keys=True))
        else:
            _print(scenario.metadata.name, syncs, checks, disagreements)
    if not as_json:
        typer.echo(f"{len(loaded)} scenarios, {total} disagreements")
    if total:
        raise typer.Exit(EXIT_CHECKS_FAILED)


def _print(
    name: str, syncs: list[SyncComparison], checks: list[TimingCheck], disagreements: int
) -> None:
    table = Table(title=name, title_justify="left")
    for column in ("t_s", "replicas", "ready", "metrics", "desired real/engine", "conditions"):
        table.add_column(column)
    for sync in syncs:
        mark = "" if not sync.differences else " ✗"
        conditions = " ".join(f"{SHORT.get(k, k)}={v}" for k, v in sync.real_conditions.items())
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
    for check in checks:
        real = "none" if check.real_s is None else f"{check.real_s:.1f} s"
        mark = f" ✗ {check.difference}" if check.difference else ""
        typer.echo(
            f"{name}: HPA {check.event} at {check.at_s:.1f} s, next sync after "
            f"real {real} engine {check.engine_s:.1f} s{mark}"
        )
    typer.echo(f"{name}: {len(syncs)} syncs, {disagreements} disagreements")


@fidelity_app.command("adapter")
def adapter_command(
    inputs: Annotated[
        list[Path], typer.Argument(help="prometheus-adapter configs or experiment files.")
    ],
    cluster: Annotated[
        str, typer.Option("--cluster", help="The `hpalab cluster` to run on.")
    ] = "hpalab",
    namespace: Annotated[
        str,
        typer.Option(
            "--namespace", help="The stack's namespace (`hpalab up --platform kubernetes`)."
        ),
    ] = "hpalab",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per config.")] = False,
) -> None:
    """Run each config on the real prometheus-adapter of a kubernetes-platform stack, request
    every metric it exposes, and compare the metric list, the PromQL (from Prometheus's query
    log) and the values with the adapter engine; exit 3 on any disagreement."""
    from hpalab.cli.adapter import load_input
    from hpalab.cluster import lifecycle
    from hpalab.fidelity.adapter_compare import compare_config
    from hpalab.fidelity.adapter_stack import Stack
    from hpalab.platforms.kubernetes.client import KubeClient, load_api_client

    configs = [load_input(path).config for path in inputs]
    config = lifecycle.existing(cluster)
    client = KubeClient(load_api_client(context=None, config_file=config.kubeconfig))
    stack = Stack(client, config, namespace)
    stack.check()
    console = Console(stderr=True)
    console.print("fidelity adapter: Prometheus's query log")
    stack.enable_query_log()
    total = 0
    with stack.restored():
        for path, adapter_config in zip(inputs, configs, strict=True):
            console.print(f"{path}: running the real adapter with it")
            stack.run(adapter_config)
            result = compare_config(stack, adapter_config)
            total += result.disagreements
            if as_json:
                record = {"config": str(path), **asdict(result)}
                record["disagreements"] = result.disagreements
                typer.echo(json.dumps(record, sort_keys=True))
            else:
                _print_config(str(path), result)
    if not as_json:
        typer.echo(f"{len(configs)} configs, {total} disagreements")
    if total:
        raise typer.Exit(EXIT_CHECKS_FAILED)


def _print_config(path: str, result: ConfigComparison) -> None:
    typer.echo(f"{path}: {len(result.real_metrics)} metrics (engine {len(result.engine_metrics)})")
    for line in result.differences:
        typer.echo(f"  ✗ {line}")
    for request in result.requests:
        mark = "✗" if request.differences else "✓"
        typer.echo(f"  {mark} {request.path}: {request.real}")
        for line in request.differences:
            typer.echo(
                f"      {line}: real {request.real_query!r} / {request.real}, "
                f"engine {request.engine_query!r} / {request.engine}"
            )
    typer.echo(f"{path}: {len(result.requests)} requests, {result.disagreements} disagreements")


def register(app: typer.Typer) -> None:
    app.add_typer(fidelity_app)

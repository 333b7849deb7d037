"""`hpalab fidelity keda SCALEDOBJECT... [--cluster NAME] [--namespace NS] [--json]`: the real
KEDA v2.20.2 on `hpalab cluster` against the KEDA engine, on the same Prometheus."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from hpalab.cli.fidelity import fidelity_app
from hpalab.errors import EXIT_CHECKS_FAILED

if TYPE_CHECKING:
    from hpalab.fidelity.keda_compare import ObjectComparison


Files = Annotated[list[Path], typer.Argument(help="ScaledObject files (kind: ScaledObject).")]
Cluster = Annotated[str, typer.Option("--cluster", help="The `hpalab cluster` to run on.")]
Namespace = Annotated[str, typer.Option("--namespace", help="The stack's namespace (`hpalab up`).")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object per file.")]


@fidelity_app.command("keda")
def keda_command(
    inputs: Files,
    cluster: Cluster = "hpalab",
    namespace: Namespace = "hpalab",
    as_json: Json = False,
) -> None:
    """Apply each ScaledObject to the real KEDA of a kubernetes-platform stack and compare the
    HPA it generates (field by field), the External metric values it serves and its activation
    and deactivation times (within one polling interval) with the KEDA engine; exit 3 on any
    disagreement. KEDA is installed if needed (`hpalab cluster build --with keda` first)."""
    from hpalab.cluster import building, lifecycle, versions
    from hpalab.fidelity.keda_objects import load
    from hpalab.fidelity.keda_stack import KedaStack
    from hpalab.platforms.kubernetes.client import KubeClient, load_api_client
    from hpalab.platforms.kubernetes.objects import APP

    prometheus = f"http://prometheus-operated.{namespace}.svc:9090"
    items = [load(path, target=APP, prometheus=prometheus) for path in inputs]
    config = lifecycle.existing(cluster)
    building.build(list(versions.pins()["keda"].programs))
    client = KubeClient(load_api_client(context=None, config_file=config.kubeconfig))
    stack = KedaStack(client, namespace)
    stack.check()
    console = Console(stderr=True)
    total = 0
    with stack.holding(sys.stderr):
        for item in items:
            console.print(f"{item.path}: applying ScaledObject {item.name} to the real KEDA")
            result = stack.run(item)
            total += result.disagreements
            if as_json:
                record = {"file": str(item.path), **asdict(result)}
                record["disagreements"] = result.disagreements
                typer.echo(json.dumps(record, sort_keys=True))
            else:
                _print(str(item.path), result)
    if not as_json:
        typer.echo(f"{len(items)} ScaledObjects, {total} disagreements")
    if total:
        raise typer.Exit(EXIT_CHECKS_FAILED)


def _print(path: str, result: ObjectComparison) -> None:
    mark = "✗" if result.disagreements else "✓"
    typer.echo(f"{mark} {path}: HPA {result.hpa_fields} fields")
    for metric, real, engine in result.values:
        typer.echo(f"    {metric}: real {real}, engine {engine}")
    for kind, real_s, engine_s in result.transitions:
        shown = "none" if engine_s is None else f"{engine_s:.1f} s"
        typer.echo(f"    {kind}: real {real_s:.1f} s, engine {shown} after creation")
    for line in result.differences:
        typer.echo(f"    ✗ {line}")


def register(app: typer.Typer) -> None:
    """Nothing to add: the command belongs to ``hpalab fidelity``."""

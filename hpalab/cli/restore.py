"""``hpalab restore RUN_DIR``: put back what a run on ``spec.target`` changed on the cluster,
when the run could not (it was killed, or the cluster did not answer at its end)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("restore")(restore)


def restore(
    run_dir: Annotated[Path, typer.Argument(help="The run directory of a run on spec.target.")],
    context: Annotated[
        str | None, typer.Option(help="kubeconfig context of the run's cluster.")
    ] = None,
) -> None:
    """Restore the HPA, the adapter's ConfigMap and Deployments, and the replicas a run on
    your own workload saved before changing them; safe to repeat."""
    from hpalab.platforms.kubernetes import saving
    from hpalab.platforms.kubernetes.client import KubeClient, load_api_client

    record = saving.load(run_dir)  # a directory without a record is bad input, before connecting
    client = KubeClient(load_api_client(context=context or record.get("context")))
    done = saving.restore(client, run_dir)
    for line in done:
        typer.echo(line)
    typer.echo(
        f"restored: the {len(record['objects'])} saved objects are as before the run"
        if done
        else f"nothing to restore: the {len(record['objects'])} saved objects are as before the run"
    )

"""Cleaning up after labs: ``hpalab down --all``, and the sweep ``run`` and ``up`` make first.

Both print what they did: which labs and runs were stopped or found killed, and the PIDs of
the leftover processes they killed. ``down --all`` also takes down every ``hpalab cluster``
whose ``up`` was killed, and names the clusters still up (they are stopped on purpose only).
"""

from __future__ import annotations

import typer


def down_all() -> None:
    """``hpalab down --all``: stop every local lab and run, say what was done to each."""
    from hpalab.platforms.local.lab import stop_all_labs

    results = stop_all_labs()
    for result in results:
        what = "run" if result["kind"] == "run" else "lab"
        if result["running"]:
            typer.echo(f"{what} stopped: {result['lab_dir']}")
        elif result["stale"]:
            typer.echo(f"cleaned up a {what} that had been killed: {result['lab_dir']}")
        if result["killed"]:
            typer.echo(f"  killed leftover processes: {', '.join(map(str, result['killed']))}")
    if not results:
        typer.echo("no lab was running")
    _clusters()


def _clusters() -> None:
    """Clean up clusters whose ``hpalab cluster up`` was killed; name the running ones."""
    from hpalab.cluster import lifecycle
    from hpalab.cluster.config import ClusterConfig, known_clusters

    if not known_clusters():
        return
    lifecycle.clean_stale(say=typer.echo)
    for name in known_clusters():
        if ClusterConfig.load(name) is not None:
            typer.echo(
                f"cluster {name} is still up: `hpalab cluster down --name {name}` stops it "
                "(`hpalab cluster down --all` stops every one)"
            )


def clean_stale_labs() -> None:
    """Clean up after labs and runs that were killed, saying so (``up`` and ``run`` call it)."""
    from hpalab.platforms.local.registry import clean_stale

    for cleaned in clean_stale():
        what = "run" if cleaned.kind == "run" else "lab"
        killed = f"; killed {', '.join(map(str, cleaned.killed))}" if cleaned.killed else ""
        typer.echo(f"cleaned up a {what} that had been killed: {cleaned.lab_dir}{killed}", err=True)

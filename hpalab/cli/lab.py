"""``hpalab up``, ``hpalab status``, ``hpalab down``: a long-lived lab to poke at by hand.

The commands stay thin: they resolve options and call the chosen platform's lab functions
(``hpalab.platforms.local.lab`` for ``--platform local``).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from hpalab.errors import PlatformError, UsageError

PLATFORMS = ("local",)
LAB_DIR_HELP = "Lab state directory (default: $HPALAB_LAB_DIR or ~/.local/state/hpalab/labs/NAME)."


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("up")(up)
    app.command("status")(status)
    app.command("down")(down)


def _lab_dir(lab_dir: Path | None, name: str) -> Path:
    from hpalab.platforms.local.labstate import default_lab_dir

    return (lab_dir or default_lab_dir(name)).absolute()


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise UsageError(
            f"`hpalab up` does not support --platform {platform} yet",
            hint="use --platform local, or `hpalab run --platform kubernetes` for a cluster",
        )


def _settings(experiment: Path | None, variant: str | None) -> Any:
    from hpalab.platforms.local.settings import default_settings, settings_from_spec
    from hpalab.specs import load_experiment

    if experiment is None:
        if variant is not None:
            raise UsageError(
                "--variant needs an EXPERIMENT file", hint="hpalab up FILE --variant V"
            )
        return default_settings()
    loaded = load_experiment(experiment)
    name = variant or loaded.baseline
    try:
        return settings_from_spec(loaded.variant(name).spec)
    except KeyError:
        names = ", ".join(v.name for v in loaded.variants) or "none"
        raise UsageError(
            f"{experiment} has no variant named {name!r}", hint=f"variants: {names}"
        ) from None


def up(
    experiment: Path | None = typer.Argument(None, help="Experiment file (default: a CPU HPA)."),
    *,
    variant: str | None = typer.Option(None, help="Variant of the experiment (default: baseline)."),
    foreground: bool = typer.Option(False, "--foreground", help="Run until Ctrl-C."),
    lab_dir: Path | None = typer.Option(None, "--lab-dir", help=LAB_DIR_HELP),
    name: str = typer.Option("default", help="Lab name (one directory per name)."),
    port: int | None = typer.Option(None, help="Front-door port (default: a free one)."),
    prometheus_port: int | None = typer.Option(None, help="Prometheus port (default: free)."),
    platform: str = typer.Option("local", help="Platform: local."),
) -> None:
    """Start a lab: sample-app replicas, Prometheus, front door and HPA; print its URLs."""
    _check_platform(platform)
    from hpalab.platforms.local import lab

    directory = _lab_dir(lab_dir, name)
    settings = _settings(experiment, variant)
    started = time.monotonic()
    if foreground:
        lab.run_foreground(
            directory,
            settings,
            experiment=str(experiment) if experiment else None,
            port=port,
            prometheus_port=prometheus_port,
            on_ready=lambda record: _print_ready(record, directory, started, foreground=True),
        )
        typer.echo("lab stopped; every process it started is gone")
        return
    argv = [
        sys.executable,
        "-m",
        "hpalab.cli.main",
        "up",
        "--foreground",
        "--lab-dir",
        str(directory),
    ]
    if experiment is not None:
        argv.append(str(experiment.absolute()))
    for option, value in (
        ("--variant", variant),
        ("--port", port),
        ("--prometheus-port", prometheus_port),
    ):
        if value is not None:
            argv += [option, str(value)]
    record = lab.start_detached(argv, directory)
    _print_ready(record, directory, started, foreground=False)


def _print_ready(
    record: dict[str, Any], directory: Path, started: float, *, foreground: bool
) -> None:
    pids = record.get("pids") or {}
    lines = [
        f"lab ready in {time.monotonic() - started:.1f} s: {directory}",
        f"  load        {record.get('load_url')}/",
        f"  prometheus  {record.get('prometheus_url')}",
        f"  lab         PID {record['lab_process'][0]}",
        *(f"  {name:<11} PID {ident[0]}" for name, ident in pids.items()),
    ]
    stop = (
        "press Ctrl-C to stop" if foreground else f"stop it with: hpalab down --lab-dir {directory}"
    )
    typer.echo("\n".join([*lines, stop]))
    sys.stdout.flush()


def status(
    lab_dir: Path | None = typer.Option(None, "--lab-dir", help=LAB_DIR_HELP),
    name: str = typer.Option("default", help="Lab name."),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show a lab's replicas, readiness, HPA status and conditions, and Prometheus targets."""
    from hpalab.platforms.local.lab import lab_status

    directory = _lab_dir(lab_dir, name)
    info = lab_status(directory)
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
    if info["state"] == "absent":
        raise PlatformError(f"no lab in {directory}", hint="start one with `hpalab up`")
    if info["state"] == "stale":
        raise PlatformError(
            f"the lab in {directory} was killed and left state behind",
            hint="`hpalab down` (or the next `hpalab up`) cleans it up",
        )
    if not as_json:
        _print_status(Console(highlight=False, soft_wrap=True), info)


def _age(t: float | None, now: float) -> str:
    return "" if t is None else f"{now - t:.0f}s"


def _print_status(console: Console, info: dict[str, Any]) -> None:
    record, current = info["record"], info.get("status") or {}
    now = time.time()
    console.print(
        f"lab {info['lab_dir']}: {info['state']}  load {record.get('load_url')}/  "
        f"prometheus {record.get('prometheus_url')}"
    )
    pods = Table("pod", "phase", "ready", "restarts", "age", "route", "pid", title="replicas")
    routes, pids = current.get("routes") or {}, current.get("pids") or {}
    for pod in current.get("pods") or []:
        pods.add_row(
            pod["name"],
            pod["phase"],
            "1/1" if pod["ready"] else "0/1",
            str(pod["restarts"]),
            _age(pod.get("created_at"), now),
            routes.get(pod["name"], "-"),
            str(pids.get(pod["name"], "")),
        )
    console.print(pods)
    hpa = current.get("hpa") or {}
    value, target = current.get("metric_value"), current.get("metric_target")
    shown = "<unknown>" if value is None else f"{value:g}"
    console.print(
        f"hpa/sample-app: replicas spec {current.get('spec_replicas')} desired "
        f"{current.get('desired_replicas')} ready {current.get('ready_replicas')}; metric "
        f"{shown}/{'' if target is None else f'{target:g}'}"
    )
    conditions = Table("condition", "status", "reason", "message", "since", title="conditions")
    for c in hpa.get("conditions") or []:
        since = c.get("lastTransitionTime")
        when = datetime.fromtimestamp(since, UTC).strftime("%H:%M:%S") if since else ""
        conditions.add_row(c["type"], c["status"], c["reason"], c["message"], when)
    console.print(conditions)
    targets = Table("pod", "health", "last scrape", "last error", title="prometheus targets")
    for t in info.get("targets") or []:
        targets.add_row(t["pod"], t["health"], str(t["last_scrape"])[11:19], t["last_error"])
    console.print(targets)


def down(
    lab_dir: Path | None = typer.Option(None, "--lab-dir", help=LAB_DIR_HELP),
    name: str = typer.Option("default", help="Lab name."),
) -> None:
    """Stop a lab and every process it started (also cleans up after a killed lab)."""
    from hpalab.platforms.local.lab import stop_lab

    directory = _lab_dir(lab_dir, name)
    started = time.monotonic()
    result = stop_lab(directory)
    took = time.monotonic() - started
    if result["running"]:
        typer.echo(f"lab stopped in {took:.1f} s: {directory}")
    elif result["stale"]:
        typer.echo(f"cleaned up a lab that had been killed: {directory}")
    else:
        typer.echo(f"no lab was running in {directory}")
    if result["killed"]:
        typer.echo(f"killed leftover processes: {', '.join(map(str, result['killed']))}")

"""``hpalab cluster …``: a real single-node Kubernetes on this machine, without a container engine.

Each command checks its options, then makes one call into :mod:`hpalab.cluster`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hpalab.errors import UsageError

if TYPE_CHECKING:
    from hpalab.cluster.config import ControllerFlags

NAME_OPT = typer.Option("hpalab", "--name", help="Cluster name (one state directory each).")

cluster_app = typer.Typer(
    name="cluster",
    help="A real single-node Kubernetes built from pinned upstream modules, no Docker needed.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``hpalab cluster`` to ``app``."""
    app.add_typer(cluster_app)


def _duration(value: str, option: str) -> str:
    from hpalab.specs.units import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as e:
        raise UsageError(
            f"{option} {value!r}: {e}", hint="give a duration such as 15s or 5m"
        ) from e
    if seconds <= 0:
        raise UsageError(f"{option} must be positive, got {value!r}", hint="for example 15s")
    return f"{seconds:g}s"


def _controller(
    sync_period: str | None,
    tolerance: float | None,
    downscale: str | None,
    readiness_delay: str | None,
    cpu_init: str | None,
    base: ControllerFlags | None = None,
) -> ControllerFlags:
    """The controller flags: ``base`` (or the defaults) with the options that were given."""
    from hpalab.cluster.config import ControllerFlags

    if tolerance is not None and not 0 <= tolerance < 1:
        raise UsageError(f"--hpa-tolerance {tolerance} is outside [0, 1)", hint="for example 0.1")
    values: dict[str, Any] = asdict(base or ControllerFlags())
    for key, value, option in (
        ("hpa_sync_period", sync_period, "--hpa-sync-period"),
        ("downscale_stabilization", downscale, "--downscale-stabilization"),
        ("initial_readiness_delay", readiness_delay, "--initial-readiness-delay"),
        ("cpu_initialization_period", cpu_init, "--cpu-initialization-period"),
    ):
        if value is not None:
            values[key] = _duration(value, option)
    if tolerance is not None:
        values["hpa_tolerance"] = tolerance
    return ControllerFlags(**values)


SYNC_OPT = typer.Option(None, "--hpa-sync-period", help="HPA sync period (default 15s).")
TOL_OPT = typer.Option(None, "--hpa-tolerance", help="HPA tolerance (default 0.1).")
DOWN_OPT = typer.Option(None, "--downscale-stabilization", help="Default 5m.")
READY_OPT = typer.Option(None, "--initial-readiness-delay", help="Default 30s.")
CPU_OPT = typer.Option(None, "--cpu-initialization-period", help="Default 5m.")


@cluster_app.command("build")
def build(
    with_: list[str] = typer.Option(
        [],
        "--with",
        help="Also build an optional component (keda: KEDA's operator, metrics apiserver and "
        "webhooks, a long build).",
    ),
) -> None:
    """Build every pinned program that is not in the cache yet (progress bar)."""
    from hpalab.cluster import building, versions
    from hpalab.cluster.runtime import protos, wheels

    optional = sorted(name for name, pin in versions.pins().items() if pin.optional)
    for name in with_:
        if name not in optional:
            raise UsageError(
                f"--with {name}: not an optional component",
                hint=f"choose from {', '.join(optional)} (the others are always built)",
            )
    todo = building.missing(versions.default_programs(tuple(with_)))
    console = Console(stderr=True)
    started = time.monotonic()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} programs"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("building", total=len(todo))
        for program in todo:
            progress.update(task, description=f"building {program}")

            def step(name: str, packages: int) -> None:
                progress.update(task, description=f"building {name} ({packages} packages)")

            building.build([program], progress=step)
            progress.advance(task)
    protos.ensure()
    wheels.ensure_all()
    typer.echo(f"built {len(todo)} programs in {time.monotonic() - started:.0f} s; all cached")


@cluster_app.command("up")
def up(
    name: str = NAME_OPT,
    kubernetes_version: str | None = typer.Option(
        None, "--kubernetes-version", help="Must be the pinned version (versions.yaml)."
    ),
    hpa_sync_period: str | None = SYNC_OPT,
    hpa_tolerance: float | None = TOL_OPT,
    downscale_stabilization: str | None = DOWN_OPT,
    initial_readiness_delay: str | None = READY_OPT,
    cpu_initialization_period: str | None = CPU_OPT,
) -> None:
    """Start the cluster: etcd, apiserver, controller-manager, scheduler, kubelet, CoreDNS…"""
    from hpalab.cluster import lifecycle, versions
    from hpalab.cluster.config import check_name
    from hpalab.cluster.network import check_prerequisites

    check_name(name)
    pinned = versions.kubernetes_version()
    if kubernetes_version is not None and kubernetes_version.lstrip("v") != pinned.lstrip("v"):
        raise UsageError(
            f"--kubernetes-version {kubernetes_version}: this hpalab builds Kubernetes {pinned}",
            hint="change the pin in hpalab/cluster/data/versions.yaml to use another release",
        )
    controller = _controller(
        hpa_sync_period,
        hpa_tolerance,
        downscale_stabilization,
        initial_readiness_delay,
        cpu_initialization_period,
    )
    check_prerequisites()
    config, timings = lifecycle.up(
        name, controller=controller, say=lambda s: typer.echo(s, err=True)
    )
    typer.echo(f"cluster {config.name} ready in {timings.marks.get('coredns-ready', 0):.1f} s")
    typer.echo(f"kubeconfig: {config.kubeconfig}")
    typer.echo(f"export KUBECONFIG={config.kubeconfig}")


@cluster_app.command("down")
def down(
    name: str = NAME_OPT,
    every: bool = typer.Option(False, "--all", help="Stop every hpalab cluster on this machine."),
) -> None:
    """Stop the cluster and remove every process, namespace, route, mount and cgroup it made."""
    from hpalab.cluster import lifecycle
    from hpalab.cluster.config import check_name, known_clusters
    from hpalab.errors import PlatformError

    names = known_clusters() if every else [check_name(name)]
    left = {n: lifecycle.down(n) for n in names}
    for each, remaining in left.items():
        if not remaining:
            typer.echo(f"cluster {each} is down; nothing of it is left")
    failed = [f"{n}: " + "; ".join(r) for n, r in left.items() if r]
    if failed:
        raise PlatformError(
            "could not remove: " + " | ".join(failed),
            hint="run `hpalab cluster down` again; if a mount stays, a process outside the "
            "cluster is using it",
        )
    if every and not names:
        typer.echo("no hpalab cluster exists")


@cluster_app.command("status")
def status(name: str = NAME_OPT, as_json: bool = typer.Option(False, "--json")) -> None:
    """Components with PID and health, the node, and the pods."""
    from hpalab.cluster import addons, lifecycle
    from hpalab.cluster.config import ClusterConfig, check_name

    check_name(name)
    info = lifecycle.status(name)
    config = ClusterConfig.load(name)
    pods = ""
    if config is not None and info["node_ready"]:
        pods = addons.kubectl(config, "get", "pods", "-A", "-o", "wide", timeout_s=10)
    if as_json:
        typer.echo(json.dumps({**info, "pods": pods}, indent=2))
        return
    table = Table(title=f"cluster {name} (Kubernetes {info['kubernetes']}, {info['server']})")
    for column in ("component", "PID", "healthy"):
        table.add_column(column)
    for component in info["components"]:  # type: ignore[attr-defined]
        table.add_row(
            component["name"], str(component["pid"] or "-"), "yes" if component["healthy"] else "NO"
        )
    console = Console()
    console.print(table)
    console.print(f"node Ready: {'yes' if info['node_ready'] else 'no'}")
    if pods:
        console.print(pods, markup=False, highlight=False)


@cluster_app.command("kubeconfig")
def kubeconfig(name: str = NAME_OPT) -> None:
    """Print the path of the cluster's admin kubeconfig."""
    from hpalab.cluster import lifecycle
    from hpalab.cluster.config import check_name

    config = lifecycle.existing(check_name(name))
    typer.echo(str(config.kubeconfig))


@cluster_app.command("images")
def images() -> None:
    """List the images the cluster's runtime can run, and the program each one is."""
    from hpalab.cluster.runtime.images import IMAGE_MAP, image_map

    table = Table(title=f"images hpalab's runtime runs ({IMAGE_MAP})")
    for column in ("image", "program", "available"):
        table.add_column(column)
    for reference, entry in image_map().images.items():
        found = entry.program.resolve()
        table.add_row(
            reference, entry.program.describe(), str(found) if found else "no: hpalab cluster build"
        )
    Console().print(table)


@cluster_app.command("restart-controller-manager")
def restart_controller_manager(
    name: str = NAME_OPT,
    hpa_sync_period: str | None = SYNC_OPT,
    hpa_tolerance: float | None = TOL_OPT,
    downscale_stabilization: str | None = DOWN_OPT,
    initial_readiness_delay: str | None = READY_OPT,
    cpu_initialization_period: str | None = CPU_OPT,
) -> None:
    """Restart kube-controller-manager with new HPA flags (the others keep their values)."""
    from hpalab.cluster import lifecycle
    from hpalab.cluster.config import check_name

    existing = lifecycle.existing(check_name(name))
    controller = _controller(
        hpa_sync_period,
        hpa_tolerance,
        downscale_stabilization,
        initial_readiness_delay,
        cpu_initialization_period,
        base=existing.controller,
    )
    config = lifecycle.restart_controller_manager(name, controller)
    typer.echo("kube-controller-manager restarted with " + " ".join(config.controller.args()))

"""``hpalab up``, ``hpalab status``, ``hpalab down``: a long-lived stack to poke at by hand.

The commands stay thin: they check the options of the chosen ``--platform`` and make one call
into it (``hpalab.platforms.local.lab`` for ``local``, ``hpalab.platforms.kubernetes`` for
``kubernetes``).
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from hpalab.cli.cleanup import clean_stale_labs
from hpalab.errors import PlatformError, UsageError
from hpalab.specs.yamlsafe import check_kubeconfigs

PLATFORMS = ("local", "kubernetes")
LAB_DIR_HELP = "Lab state directory (default: $HPALAB_LAB_DIR or ~/.local/state/hpalab/labs/NAME)."
K8S = "kubernetes platform: "
PLATFORM_OPT = typer.Option("local", "--platform", help="local or kubernetes.")
CONTEXT_OPT = typer.Option(None, "--context", help=K8S + "kubeconfig context.")
NAMESPACE_OPT = typer.Option("hpalab", "--namespace", help=K8S + "namespace of the stack.")
KUBECONFIG_OPT = typer.Option(None, "--kubeconfig", help=K8S + "kubeconfig file.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("up")(up)
    app.command("status")(status)
    app.command("down")(down)


def _lab_dir(lab_dir: Path | None, name: str) -> Path:
    from hpalab.platforms.local.labstate import default_lab_dir

    _check_name(name)
    return (lab_dir or default_lab_dir(name)).absolute()


def _check_platform(platform: str, given: dict[str, bool]) -> None:
    """Refuse an unknown platform, and options (``given``: name → was set) it does not take."""
    if platform not in PLATFORMS:
        raise UsageError(
            f"unknown platform {platform!r}", hint="use --platform local or kubernetes"
        )
    wrong = [name for name, was_set in given.items() if was_set]
    if wrong:
        raise UsageError(
            f"{', '.join(wrong)} cannot be used with --platform {platform}",
            hint="see `hpalab up --help`: options marked 'kubernetes platform' need "
            "--platform kubernetes, the others the local platform",
        )


def _settings(experiment: Path | None, variant: str | None) -> Any:
    from hpalab.cli.specfiles import load_checked_experiment
    from hpalab.platforms.local.settings import default_settings, settings_from_spec

    if experiment is None:
        if variant is not None:
            raise UsageError(
                "--variant needs an EXPERIMENT file", hint="hpalab up FILE --variant V"
            )
        return default_settings()
    loaded = load_checked_experiment(experiment)
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
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Front-door port (default: a free one)."
    ),
    prometheus_port: int | None = typer.Option(
        None, min=1, max=65535, help="Prometheus port (default: free)."
    ),
    platform: str = PLATFORM_OPT,
    context: str | None = CONTEXT_OPT,
    namespace: str = NAMESPACE_OPT,
    kubeconfig: Path | None = KUBECONFIG_OPT,
    app_image: str | None = typer.Option(None, help=K8S + "sample-app image."),
    manifests_dir: Path | None = typer.Option(None, help=K8S + "upstream release files."),
    dry_run: bool = typer.Option(False, "--dry-run", help=K8S + "print the objects only."),
    kubelet_insecure_tls: bool | None = typer.Option(
        None,
        "--kubelet-insecure-tls/--kubelet-verify-tls",
        help=K8S + "metrics-server skips or checks kubelet certificates (default: from the "
        "nodes: skip on kind, minikube, docker-desktop).",
    ),
    grafana: bool = typer.Option(
        True, "--grafana/--without-grafana", help=K8S + "deploy Grafana (default: yes)."
    ),
) -> None:
    """Start a stack: sample-app replicas, Prometheus, metrics pipeline and HPA; print its URLs."""
    local_only = {
        "--variant": variant is not None,
        "--foreground": foreground,
        "--lab-dir": lab_dir is not None,
        "--name": name != "default",
        "--port": port is not None,
        "--prometheus-port": prometheus_port is not None,
    }
    cluster_only = {
        "--context": context is not None,
        "--namespace": namespace != "hpalab",
        "--kubeconfig": kubeconfig is not None,
        "--app-image": app_image is not None,
        "--manifests-dir": manifests_dir is not None,
        "--dry-run": dry_run,
        "--kubelet-insecure-tls": kubelet_insecure_tls is not None,
        "--without-grafana": not grafana,
    }
    _check_platform(platform, cluster_only if platform == "local" else local_only)
    if platform == "kubernetes":
        from hpalab.platforms.kubernetes.lifecycle import up as cluster_up

        if not dry_run:
            check_kubeconfigs(kubeconfig)
        if experiment is not None:
            from hpalab.cli.specfiles import check_own_program_platform, load_checked_experiment

            check_own_program_platform(load_checked_experiment(experiment), platform)
        cluster_up(
            experiment,
            context=context,
            namespace=namespace,
            dry_run=dry_run,
            manifests_dir=manifests_dir,
            app_image=app_image,
            kubeconfig=kubeconfig,
            kubelet_insecure_tls=kubelet_insecure_tls,
            grafana=grafana,
            out=sys.stdout,
        )
        return
    if port is not None and port == prometheus_port:
        raise UsageError(
            f"--port and --prometheus-port are both {port}",
            hint="the front door and Prometheus each need their own port; leave one unset",
        )
    directory = _lab_dir(lab_dir, name)
    _up_local(experiment, variant, directory, foreground=foreground, ports=(port, prometheus_port))


def _check_name(name: str) -> None:
    """A lab name becomes a directory name: no separators, no dot-dot, no surprises."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name):
        raise UsageError(
            f"--name {name!r} is not a lab name",
            hint="use lower-case letters, digits and '-', e.g. --name demo",
        )


def _check_local_prerequisites(ports: tuple[int | None, int | None]) -> None:
    """What would stop the lab process at once, checked before it is started."""
    from hpalab.platforms.local.frontdoor import find_haproxy
    from hpalab.platforms.local.ports import claim_port
    from hpalab.platforms.local.prometheus import find_prometheus
    from hpalab.platforms.local.registry import check_writable

    find_prometheus()
    find_haproxy()
    check_writable()
    names = ("the front door (--port)", "Prometheus (--prometheus-port)")
    for value, what in zip(ports, names, strict=True):
        if value is not None:
            claim_port(value, what=what)


def _up_local(
    experiment: Path | None,
    variant: str | None,
    directory: Path,
    *,
    foreground: bool,
    ports: tuple[int | None, int | None],
) -> None:
    from hpalab.platforms.local import lab

    settings = _settings(experiment, variant)
    _check_local_prerequisites(ports)
    clean_stale_labs()
    started = time.monotonic()
    if foreground:
        lab.run_foreground(
            directory,
            settings,
            experiment=str(experiment) if experiment else None,
            port=ports[0],
            prometheus_port=ports[1],
            on_ready=lambda record: _print_ready(record, directory, started, foreground=True),
        )
        typer.echo("lab stopped; every process it started is gone")
        return
    argv = [sys.executable, "-m", "hpalab.cli.main", "up", "--foreground"]
    argv += ["--lab-dir", str(directory)]
    if experiment is not None:
        argv.append(str(experiment.absolute()))
    for option, value in (("--variant", variant), ("--port", ports[0])):
        if value is not None:
            argv += [option, str(value)]
    if ports[1] is not None:
        argv += ["--prometheus-port", str(ports[1])]
    # Prometheus and the front door start in seconds; the replicas take what they need.
    record = lab.start_detached(argv, directory, timeout_s=settings.ready_timeout_s + 60)
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
    platform: str = PLATFORM_OPT,
    context: str | None = CONTEXT_OPT,
    namespace: str = NAMESPACE_OPT,
    kubeconfig: Path | None = KUBECONFIG_OPT,
) -> None:
    """Show replicas, readiness, HPA status and conditions, and Prometheus targets."""
    if platform == "kubernetes":
        _check_platform(platform, {"--lab-dir": lab_dir is not None, "--name": name != "default"})
        from hpalab.platforms.kubernetes.lifecycle import status as cluster_status

        check_kubeconfigs(kubeconfig)

        out = io.StringIO() if as_json else sys.stdout
        report = cluster_status(
            context=context, namespace=namespace, kubeconfig=kubeconfig, out=out
        )
        if as_json:
            typer.echo(json.dumps(report, indent=2, default=str))
        return
    _check_platform(platform, _cluster_options(context, namespace, kubeconfig))
    from hpalab.platforms.local.lab import lab_status

    directory = _lab_dir(lab_dir, name)
    info = lab_status(directory)
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
    if info["state"] == "absent":
        raise PlatformError(
            f"no lab in {directory}", hint=f"start one with `hpalab up --lab-dir {directory}`"
        )
    if info["state"] == "stale":
        raise PlatformError(
            f"the lab in {directory} was killed and left state behind",
            hint=f"`hpalab down --lab-dir {directory}` (or the next `hpalab up`) cleans it up",
        )
    if not as_json:
        _print_status(Console(highlight=False, soft_wrap=True), info)


def _cluster_options(
    context: str | None, namespace: str, kubeconfig: Path | None
) -> dict[str, bool]:
    return {
        "--context": context is not None,
        "--namespace": namespace != "hpalab",
        "--kubeconfig": kubeconfig is not None,
    }


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
    platform: str = PLATFORM_OPT,
    context: str | None = CONTEXT_OPT,
    namespace: str = NAMESPACE_OPT,
    kubeconfig: Path | None = KUBECONFIG_OPT,
    dry_run: bool = typer.Option(False, "--dry-run", help=K8S + "list, delete nothing."),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help=K8S + "return only once everything deleted is gone."
    ),
    all_labs: bool = typer.Option(
        False, "--all", help="Stop every local lab, runs' included, and clean up killed ones."
    ),
) -> None:
    """Stop a stack and everything it started (also cleans up after a killed lab)."""
    if all_labs:
        given = {"--lab-dir": lab_dir is not None, "--name": name != "default"}
        _check_platform(platform, {**given, **_cluster_options(context, namespace, kubeconfig)})
        if platform != "local":
            raise UsageError("--all stops local labs", hint="drop --platform kubernetes")
        from hpalab.cli.cleanup import down_all

        down_all()
        return
    if platform == "kubernetes":
        _check_platform(platform, {"--lab-dir": lab_dir is not None, "--name": name != "default"})
        from hpalab.platforms.kubernetes.teardown import down as cluster_down

        check_kubeconfigs(kubeconfig)

        cluster_down(
            context=context,
            namespace=namespace,
            kubeconfig=kubeconfig,
            dry_run=dry_run,
            wait=wait,
            out=sys.stdout,
        )
        return
    cluster = {
        **_cluster_options(context, namespace, kubeconfig),
        "--dry-run": dry_run,
        "--no-wait": not wait,
    }
    _check_platform(platform, cluster)
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

"""`hpalab doctor`: is everything the experiment needs in place? Each failed check says how to
fix it; the exit code is 1 when any check failed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hpalab.errors import EXIT_ERROR, UsageError

PLATFORMS = ("local", "kubernetes")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("doctor")(doctor)


def _local_checks(experiment: Path | None) -> list[Any]:
    """The binaries the local platform starts, found exactly as `hpalab up` finds them, and
    the experiment, when one is named."""
    from hpalab.errors import PrerequisiteError
    from hpalab.platforms.kubernetes.doctor import CheckResult
    from hpalab.platforms.local.frontdoor import find_haproxy
    from hpalab.platforms.local.prometheus import find_prometheus

    out = []
    for name, find in (("prometheus", find_prometheus), ("haproxy", find_haproxy)):
        try:
            out.append(CheckResult(name, True, str(find()), ""))
        except PrerequisiteError as error:
            out.append(CheckResult(name, False, error.message, error.hint or ""))
    if experiment is not None:
        from hpalab.specs import load_experiment

        loaded = load_experiment(experiment)  # a bad experiment is bad input (exit 2)
        out.append(CheckResult("experiment", True, f"{experiment}: {loaded.name} is valid", ""))
    return out


def doctor(
    experiment: Annotated[
        Path | None,
        typer.Argument(help="Experiment whose HPA metric must be served (default: the HPA's)."),
    ] = None,
    *,
    platform: Annotated[str, typer.Option(help="Platform: local or kubernetes.")] = "local",
    context: Annotated[
        str | None, typer.Option(help="kubeconfig context (default: current).")
    ] = None,
    namespace: Annotated[str, typer.Option(help="Namespace of the hpalab stack.")] = "hpalab",
    prometheus_url: Annotated[
        str | None,
        typer.Option("--prometheus-url", help="Prometheus URL (default: through the API server)."),
    ] = None,
    kubeconfig: Annotated[
        Path | None, typer.Option(help="kubeconfig file (default: $KUBECONFIG).")
    ] = None,
) -> None:
    """Check the cluster, metrics-server, the metrics APIs, Prometheus and the HPA metric."""
    if platform not in PLATFORMS:
        raise UsageError(
            f"unknown platform {platform!r}", hint="use --platform local or kubernetes"
        )
    if platform == "local":
        results = _local_checks(experiment)
    else:
        from hpalab.platforms.kubernetes.doctor import run_checks
        from hpalab.specs.yamlsafe import check_kubeconfigs

        check_kubeconfigs(kubeconfig)

        hpa_spec = None
        if experiment is not None:
            from hpalab.specs import load_experiment

            loaded = load_experiment(experiment)
            hpa_spec = loaded.variant(loaded.baseline).spec.hpa.to_kubernetes()
        results = run_checks(
            context=context,
            namespace=namespace,
            prometheus_url=prometheus_url,
            hpa_spec=hpa_spec,
            kubeconfig=kubeconfig,
        )
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        typer.echo(f"{mark} {result.name}: {result.detail}")
        if not result.ok and result.fix:
            typer.echo(f"     fix: {result.fix}")
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_ERROR)

"""``hpalab load``: run just the load of a profile or experiment against any URL."""

from __future__ import annotations

import json
import socket
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import typer

from hpalab.cli.specfiles import load_checked
from hpalab.errors import EXIT_CHECKS_FAILED, LoadError, PrerequisiteError, UsageError
from hpalab.load.driver import LoadOutcome, LoadRun
from hpalab.load.job import LoadJob, check_url, job_from_experiment, job_from_profile
from hpalab.load.samples import LoadSample
from hpalab.specs import LoadedExperiment
from hpalab.specs.units import parse_duration

_HEADER = (
    f"{'t_s':>5} {'offered':>8} {'sched':>6} {'achieved':>8} {'fail':>5} {'dropped':>7} "
    f"{'users':>5} {'inflight':>8} {'p50_ms':>8} {'p95_ms':>8} {'p99_ms':>8} {'cpu':>5}"
)


def register(app: typer.Typer) -> None:
    app.command("load")(load)


def load(
    profile: Path = typer.Argument(..., help="A LoadProfile or Experiment file."),
    *,
    url: str = typer.Option(
        ..., "--url", help="Base URL of the target, e.g. http://127.0.0.1:8080"
    ),
    duration: str | None = typer.Option(
        None, "--duration", help="Run this long (e.g. 30s, 2m): cuts the profile or holds its end."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per second on stdout."),
    workers: int | None = typer.Option(
        None, "--workers", min=0, max=64, help="Locust worker processes (0: one process)."
    ),
    variant: str | None = typer.Option(None, "--variant", help="Experiment variant to use."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of Poisson arrivals."),
) -> None:
    """Send a profile's requests per second to URL and print what was achieved each second.

    Exits 0 when the load was delivered, 3 when it fell short of the profile (load_shortfall),
    1 when Locust failed.
    """
    job = _job(profile, url=url, workers=workers, variant=variant, seed=seed)
    if duration is not None:
        job = job.with_duration(_seconds(duration))
    _check_reachable(job.url)
    with tempfile.TemporaryDirectory(prefix="hpalab-load-") as workdir:
        outcome = _run(job, workdir=Path(workdir), as_json=as_json)
    _conclude(outcome)


def _job(
    path: Path, *, url: str, workers: int | None, variant: str | None, seed: int | None
) -> LoadJob:
    loaded = load_checked(path)
    options: dict[str, object] = {}
    if workers is not None:
        options["workers"] = workers
    if seed is not None:
        options["seed"] = seed
    if isinstance(loaded, LoadedExperiment):
        if variant is not None and variant not in {v.name for v in loaded.variants}:
            names = ", ".join(v.name for v in loaded.variants) or "none"
            raise UsageError(f"no variant named {variant!r}", hint=f"variants: {names}")
        return job_from_experiment(loaded, url=url, variant=variant, **options)
    if variant is not None:
        raise UsageError("--variant needs an experiment file", hint="drop --variant")
    return job_from_profile(loaded, url=url, **options)


def _seconds(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise UsageError(f"bad --duration {text!r}: {error}", hint="e.g. --duration 30s") from error
    if seconds <= 0:
        raise UsageError("--duration must be > 0", hint="e.g. --duration 30s")
    return seconds


def _check_reachable(url: str) -> None:
    """Fail before starting Locust when nothing listens at ``url``."""
    parts = urlsplit(check_url(url))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as error:
        raise PrerequisiteError(
            f"cannot connect to {host}:{port}: {error.strerror or error}",
            hint="start the app first (e.g. python -m hpalab.sampleapp --port 8080) or fix --url",
        ) from error


def _run(job: LoadJob, *, workdir: Path, as_json: bool) -> LoadOutcome:
    if not as_json:
        typer.echo(_HEADER)
    with LoadRun(job, workdir=workdir) as run:
        for sample in run.samples():
            typer.echo(json.dumps(sample.to_json()) if as_json else _row(sample))
    return run.outcome


def _ms(value: float | None) -> str:
    return f"{value:8.1f}" if value is not None else f"{'-':>8}"


def _row(s: LoadSample) -> str:
    cpu = f"{s.generator_cpu:5.2f}" if s.generator_cpu is not None else f"{'-':>5}"
    return (
        f"{s.t_s:5d} {s.offered_rps:8.1f} {s.scheduled:6d} {s.achieved_rps:8d} {s.failures:5d} "
        f"{s.dropped:7d} "
        f"{s.users:5d} {s.in_flight:8d} {_ms(s.latency_p50_ms)} {_ms(s.latency_p95_ms)} "
        f"{_ms(s.latency_p99_ms)} {cpu}"
    )


def _conclude(outcome: LoadOutcome) -> None:
    if outcome.status == "failed":
        for event in outcome.events:
            if event.kind == "fault":
                for name, text in json.loads(event.detail).get("stderr", {}).items():
                    sys.stderr.write(f"--- stderr of Locust {name} (end) ---\n{text}\n")
        raise LoadError(
            f"the load failed: {outcome.reason}",
            hint="read the Locust stderr above; check the URL and the endpoints",
        )
    scheduled = sum(s.scheduled for s in outcome.samples)
    achieved = sum(s.achieved_rps for s in outcome.samples)
    failures = sum(s.failures for s in outcome.samples)
    sys.stderr.write(
        f"{outcome.status}: {achieved} of {scheduled} scheduled requests got a response, "
        f"{failures} failed\n"
    )
    for shortfall in outcome.shortfalls:
        sys.stderr.write(
            f"load_shortfall at {shortfall.start_s}-{shortfall.end_s} s: achieved/offered "
            f"{shortfall.ratio:.3f}, reason {shortfall.reason} ({shortfall.explanation})\n"
        )
    if outcome.status == "load_shortfall":
        raise typer.Exit(EXIT_CHECKS_FAILED)
    if outcome.status != "complete":
        raise LoadError(f"the load did not finish: {outcome.reason}", hint="run it again")

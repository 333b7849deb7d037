"""`hpalab report` and `hpalab compare`: reports from run directories alone."""

from __future__ import annotations

from pathlib import Path

import typer

FORMAT_HELP = (
    "html (write report.html + CSV files), csv (write CSV files, print comparison) or json"
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("report")(report)
    app.command("compare")(compare)


def report(
    run_dir: Path = typer.Argument(..., help="A run directory written by `hpalab run`."),
    fmt: str = typer.Option("html", "--format", "-f", help=FORMAT_HELP),
    baseline: str | None = typer.Option(None, help="Variant to compare against."),
    alpha: float = typer.Option(0.05, help="Significance level of the rank test."),
) -> None:
    """Re-render summary.csv, comparison.csv and report.html from a run's files."""
    from hpalab.report.outputs import report_run

    _check_alpha(alpha)
    output = report_run(run_dir, fmt=fmt, baseline=baseline, alpha=alpha)
    typer.echo(output.text)


def compare(
    run_dirs: list[Path] = typer.Argument(
        ..., help="Run directories; variants are <run>/<variant>."
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="csv, json or html (to stdout or --out); with --gate: table, junit or markdown",
    ),
    baseline: str | None = typer.Option(
        None, help="Baseline: a variant of the first run or <run>/<variant>."
    ),
    alpha: float = typer.Option(0.05, help="Significance level of the rank test."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write to this file instead of stdout."
    ),
    against: Path | None = typer.Option(
        None, help="Gate: the old run to hold the new one against (with --gate)."
    ),
    gate: str | None = typer.Option(
        None, help="Gate rules: a YAML file or inline text, e.g. 'slo_violation_s: {worse_by: 0}'."
    ),
    strict: bool = typer.Option(False, help="Gate: an inconclusive check fails the gate too."),
) -> None:
    """Compare variants across runs, e.g. before and after a change; with --gate, exit 3 when
    a variant of the new run is significantly worse than in the --against run."""
    from hpalab.cli.gate import emit, finish_gate, gate_request
    from hpalab.errors import UsageError
    from hpalab.report.outputs import compare_runs

    _check_alpha(alpha)
    request = gate_request(rules=gate, against=against, fmt=fmt or "table", strict=strict, out=out)
    if request is not None:
        if len(run_dirs) != 1:
            raise UsageError(
                f"a gate compares one new run with --against; got {len(run_dirs)} runs",
                hint="hpalab compare NEW_RUN --against OLD_RUN --gate RULES",
            )
        finish_gate(request, run_dirs[0], alpha=alpha)
        return
    output = compare_runs(run_dirs, fmt=fmt or "csv", baseline=baseline, alpha=alpha)
    emit(output.text, out)


def _check_alpha(alpha: float) -> None:
    from hpalab.errors import UsageError

    if not 0 < alpha < 1:
        raise UsageError(
            f"--alpha must be between 0 and 1, got {alpha}", hint="use e.g. --alpha 0.05"
        )

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
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, json or html (to stdout or --out)"),
    baseline: str | None = typer.Option(
        None, help="Baseline: a variant of the first run or <run>/<variant>."
    ),
    alpha: float = typer.Option(0.05, help="Significance level of the rank test."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write to this file instead of stdout."
    ),
) -> None:
    """Compare variants across runs, e.g. before and after a change."""
    from hpalab.errors import PrerequisiteError
    from hpalab.report.outputs import compare_runs

    _check_alpha(alpha)
    output = compare_runs(run_dirs, fmt=fmt, baseline=baseline, alpha=alpha)
    if out is None:
        typer.echo(output.text)
        return
    try:
        out.write_text(output.text, encoding="utf-8")
    except OSError as error:
        raise PrerequisiteError(
            f"cannot write {out}: {error.strerror}", hint="pass a writable path with --out"
        ) from error
    typer.echo(str(out))


def _check_alpha(alpha: float) -> None:
    from hpalab.errors import UsageError

    if not 0 < alpha < 1:
        raise UsageError(
            f"--alpha must be between 0 and 1, got {alpha}", hint="use e.g. --alpha 0.05"
        )

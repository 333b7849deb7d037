"""The gate's command-line side, shared by ``hpalab compare --gate`` and ``hpalab run --gate``:
argument checks before anything runs, and printing the result with its exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hpalab.errors import EXIT_CHECKS_FAILED, PrerequisiteError, UsageError
from hpalab.results.schema import MANIFEST_FILE

if TYPE_CHECKING:
    from hpalab.report.gate import GateResult
    from hpalab.specs.gate import LoadedRule

STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}


@dataclass
class GateRequest:
    """A checked ``--gate RULES --against OLD_RUN`` pair."""

    rules: list[LoadedRule]
    against: Path
    fmt: str
    strict: bool
    out: Path | None = None


def gate_request(
    *, rules: str | None, against: Path | None, fmt: str, strict: bool, out: Path | None = None
) -> GateRequest | None:
    """Check the gate options (exit 2 on bad ones); ``None`` when no gate was asked for."""
    from hpalab.report.gate import GATE_FORMATS, load_rules

    if rules is None and against is None:
        if strict:
            raise UsageError("--strict needs --gate", hint="add --gate RULES --against OLD_RUN")
        return None
    if rules is None or against is None:
        missing = "--against OLD_RUN" if against is None else "--gate RULES"
        raise UsageError(
            f"a gate needs both --gate and --against; {missing} is missing",
            hint="e.g. --gate 'time_to_capacity_s: {worse_by: 10%}' --against reports/<old run>",
        )
    if fmt not in GATE_FORMATS:
        raise UsageError(
            f"unknown gate format {fmt!r}", hint=f"use one of: {', '.join(GATE_FORMATS)}"
        )
    if not (against / MANIFEST_FILE).is_file() and not (against / "trials.csv").is_file():
        raise UsageError(
            f"--against {against} is not a run directory",
            hint="pass a directory written by `hpalab run`, e.g. the main branch's stored run",
        )
    return GateRequest(load_rules(rules), against, fmt, strict, out)


def finish_gate(request: GateRequest, new_run: Path, *, alpha: float) -> None:
    """Gate ``new_run``, print (or write) the result; exit 3 when the gate refuses it."""
    from hpalab.report.gate import gate_runs, junit, markdown

    result = gate_runs(new_run, request.against, request.rules, alpha=alpha, strict=request.strict)
    if request.fmt == "table":
        _print_table(result)
    else:
        text = junit(result) if request.fmt == "junit" else markdown(result)
        emit(text, request.out)
    if result.failed:
        raise typer.Exit(EXIT_CHECKS_FAILED)


def _print_table(result: GateResult) -> None:
    from hpalab.report.gate import COLUMNS, rows

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = max(console.width, 160)  # CI logs are wide; never truncate a name
    table = Table(*(label for _, label in COLUMNS), box=None)
    for row in rows(result):
        cells = [escape(row[key]) for key, _ in COLUMNS]
        cells[-1] = f"[{STYLE[row['outcome']]}]{row['outcome']}[/]"
        table.add_row(*cells)
    console.print(table)
    for row in rows(result):
        if row["outcome"] != "pass":
            console.print(f"  {row['variant']} / {row['metric']}: {row['reason']}", markup=False)
    console.print(result.summary(), markup=False)


def emit(text: str, out: Path | None) -> None:
    """Print ``text``, or write it to ``out`` and print the path."""
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise PrerequisiteError(
            f"cannot write {out}: {error.strerror}", hint="pass a writable path with --out"
        ) from error
    typer.echo(str(out))

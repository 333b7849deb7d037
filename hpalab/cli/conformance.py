"""`hpalab conformance hpa|adapter|keda CASES.json [--check]`: run the engines on case files."""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from hpalab.autoscaling.conformance import Compare, RunCase, parse_document, run_cases
from hpalab.errors import BadInput, HpalabError

conformance_app = typer.Typer(
    name="conformance",
    help="Check the embedded engines against conformance cases ported from upstream tests.",
    no_args_is_help=True,
)

_CASES_HELP = "JSON case file: {'cases': [{'id', 'input', 'expect'}, ...]}."
_CHECK_HELP = "Compare each output with the case's 'expect'; exit 1 if any case fails."


def _load(path: Path) -> Any:
    hint = "pass a readable JSON case file, e.g. tests/conformance/hpa/replica_calculator.json"
    if path.exists() and not path.is_file():
        raise BadInput(f"{path}: not a regular file", hint=hint)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise BadInput(f"{path}: no such case file", hint=hint) from error
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: cannot read the case file: {error}", hint=hint) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(
            f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}", hint=hint
        ) from error
    except RecursionError:  # arrays or objects nested thousands deep
        raise BadInput(f"{path}: JSON nested too deeply to be a case file", hint=hint) from None


def _run(path: Path, run_case: RunCase, *, check: bool, compare_with: Compare | None = None) -> int:
    fixtures, cases = parse_document(_load(path), source=str(path))
    results = run_cases(cases, run_case, fixtures=fixtures, check=check, compare_with=compare_with)
    for result in results:
        typer.echo(json.dumps({"id": result.id, "output": result.output}, sort_keys=True))
    if not check:
        return 0
    failed = 0
    for result in results:
        if result.passed:
            typer.echo(f"PASS {result.id}")
        else:
            failed += 1
            typer.echo(f"FAIL {result.id}: {'; '.join(result.differences)}")
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _adapter_runner() -> RunCase:
    try:
        module = importlib.import_module("hpalab.autoscaling.adapter.conformance")
    except ImportError as error:
        raise HpalabError(
            f"the prometheus-adapter engine is not available ({error})",
            hint="use a build of hpalab that includes hpalab.autoscaling.adapter",
        ) from error
    runner = getattr(module, "run_case", None)
    if not callable(runner):
        raise HpalabError(
            "the prometheus-adapter engine has no run_case function",
            hint="use a build of hpalab that includes the adapter conformance runner",
        )

    def run(case: Mapping[str, Any], fixtures: Mapping[str, Any]) -> dict[str, Any]:
        output = runner(case, fixtures)
        return dict(output) if isinstance(output, Mapping) else {"error": repr(output)}

    return run


@conformance_app.command("hpa")
def hpa_command(
    cases: Annotated[Path, typer.Argument(help=_CASES_HELP)],
    check: Annotated[bool, typer.Option("--check", help=_CHECK_HELP)] = False,
) -> None:
    """Run the embedded HPA engine on CASES (one JSON object per line per case)."""
    from hpalab.autoscaling.hpa.conformance import run_case

    code = _run(cases, run_case, check=check)
    if code:
        raise typer.Exit(code)


@conformance_app.command("adapter")
def adapter_command(
    cases: Annotated[Path, typer.Argument(help=_CASES_HELP)],
    check: Annotated[bool, typer.Option("--check", help=_CHECK_HELP)] = False,
) -> None:
    """Run the prometheus-adapter rule engine on CASES."""
    code = _run(cases, _adapter_runner(), check=check)
    if code:
        raise typer.Exit(code)


@conformance_app.command("keda")
def keda_command(
    cases: Annotated[Path, typer.Argument(help=_CASES_HELP)],
    check: Annotated[bool, typer.Option("--check", help=_CHECK_HELP)] = False,
) -> None:
    """Run the KEDA engine (ScaledObject -> HPA, prometheus trigger, activation, fallback)."""
    from hpalab.autoscaling.keda.conformance import compare, run_case

    code = _run(cases, run_case, check=check, compare_with=compare)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(conformance_app, name="conformance")

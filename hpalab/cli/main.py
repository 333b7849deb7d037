"""The ``hpalab`` command: one typer app, one place that turns errors into exit codes."""

from __future__ import annotations

import importlib
import signal
import sys
import threading

import typer
from rich.console import Console

from hpalab import __version__
from hpalab.errors import EXIT_BAD_INPUT, HpalabError, SpecError

app = typer.Typer(
    name="hpalab",
    help="Experiments for Kubernetes autoscaling on business metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Each module exposes ``register(app)``; the order is the order of ``hpalab --help``.
COMMAND_MODULES = (
    "hpalab.cli.validate",
    "hpalab.cli.run",
    "hpalab.cli.restore",
    "hpalab.cli.simulate",
    "hpalab.cli.tune",
    "hpalab.cli.lab",
    "hpalab.cli.load",
    "hpalab.cli.report",
    "hpalab.cli.explain",
    "hpalab.cli.adapter",
    "hpalab.cli.keda",
    "hpalab.cli.conformance",
    "hpalab.cli.fidelity",
    "hpalab.cli.fidelity_keda",
    "hpalab.cli.doctor",
    "hpalab.cli.cluster",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hpalab {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deploy an autoscaling stack, drive load at it, and compare HPA tunings."""


_registered: list[str] = []


def _register_all() -> None:
    # Once per process: `run` is also called in-process (tests, embedding), and registering
    # again would add every command a second time and make each call slower than the last.
    for name in COMMAND_MODULES:
        if name not in _registered:
            importlib.import_module(name).register(app)
            _registered.append(name)


def report_error(error: HpalabError, console: Console) -> None:
    """Print a user-facing error: each problem, then what to do next. Never a traceback."""
    if isinstance(error, SpecError):
        for problem in error.problems:
            console.print(problem.render(), markup=False, highlight=False)
        console.print(f"error: {error.message}", style="bold red", markup=False)
        if error.hint:
            console.print(f"hint: {error.hint}", markup=False)
        return
    console.print(f"error: {error.message}", style="bold red", markup=False, highlight=False)
    if error.hint:
        console.print(f"hint: {error.hint}", markup=False, highlight=False)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM is handled like Ctrl-C: every command's cleanup (context managers, finally
    # blocks) runs, so no child process outlives hpalab. Commands that need finer control
    # (`run`, `up --foreground`) install their own handlers while they run.
    raise KeyboardInterrupt


def run(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        return _run(argv)
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    _register_all()
    console = Console(stderr=True, soft_wrap=True)
    try:
        result = app(args=argv, prog_name="hpalab", standalone_mode=False)
    except HpalabError as error:
        report_error(error, console)
        return error.exit_code
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        console.print("aborted", style="bold red")
        return 130
    except KeyboardInterrupt:
        console.print("interrupted", style="bold red")
        return 130
    except OSError as error:
        # a file the user pointed at is unreadable, a directory, on a full disk...: not a bug
        where = f": {error.filename}" if error.filename else ""
        console.print(f"error: {error.strerror or error}{where}", style="bold red", markup=False)
        console.print(
            "hint: check that the path exists, is a file, and is readable/writable", markup=False
        )
        return EXIT_BAD_INPUT
    except typer.TyperException as error:  # usage errors: exit code 2, as click sets it
        show = getattr(error, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            console.print(f"error: {error}", style="bold red", markup=False)
        return int(getattr(error, "exit_code", EXIT_BAD_INPUT))
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()

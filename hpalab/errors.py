"""The one exception tree of hpalab.

Every error a user can cause or meet carries a ``hint``: what to do next. Only ``hpalab.cli``
prints errors and picks exit codes; everything else raises::

    HpalabError                      exit 1 unless a subclass says otherwise
    ├── BadInput                     exit 2: nothing was started, nothing was lost
    │   ├── SpecError                one or more problems in a spec file (all listed at once)
    │   ├── UsageError               a bad command-line argument
    │   ├── PrerequisiteError        a missing binary, a port in use, an unreadable directory
    │   └── NotSimulable             an experiment uses something the simulator does not model
    ├── PlatformError                the platform could not start, reconfigure or stop a part
    ├── LoadError                    the load generator failed
    ├── CollectorError               a collector failed (recorded as an event, never fatal)
    ├── EngineError                  an autoscaling engine refused its input
    └── RunInterrupted               Ctrl-C or SIGTERM; data so far is kept, marked incomplete
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_CHECKS_FAILED = 3


class HpalabError(Exception):
    """Base of every error hpalab raises on purpose."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class BadInput(HpalabError):
    """The user's input is wrong; nothing was started."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class Problem:
    """One problem at one place in one file.

    ``line`` and ``column`` are 1-based; either may be ``None`` when the place is not known
    (for example a value that comes from a referenced file, or a whole-file problem).
    """

    file: str
    path: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class SpecError(BadInput):
    """Every problem found in one or more spec files, reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{count} {noun} found",
            hint="fix the places listed above and run `hpalab validate` again",
        )
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(p.render() for p in self.problems)

    @classmethod
    def single(
        cls,
        file: str | Path,
        message: str,
        *,
        path: str = "",
        hint: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> SpecError:
        return cls(
            problems=[
                Problem(
                    file=str(file), path=path, message=message, hint=hint, line=line, column=column
                )
            ]
        )


class UsageError(BadInput):
    """A command-line argument is wrong."""


class PrerequisiteError(BadInput):
    """Something the command needs is missing or taken: a binary, a free port, a directory."""


class NotSimulable(BadInput):
    """The experiment uses something ``hpalab simulate`` does not model (a PromQL function,
    a metric type); nothing was simulated."""


class PlatformError(HpalabError):
    """The platform failed to start, reconfigure, observe or stop a part of the stack."""


class LoadError(HpalabError):
    """The load generator failed or could not reach its target."""


class CollectorError(HpalabError):
    """A collector failed; the run records it as an event and carries on."""


class EngineError(HpalabError):
    """An autoscaling engine (HPA or adapter rules) refused its input."""


class RunInterrupted(HpalabError):
    """The run was interrupted by Ctrl-C or SIGTERM; data so far is kept, marked incomplete."""

    exit_code = 130

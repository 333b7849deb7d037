"""Trace files: recorded request rates as CSV rows of ``t_s,rps``."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from hpalab.errors import Problem, SpecError
from hpalab.specs.sources import read_text

MAX_PROBLEMS = 20


def load_trace_points(path: Path) -> list[tuple[float, float]]:
    """The ``(t_s, rps)`` points of a trace CSV.

    A header row is optional. Times must start at 0 and increase strictly; rates must be
    finite and ≥ 0. Every bad row is reported (up to 20), with its line number.
    """
    text = read_text(path)
    points: list[tuple[float, float]] = []
    problems: list[Problem] = []
    for line_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if line_number == 1 and not _is_number(row[0]):
            continue  # header
        message = _row_problem(row, points)
        if message:
            problems.append(Problem(str(path), "", message, "rows are t_s,rps", line_number, 1))
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        points.append((float(row[0]), float(row[1])))
    if not problems and not points:
        problems.append(Problem(str(path), "", "the trace has no rows", "add t_s,rps rows"))
    elif not problems and len(points) < 2:
        problems.append(
            Problem(str(path), "", "a trace of one row lasts 0 s", "add a row at a later t_s")
        )
    elif not problems and points[0][0] != 0:
        problems.append(Problem(str(path), "", "the first row must be at t_s = 0", None, None))
    if problems:
        raise SpecError(problems)
    return points


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _row_problem(row: list[str], points: list[tuple[float, float]]) -> str | None:
    if len(row) != 2:
        return f"expected 2 columns (t_s,rps), got {len(row)}"
    if not _is_number(row[0]) or not _is_number(row[1]):
        return f"not numbers: {','.join(row)!r}"
    t, rate = float(row[0]), float(row[1])
    if not (math.isfinite(t) and math.isfinite(rate)):
        return "values must be finite"
    if rate < 0:
        return f"rate must be ≥ 0, got {rate:g}"
    if points and t <= points[-1][0]:
        return f"t_s must increase: {t:g} after {points[-1][0]:g}"
    return None

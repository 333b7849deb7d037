"""The tuning directory: candidates.csv, pareto.csv, best-hpa.yaml and tune.html.

``tune.html`` is one self-contained page (no CDN): the front as a scatter whose axes are any
two objectives (points show their parameters on hover and in the table on click), the
parameters of the Pareto-optimal points, and the sensitivity of each objective to each
parameter (Spearman's rank correlation over every candidate: +1 = the objective rises with
the parameter, 0 = no monotone effect).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from scipy.stats import spearmanr

from hpalab.tuning.search import Candidate, SearchResult
from hpalab.tuning.space import typed

HPA_NAME = "sample-app"


def candidate_rows(result: SearchResult, *, base: dict[str, Any]) -> pd.DataFrame:
    """One row per candidate: number, parameters, each objective's median and interval."""
    rows = []
    for c in result.candidates:
        row: dict[str, Any] = {"candidate": c.number, "pareto": c.pareto, "error": c.error}
        for p in result.params:
            row[p.path] = (
                p.label_of(c.values[p.path]) if p.choices else typed(p, c.values[p.path], base=base)
            )
        for o in result.objectives:
            s = c.objectives.get(o.metric)
            row[o.metric] = s.median if s else math.nan
            row[f"{o.metric}_low"] = s.low if s else math.nan
            row[f"{o.metric}_high"] = s.high if s else math.nan
        row["repetitions"] = result.repetitions
        row["knee_distance"] = c.knee_distance if c.pareto else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity(result: SearchResult) -> dict[str, dict[str, float | None]]:
    """Objective → parameter → Spearman's ρ over the feasible candidates (None: undefined)."""
    feasible = [c for c in result.candidates if c.objectives]
    out: dict[str, dict[str, float | None]] = {}
    for o in result.objectives:
        ys = [c.objectives[o.metric].median for c in feasible]
        out[o.metric] = {}
        for p in result.params:
            xs = [p.numeric(c.values[p.path]) for c in feasible]
            usable = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
            rho = None
            if (
                len(usable) >= 3
                and len({x for x, _ in usable}) > 1
                and len({y for _, y in usable}) > 1
            ):
                value = float(spearmanr([x for x, _ in usable], [y for _, y in usable]).statistic)
                rho = None if math.isnan(value) else round(value, 3)
            out[o.metric][p.path] = rho
    return out


def best_hpa(knee: Candidate, *, name: str = HPA_NAME) -> str:
    """The knee point's HPA as a manifest ready for ``kubectl apply``."""
    assert knee.spec is not None
    spec = knee.spec.hpa.to_kubernetes()
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}, **spec}
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": spec,
    }
    header = (
        f"# The knee of the Pareto front found by `hpalab tune` (candidate {knee.number}).\n"
        "# Point scaleTargetRef at your workload before applying.\n"
    )
    return header + yaml.safe_dump(hpa, sort_keys=False, width=100)


def best_adapter(knee: Candidate) -> str:
    """The knee point's prometheus-adapter configuration (its ``config.yaml``)."""
    assert knee.spec is not None
    header = (
        f"# prometheus-adapter rules of the knee found by `hpalab tune` (candidate "
        f"{knee.number}): the adapter's config.yaml.\n"
    )
    return header + yaml.safe_dump(knee.spec.adapter, sort_keys=False, width=100)


def view(result: SearchResult, *, title: str, base: dict[str, Any]) -> dict[str, Any]:
    """The plain data tune.html is rendered from."""
    frame = candidate_rows(result, base=base)
    points = []
    for row, c in zip(frame.to_dict("records"), result.candidates, strict=True):
        if not c.objectives:
            continue
        points.append(
            {
                "n": c.number,
                "pareto": c.pareto,
                "knee": result.knee is not None and c.number == result.knee.number,
                "params": {p.path: row[p.path] for p in result.params},
                "obj": {o.metric: _finite(row[o.metric]) for o in result.objectives},
            }
        )
    return {
        "title": title,
        "objectives": [
            {"metric": o.metric, "label": o.label, "unit": o.unit, "direction": o.direction}
            for o in result.objectives
        ],
        "params": [p.path for p in result.params],
        # inside a <script>: no "<" may close it, whatever a parameter value holds
        "points_json": json.dumps(points).replace("<", "\\u003c"),
        "front": [p for p in points if p["pareto"]],
        "sensitivity": sensitivity(result),
        "candidates": len(result.candidates),
        "infeasible": sum(1 for c in result.candidates if not c.objectives),
        "repetitions": result.repetitions,
    }


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, float | int) and math.isfinite(value) else None


def render(data: dict[str, Any]) -> str:
    """tune.html from its view (user strings are escaped)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hpalab.tuning", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("tune.html.j2").render(v=data)


def write_outputs(result: SearchResult, *, path: Path, title: str, base: dict[str, Any]) -> None:
    """Write the tuning directory's files into ``path`` (which exists)."""
    frame = candidate_rows(result, base=base)
    frame.to_csv(path / "candidates.csv", index=False, na_rep="")
    front = frame[frame["pareto"]].sort_values("knee_distance", kind="stable")
    front.to_csv(path / "pareto.csv", index=False, na_rep="")
    knee = result.knee
    if knee is not None:
        (path / "best-hpa.yaml").write_text(best_hpa(knee), encoding="utf-8")
        if any(p.path.startswith("adapter.") for p in result.params):
            (path / "best-adapter.yaml").write_text(best_adapter(knee), encoding="utf-8")
    (path / "tune.html").write_text(render(view(result, title=title, base=base)), encoding="utf-8")

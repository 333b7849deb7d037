"""The report as plain data: every string and number the page shows, and the chart markup.

The template only lays this out. ``build_view`` needs no I/O; ``json_view`` is the same data
without markup, for ``--format json``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from hpalab.analysis.comparison import variant_verdicts
from hpalab.analysis.metrics import KEY_METRICS, METRIC_INFO
from hpalab.analysis.reliability import group_findings, usable
from hpalab.analysis.waterfall import Waterfall
from hpalab.report.analysed import AnalysedRun
from hpalab.report.charts import Bar, stacked_bars
from hpalab.report.faultview import fault_records, fault_rows
from hpalab.report.timelines import representative, trial_svg

WATERFALL_PARTS = (
    ("scrape wait", "w-scrape"),
    ("rate() window", "w-rate"),
    ("KEDA polling wait", "w-poll"),
    ("sync wait", "w-sync"),
    ("stabilization / policy", "w-hold"),
    ("pod start-up", "w-startup"),
    ("readiness", "w-ready"),
)
HEADLINES = (
    ("time_to_capacity_s", "Fastest to capacity"),
    ("detection_latency_s", "Fastest to react"),
    ("slo_violation_s", "Fewest seconds outside the SLO"),
    ("cost_replica_s", "Cheapest"),
)


def fmt(value: float, unit: str) -> str:
    """A metric value for display: ``never`` for inf, an en dash for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "never" if value > 0 else "−∞"
    if unit == "ratio":
        return f"{value:.3f}"
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.1f} {unit}".strip() if unit not in ("count", "replicas") else f"{value:g}"


def relative(diff: float, base: float) -> str:
    """The difference against the baseline in %, or in absolute terms when % is meaningless."""
    if math.isnan(diff):
        return ""
    if math.isinf(diff) or math.isinf(base):
        return "never vs finite" if diff > 0 else "finite vs never"
    if base == 0:
        return f"{diff:+.1f}"
    return f"{diff / abs(base) * 100:+.0f} %"


def _best(rows: pd.DataFrame, better: str) -> set[str]:
    values = rows["median"].to_numpy(dtype="float64")
    if better == "zero":
        values = np.abs(values)
    known = ~np.isnan(values)
    if not known.any() or better == "none":
        return set()
    target = values[known].max() if better == "higher" else values[known].min()
    if np.sum(values[known] == target) == known.sum() and known.sum() > 1:
        return set()  # a tie across every variant highlights nothing
    return set(rows["variant"][known & (values == target)].astype(str))


def verdict_table(a: AnalysedRun) -> dict[str, Any]:
    """Variants as rows, key metrics as columns; the best cell of each column flagged."""
    comp = a.comparison
    columns = [
        {
            "name": m,
            "label": METRIC_INFO[m].label,
            "unit": METRIC_INFO[m].unit,
            "better": METRIC_INFO[m].better,
        }
        for m in KEY_METRICS
    ]
    best = {m: _best(comp[comp["metric"] == m], METRIC_INFO[m].better) for m in KEY_METRICS}
    overall = variant_verdicts(comp, KEY_METRICS)
    by_key = {(str(r["variant"]), str(r["metric"])): r for r in comp.to_dict(orient="records")}
    rows = []
    for variant in a.variants:
        cells = []
        for m in KEY_METRICS:
            r = by_key[(variant, m)]
            unit = METRIC_INFO[m].unit
            cells.append(
                {
                    "value": fmt(r["median"], unit),
                    "ci": f"{fmt(r['ci_low'], unit)} – {fmt(r['ci_high'], unit)}"
                    if r["n"] > 1
                    else "",
                    "delta": ""
                    if variant == a.baseline
                    else relative(r["diff_vs_baseline"], by_key[(a.baseline, m)]["median"]),
                    "verdict": str(r["verdict"]),
                    "p": "" if math.isnan(r["p_value"]) else f"p = {r['p_value']:.2f}",
                    "best": variant in best[m],
                }
            )
        n = max(int(by_key[(variant, m)]["n"]) for m in KEY_METRICS)
        rows.append(
            {
                "variant": variant,
                "is_baseline": variant == a.baseline,
                "n": n,
                "overall": overall.get(variant, ""),
                "cells": cells,
                "settings": a.info[variant].settings,
            }
        )
    return {"columns": columns, "rows": rows}


def headlines(a: AnalysedRun) -> list[str]:
    """One sentence per lead metric, naming the best variant and how sure we are, then the
    variant with the best median on the most key metrics."""
    comp, out = a.comparison, []
    for metric, text in HEADLINES:
        rows = comp[comp["metric"] == metric]
        winners = _best(rows, METRIC_INFO[metric].better)
        if not winners:
            continue
        name = sorted(winners, key=a.variants.index)[0]
        row = rows[rows["variant"] == name].iloc[0]
        base = rows[rows["variant"] == a.baseline].iloc[0]
        unit = METRIC_INFO[metric].unit
        if name == a.baseline:
            out.append(f"{text}: {name} (the baseline), {fmt(row['median'], unit)}.")
            continue
        p = float(row["p_value"])
        sure = {
            "better": f"a clear difference (p = {p:.2f})",
            "worse": f"worse by the rank test (p = {p:.2f})",
        }.get(str(row["verdict"]), f"not yet conclusive (p = {p:.2f})")
        if math.isnan(p):
            sure = "no test possible (a side has no value)"
        out.append(
            f"{text}: {name}, {fmt(row['median'], unit)} against {fmt(base['median'], unit)} for "
            f"{a.baseline} ({relative(row['diff_vs_baseline'], base['median'])}); {sure}."
        )
    wins = dict.fromkeys(a.variants, 0)
    for metric in KEY_METRICS:
        for winner in _best(comp[comp["metric"] == metric], METRIC_INFO[metric].better):
            wins[winner] += 1
    leader = max(a.variants, key=lambda v: wins[v])
    if len(a.variants) > 1 and wins[leader] > 0:
        out.append(
            f"Best median on the most key metrics: {leader} ({wins[leader]} of {len(KEY_METRICS)})."
        )
    return out


def waterfall_svg(a: AnalysedRun) -> str:
    """Median waterfall per variant as stacked bars (detection parts, then actuation parts)."""
    ok = a.summary[usable(a.summary)]
    bars = []
    for variant in a.variants:
        rows = ok[ok["variant"] == variant]
        segments = []
        for (label, css), part in zip(WATERFALL_PARTS, Waterfall.PARTS, strict=True):
            values = rows[f"wf_{part}"].to_numpy(dtype="float64")
            values = values[np.isfinite(values)]
            segments.append((label, css, float(np.median(values)) if values.size else math.nan))
        bars.append(Bar(variant, segments, band=_detection_band(a, variant)))
    return stacked_bars(bars)


def _detection_band(a: AnalysedRun, variant: str) -> tuple[float, float, float] | None:
    """The variant's predicted detection band, as the median over its load steps."""
    bands = [
        c.band.detection_s for c in a.bands if c.variant == variant and c.band.scale_up_expected
    ]
    finite = [b for b in bands if all(math.isfinite(x) for x in b)]
    if not finite:
        return None
    low, typical, high = (float(np.median([b[k] for b in finite])) for k in range(3))
    return low, typical, high


def band_rows(a: AnalysedRun) -> list[dict[str, Any]]:
    """Measured against predicted detection latency and time to capacity, per step."""

    def span(band: tuple[float, float, float]) -> str:
        return " / ".join(fmt(x, "s") for x in band)

    def measured(values: list[float]) -> str:
        return ", ".join(fmt(v, "s") for v in values)

    return [
        {
            "variant": c.variant,
            "step": f"{c.t0_s:g} s: {c.from_rps:g} → {c.to_rps:g} rps",
            "pred_detection": span(c.band.detection_s)
            if c.band.scale_up_expected
            else "no scale-up",
            "detection": measured(c.detection_s),
            "pred_ttc": span(c.band.time_to_capacity_s),
            "ttc": measured(c.time_to_capacity_s),
            "outside": ", ".join(c.outside),
            "note": c.band.note,
        }
        for c in a.bands
    ]


def timelines(a: AnalysedRun) -> list[dict[str, Any]]:
    """Per variant, one timeline per trial; the representative trial is shown first."""
    ends = [float(tr.signals.index.max()) for tr in a.traces.values() if len(tr.signals)]
    t1 = max(ends) + 1 if ends else 1.0
    out = []
    for vi, variant in enumerate(a.variants):
        ids = [str(t) for t in a.summary["trial_id"][a.summary["variant"] == variant]]
        ids = [t for t in ids if t in a.traces and len(a.traces[t].signals)]
        if not ids:
            continue
        chosen = representative(ids, a.summary)
        trials = []
        for ti, trial in enumerate(ids):
            others = [a.traces[o] for o in ids if o != trial]
            svg = trial_svg(
                a.traces[trial],
                slo=a.info[variant].slo,
                t0=0.0,
                t1=t1,
                chart_id=f"tl-{vi}-{ti}",
                others=others,
            )
            trials.append({"trial_id": trial, "svg": svg, "selected": trial == chosen})
        out.append({"variant": variant, "trials": trials, "chosen": chosen})
    return out


def comparison_rows(a: AnalysedRun) -> list[dict[str, Any]]:
    """Every row of comparison.csv, formatted."""
    rows = []
    for r in a.comparison.to_dict(orient="records"):
        unit = str(r["unit"])
        p, effect = float(r["p_value"]), float(r["effect_size"])
        rows.append(
            {
                "variant": r["variant"],
                "metric": METRIC_INFO[str(r["metric"])].label,
                "n": r["n"],
                "median": fmt(r["median"], unit),
                "ci": f"{fmt(r['ci_low'], unit)} – {fmt(r['ci_high'], unit)}",
                "diff": fmt(r["diff_vs_baseline"], unit),
                "p": "" if math.isnan(p) else f"{p:.3f}",
                "effect": "" if math.isnan(effect) else f"{effect:+.2f}",
                "verdict": r["verdict"],
            }
        )
    return rows


def build_view(a: AnalysedRun, *, lock_text: str, timelines_on: bool = True) -> dict[str, Any]:
    """The whole report as plain data plus chart markup."""
    manifest = a.run.manifest
    status = manifest.status if manifest else "no manifest"
    return {
        "title": f"hpalab report: {a.run.name}",
        "experiment": a.run.name,
        "run_dir": a.run.path.name,
        "status": status,
        "started_at": manifest.started_at.isoformat() if manifest else "",
        "baseline": a.baseline,
        "alpha": a.alpha,
        "trials": len(a.summary),
        "load_model": "; ".join(
            sorted({i.settings.get("load model", "") for i in a.info.values()} - {""})
        ),
        "headlines": headlines(a),
        "findings": [f.__dict__ for f in a.findings],
        "finding_groups": [
            {**g.__dict__, "findings": [f.__dict__ for f in g.findings]}
            for g in group_findings(a.findings)
        ],
        "verdict": verdict_table(a),
        "waterfall_svg": waterfall_svg(a),
        "waterfall_parts": WATERFALL_PARTS,
        "bands": band_rows(a),
        "faults": fault_rows(a, fmt=fmt),
        "timelines": timelines(a) if timelines_on else [],
        "comparison": comparison_rows(a),
        "spec_yaml": lock_text,
        "manifest_json": manifest.model_dump_json(indent=2) if manifest else "",
    }


def json_view(a: AnalysedRun) -> str:
    """Findings, summary, comparison and band checks as JSON (inf → "inf", NaN → null)."""
    doc = {
        "experiment": a.run.name,
        "baseline": a.baseline,
        "alpha": a.alpha,
        "findings": [f.__dict__ for f in a.findings],
        "summary": _records(a.summary),
        "comparison": _records(a.comparison),
        "bands": [
            {
                "variant": c.variant,
                "t0_s": c.t0_s,
                "from_rps": c.from_rps,
                "to_rps": c.to_rps,
                "predicted_detection_s": list(c.band.detection_s),
                "predicted_time_to_capacity_s": list(c.band.time_to_capacity_s),
                "detection_s": c.detection_s,
                "time_to_capacity_s": c.time_to_capacity_s,
                "outside": c.outside,
            }
            for c in a.bands
        ],
        "faults": fault_records(a),
    }
    return json.dumps(_clean(doc), indent=2, ensure_ascii=False)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return (
            "inf" if math.isinf(value) and value > 0 else ("-inf" if math.isinf(value) else value)
        )
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if value is pd.NA:
        return None
    return value

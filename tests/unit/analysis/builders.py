"""Hand-built traces for the metric tests: every value is written out, so answers are known."""

from __future__ import annotations

import json

import pandas as pd

from hpalab.analysis.traces import Trace, make_trace


def trace(signals: dict[str, list[float]], events: list[tuple[float, str, str, dict | str]] = ()):
    """A trace on a 1 s grid from t = 0, with events ``(t_s, kind, object, detail)``."""
    rows = [
        {"t_s": float(t), "signal": name, "value": float(v)}
        for name, values in signals.items()
        for t, v in enumerate(values)
    ]
    tidy = pd.DataFrame(rows, columns=["t_s", "signal", "value"])
    frame = pd.DataFrame(
        [
            {
                "t_s": float(t),
                "kind": kind,
                "object": obj,
                "detail": json.dumps(detail) if isinstance(detail, dict) else detail,
            }
            for t, kind, obj, detail in events
        ],
        columns=["t_s", "kind", "object", "detail"],
    )
    return make_trace("v#1", tidy, frame)


def step(t: float, from_rps: float, to_rps: float, stage: int = 1):
    return (t, "load_step", "load", {"stage": stage, "from_rps": from_rps, "to_rps": to_rps})


def decision(t: float, desired: int, current: int):
    return (t, "hpa_decision", "hpa/app", {"desired": desired, "current": current, "reason": "x"})


def pod(t: float, kind: str, name: str):
    return (t, kind, name, "")


def piecewise(length: int, *changes: tuple[int, float]) -> list[float]:
    """A step signal: ``changes`` are ``(from_t, value)`` pairs, the first at t = 0."""
    out, value, marks = [], 0.0, dict(changes)
    for t in range(length):
        value = marks.get(t, value)
        out.append(value)
    return out


__all__ = ["Trace", "decision", "piecewise", "pod", "step", "trace"]

"""How fast `hpalab simulate` runs, against the real duration of what it simulates.

1. One trial of the ramp as the flagship ran it until 2026-12 (4m35s: 15 s warm-up, 5 rps for
   20 s, a ramp to 200 rps over 2m30s, 1 min plateau, 30 s cool-down; ~27,500 requests), and
   one trial of today's flagship (3m55s). Figures are CPU seconds of this process (one core)
   and wall seconds, best of ``--rounds``; the machine is shared, so CPU time is the fairer
   figure. Target: ≤ 50 ms per 4m35s trial, ≥ 5,000× real time.
2. The whole flagship experiment with 100 repetitions per variant (300 trials) written as a
   run directory, in parallel over the cores; then its report (summary, comparison,
   report.html). Target: the simulation under 30 s.

Run: .venv/bin/python benchmarks/simulate.py [--rounds 5] [--repetitions 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hpalab.report.outputs import report_run
from hpalab.simulation import Calibration, simulate_experiment
from hpalab.simulation.experiment import Planner
from hpalab.simulation.trial import simulate_trial
from hpalab.specs import LoadedExperiment, load_experiment

ROOT = Path(__file__).resolve().parents[1]
OLD_RAMP = """\
apiVersion: hpalab/v1
kind: Experiment
metadata:
  name: ramp-2026-11
spec:
  hpa:
    minReplicas: 1
    maxReplicas: 25
    metrics:
      - type: Pods
        pods:
          metric: {name: http_requests_per_second}
          target: {type: AverageValue, averageValue: "10"}
  adapter:
    rules:
      - seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
        resources:
          overrides:
            namespace: {resource: namespace}
            pod: {resource: pod}
        name: {matches: "^(.*)_total$", as: "${1}_per_second"}
        metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
  prometheus: {scrapeInterval: 5s}
  app: {cpuPerRequest: 1ms, latency: 10ms, startupDelay: 3s}
  load:
    arrivals: {process: poisson}
    stages:
      - {type: hold, rps: 5, duration: 20s}
      - {type: ramp, to: 200, duration: 2m30s}
      - {type: hold, duration: 1m}
  phases: {warmup: 15s, warmupRps: 5, cooldown: 30s}
  seed: 20261126
"""


def trial_length_s(loaded: LoadedExperiment) -> float:
    phases = loaded.experiment.spec.phases
    return phases.warmup + loaded.curve().duration_s + phases.cooldown


def one_trial(loaded: LoadedExperiment, *, rounds: int) -> tuple[float, float, int]:
    """(best CPU s, best wall s, requests) of simulating the first variant's trial."""
    variant = loaded.variants[0]
    data = Planner(loaded, calibration=Calibration()).trial(
        trial_id=f"{variant.name}#1", spec=variant.spec, repetition=1
    )
    simulate_trial(data)  # warm caches (regexes, parsed queries)
    cpu, wall = [], []
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        simulate_trial(data)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall), len(data.arrivals)


def report_trial(name: str, loaded: LoadedExperiment, rounds: int) -> None:
    length = trial_length_s(loaded)
    cpu, wall, requests = one_trial(loaded, rounds=rounds)
    print(
        f"{name}: {length:.0f} s trial, {requests} requests: {cpu * 1000:.1f} ms CPU "
        f"({length / cpu:,.0f}× real time), {wall * 1000:.1f} ms wall"
    )


def whole_experiment(repetitions: int) -> None:
    loaded = load_experiment(ROOT / "experiments" / "ramp.yaml")
    trials = repetitions * len(loaded.variants)
    real_s = trials * trial_length_s(loaded)
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        result = simulate_experiment(
            loaded, out_dir=Path(out), calibration=Calibration(), repetitions=repetitions
        )
        simulated = time.perf_counter() - began
        began = time.perf_counter()
        report_run(result.path, fmt="html")
        reported = time.perf_counter() - began
    print(
        f"flagship × {repetitions} repetitions ({trials} trials, {real_s / 3600:.1f} h for "
        f"real) on {os.cpu_count()} cores: simulated and written in {simulated:.1f} s "
        f"({real_s / simulated:,.0f}× real time); report {reported:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "old-ramp.yaml"
        path.write_text(OLD_RAMP, encoding="utf-8")
        report_trial("ramp as of 2026-11", load_experiment(path), args.rounds)
    report_trial("flagship ramp", load_experiment(ROOT / "experiments" / "ramp.yaml"), args.rounds)
    whole_experiment(args.repetitions)


if __name__ == "__main__":
    main()

"""How long ``load_spec`` takes to refuse hostile YAML, and its memory peak, per input.

Each figure is the median of several runs, also given as a ratio against loading the valid
``experiments/ci-smoke.yaml`` in the same run (the machine is shared and noisy). The memory
peak is tracemalloc's, over one refusal.

Run: .venv/bin/python benchmarks/hostile_yaml.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from hpalab.errors import SpecError
from hpalab.specs import load_spec

REPO = Path(__file__).resolve().parents[1]
HEADER = "apiVersion: hpalab/v1\nkind: Experiment\nmetadata:\n  name: x\n"


def _laughs(levels: int) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


CASES = {
    "nul byte": HEADER + "spec:\x00\n",
    "billion laughs (9^12 values)": _laughs(12),
    "1,000,000 '[' on one line": "a: " + "[" * 1_000_000 + "\n",
    "3,000 nested block lists": "a:\n" + "".join("  " * i + "- \n" for i in range(3000)),
    "5,000-digit integer": HEADER + "spec:\n  seed: " + "9" * 5000 + "\n",
    "100,000 keys (1.4 MB)": "".join(f"k{i}: {i}\n" for i in range(100_000)),
    "one 9 MB scalar": "a: " + "x" * 9_000_000 + "\n",
}


def _seconds(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with contextlib.suppress(SpecError):
            load_spec(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _peak(path: Path) -> int:
    tracemalloc.start()
    with contextlib.suppress(SpecError):
        load_spec(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    baseline = _seconds(REPO / "experiments" / "ci-smoke.yaml", args.repeat)
    print(f"{'input':<32} {'refused in':>11} {'vs valid spec':>14} {'memory peak':>12}")
    print(f"{'ci-smoke.yaml (valid, baseline)':<32} {baseline * 1000:>8.1f} ms {1.0:>13.2f}×")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in CASES.items():
            path = Path(tmp) / "case.yaml"
            path.write_text(text)
            seconds = _seconds(path, args.repeat)
            print(
                f"{name:<32} {seconds * 1000:>8.1f} ms {seconds / baseline:>13.2f}× "
                f"{_peak(path) / 1e6:>9.1f} MB"
            )


if __name__ == "__main__":
    main()

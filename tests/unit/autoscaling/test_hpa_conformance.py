"""Every HPA conformance file passes with --check through the CLI, and the port is large enough."""

import json
from pathlib import Path

import pytest

from hpalab.cli.main import run

CASE_DIR = Path(__file__).resolve().parents[2] / "conformance" / "hpa"
FILES = sorted(CASE_DIR.glob("*.json"))


def test_at_least_120_cases_each_with_a_source():
    cases = [c for f in FILES for c in json.loads(f.read_text())["cases"]]
    assert len(cases) >= 120
    assert all(c.get("source") for c in cases)
    assert len({c["id"] for c in cases}) == len(cases)
    upstream = [c for c in cases if not c.get("derived")]
    assert len(upstream) >= 120


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_conformance_file_passes(path, capsys):
    code = run(["conformance", "hpa", str(path), "--check"])
    out = capsys.readouterr().out
    total = len(json.loads(path.read_text())["cases"])
    assert f"{total} passed, 0 failed" in out
    assert code == 0

"""hpalab tune: the search space, a known optimum, the tuning directory, bad input."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from hpalab.cli.main import run
from hpalab.errors import UsageError
from hpalab.specs import load_experiment
from hpalab.tuning.space import apply, parse_param

ROOT = Path(__file__).resolve().parents[3]
RAMP = ROOT / "experiments" / "ramp.yaml"

# 20 requests/s for a minute against replicas of 40 requests/s: one replica is enough when
# the HPA target is at least ~19 requests/s per pod and minReplicas is 1.
STEADY = """\
apiVersion: hpalab/v1
kind: Experiment
metadata:
  name: steady
spec:
  hpa:
    minReplicas: 2
    maxReplicas: 10
    metrics:
      - type: Pods
        pods:
          metric: {name: http_requests_per_second}
          target: {type: AverageValue, averageValue: "5"}
  adapter:
    rules:
      - seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
        resources:
          overrides:
            namespace: {resource: namespace}
            pod: {resource: pod}
        name: {matches: "^(.*)_total$", as: "${1}_per_second"}
        metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[30s])) by (<<.GroupBy>>)'
  controller: {syncPeriod: 5s}
  prometheus: {scrapeInterval: 5s}
  app: {cpuPerRequest: 1ms, latency: 99ms, concurrency: 4, startupDelay: 1s}
  load:
    arrivals: {process: uniform}
    stages:
      - {type: hold, rps: 20, duration: 60s}
  phases: {warmup: 5s, warmupRps: 20, cooldown: 0s}
  seed: 3
"""


@pytest.fixture
def steady(tmp_path):
    path = tmp_path / "steady.yaml"
    path.write_text(STEADY)
    return path


def _base():
    loaded = load_experiment(RAMP)
    return loaded.variant(loaded.baseline).spec.to_yaml_dict()


def test_ranges_lists_and_windows_are_parsed_against_the_spec():
    base = _base()
    target = parse_param("hpa.metrics[0].pods.target.averageValue=5..40", base=base)
    assert (target.low, target.high, target.integer, target.log) == (5, 40, True, False)
    logged = parse_param("hpa.behavior.scaleUp.stabilizationWindowSeconds=log:1..100", base=base)
    assert logged.log and logged.integer
    tolerance = parse_param("controller.tolerance=0.05..0.2", base=base)
    assert not tolerance.integer
    policy = parse_param("hpa.behavior.scaleUp.selectPolicy=Max,Min", base=base)
    assert policy.choices == ("Max", "Min")
    window = parse_param("adapter.rules[0].metricsQuery=window:30s,2m", base=base)
    assert window.labels == ("30s", "2m")
    assert "[2m]" in window.choices[1] and "[30s]" not in window.choices[1]
    # a quantity held as a string stays a string
    spec = apply([target, window], {target.path: 17, window.path: window.choices[1]}, base=base)
    assert spec.hpa.metrics[0].pods.target.average_value == "17"
    assert "[2m]" in spec.adapter["rules"][0]["metricsQuery"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hpa.maxReplicas", "is not PATH=SPEC"),
        ("hpa.maxReplicas=40..5", "from a lower to a higher"),
        ("hpa.minReplicas=0..3", "makes the spec invalid"),
        ("hpa.maxReplicas=log:0..10", "above 0"),
        ("hpa.maxReplicas=window:30s,1m", "needs a field holding a PromQL query"),
        ("adapter.rules[0].metricsQuery=window:fast", "durations like 30s"),
        ("hpa.metrics[x]=1..2", "--param"),
    ],
)
def test_bad_params_are_usage_errors(text, expected):
    with pytest.raises(UsageError) as error:
        parse_param(text, base=_base())
    assert expected in error.value.message and error.value.hint


def test_a_two_parameter_search_finds_the_known_optimum(steady, tmp_path, capsys):
    code = run(
        [
            "tune",
            str(steady),
            "--param",
            "hpa.metrics[0].pods.target.averageValue=2..30",
            "--param",
            "hpa.minReplicas=1..4",
            "--objective",
            "cost_replica_s",
            "--budget",
            "24",
            "--repetitions",
            "1",
            "--jobs",
            "1",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    (path,) = list((tmp_path / "out").iterdir())
    candidates = pd.read_csv(path / "candidates.csv")
    best = candidates.sort_values("cost_replica_s").iloc[0]
    # one replica for the whole measured window (61 one-second samples, 0..60 s) is the
    # least any tuning can cost
    assert best["cost_replica_s"] == 61
    assert best["hpa.minReplicas"] == 1
    assert best["hpa.metrics[0].pods.target.averageValue"] >= 18
    # and the search got there from worse ones
    assert candidates["cost_replica_s"].max() > 61
    pareto = pd.read_csv(path / "pareto.csv")
    assert (pareto["cost_replica_s"] == 61).all()
    hpa = yaml.safe_load((path / "best-hpa.yaml").read_text())
    assert hpa["kind"] == "HorizontalPodAutoscaler" and hpa["spec"]["minReplicas"] == 1
    html = (path / "tune.html").read_text()
    assert "Pareto front" in html and "Sensitivity" in html and "<script>" in html


def test_the_search_is_the_same_with_any_number_of_workers(steady, tmp_path):
    paths = []
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        argv = ["tune", str(steady), "--param", "hpa.minReplicas=1..4", "--budget", "10"]
        argv += ["--repetitions", "2", "--jobs", jobs, "--out", str(out), "--json"]
        assert run(argv) == 0
        (path,) = list(out.iterdir())
        paths.append(path)
    first, second = (p / "candidates.csv" for p in paths)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--param", "hpa.nothing[3]=1..2"], "--param"),
        (["--param", "hpa.minReplicas=1..3", "--objective", "episodes"], "--objective"),
        (["--param", "hpa.minReplicas=1..3", "--platform", "mars"], "--platform"),
        (["--param", "hpa.minReplicas=1..3", "--param", "hpa.minReplicas=2..3"], "twice"),
        (["--param", "hpa.minReplicas=1..3", "--budget", "1"], "--budget"),
    ],
)
def test_bad_arguments_are_bad_input(steady, tmp_path, capsys, args, expected):
    code = run(["tune", str(steady), "--out", str(tmp_path / "o"), *args])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert expected in captured.err + captured.out
    assert "Traceback" not in captured.err
    assert not (tmp_path / "o").exists()


def test_user_strings_in_tune_html_are_escaped(steady, tmp_path):
    hostile = "</script><img src=x onerror=alert(1)>"
    code = run(
        [
            "tune",
            str(steady),
            "--param",
            f"adapter.rules[0].name.as={hostile}",
            "--budget",
            "6",
            "--repetitions",
            "1",
            "--jobs",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--json",
        ]
    )
    assert code == 0
    (path,) = list((tmp_path / "out").iterdir())
    candidates = pd.read_csv(path / "candidates.csv")
    assert set(candidates["adapter.rules[0].name.as"]) == {hostile}  # it was searched
    html = (path / "tune.html").read_text()
    assert hostile not in html
    assert "<img" not in html
    assert "\\u003c/script>" in html  # in the plot's data, escaped for a <script>

"""spec.keda: the HPA KEDA generates, KEDA's admission rules as file:line problems, variants."""

from __future__ import annotations

import pytest

from hpalab.cli.main import run
from hpalab.specs import load_experiment
from hpalab.specs.keda.quantity import float_quantity, milli_quantity, parse_quantity

KEDA = """\
apiVersion: hpalab/v1
kind: Experiment
metadata:
  name: keda-demo
spec:
  keda:
    minReplicaCount: {min}
    maxReplicaCount: 6
    pollingInterval: 5
    advanced:
      horizontalPodAutoscalerConfig:
        behavior:
          scaleDown:
            stabilizationWindowSeconds: 30
            tolerance: "0.05"
    triggers:
      - type: prometheus
        metadata:
          serverAddress: http://127.0.0.1:9090
          query: sum(rate(http_requests_total[1m]))
          threshold: "{threshold}"
      - type: cpu
        metricType: Utilization
        metadata:
          value: "80"
  load:
    stages:
      - type: hold
        rps: 5
        duration: 30s
{variants}"""


def _text(*, min_count: int = 0, threshold: str = "10", variants: str = "") -> str:
    return KEDA.format(min=min_count, threshold=threshold, variants=variants)


def test_the_generated_hpa_stands_in_for_spec_hpa(write) -> None:
    loaded = load_experiment(write(_text(threshold="12.5")))
    spec = loaded.variants[0].spec
    hpa = spec.hpa.to_kubernetes()
    assert hpa["minReplicas"] == 1 and hpa["maxReplicas"] == 6
    external, resource = hpa["metrics"]  # type: ignore[misc]
    assert external["external"]["metric"]["name"] == "s0-prometheus"
    assert external["external"]["target"] == {"type": "AverageValue", "averageValue": "12.500"}
    assert resource["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
    assert hpa["behavior"]["scaleDown"]["tolerance"] == "50m"  # type: ignore[index]


def test_the_lock_file_keeps_keda_and_not_the_generated_hpa(write) -> None:
    from hpalab.orchestration.runner import lock_text

    path = write(_text())
    text = lock_text(load_experiment(path), repetitions=1, only=[])
    assert "keda:" in text and "\n  hpa:" not in text
    again = write(text, "lock.yaml")
    assert load_experiment(again).variants[0].spec.keda is not None


def test_a_variant_switches_from_the_adapter_to_keda(write) -> None:
    variants = """\
  variants:
    - name: cpu-hpa
      patch:
        keda: null
        hpa:
          maxReplicas: 4
          metrics:
            - type: Resource
              resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
    - name: keda
"""
    loaded = load_experiment(write(_text(variants=variants)))
    by_name = {v.name: v.spec for v in loaded.variants}
    assert by_name["cpu-hpa"].keda is None and by_name["cpu-hpa"].hpa.max_replicas == 4
    assert by_name["keda"].keda is not None and by_name["keda"].hpa.max_replicas == 6


BAD = [
    (
        "bounds",
        ("minReplicaCount: 0", "minReplicaCount: 9"),
        7,
        "spec.keda.minReplicaCount: MinReplicaCount=9 must be less than MaxReplicaCount=6",
    ),
    (
        "threshold-not-json",
        ('threshold: "10"', 'threshold: ".5"'),
        21,
        'spec.keda.triggers[0].metadata.threshold: unable to set param "threshold" value '
        "\".5\": unable to unmarshal to field type float64: invalid character '.' looking "
        "for beginning of value",
    ),
    (
        "threshold-zero",
        ('threshold: "10"', 'threshold: "0.0001"'),
        21,
        "threshold '0.0001' gives the generated HPA a target of 0",
    ),
    (
        "utilization-on-prometheus",
        (
            "      - type: prometheus\n",
            "      - type: prometheus\n        metricType: Utilization\n",
        ),
        18,
        "'Utilization' metric type is unsupported for external metrics",
    ),
    (
        "cached-cpu",
        (
            "        metricType: Utilization\n",
            "        metricType: Utilization\n        useCachedMetrics: true\n",
        ),
        24,
        'property "useCachedMetrics" is not supported for "cpu" scaler',
    ),
    (
        "idle-needs-explicit-min",
        ("    minReplicaCount: 0\n", "    idleReplicaCount: 0\n"),
        7,
        "IdleReplicaCount=0 must be less than MinReplicaCount=0",
    ),
    (
        "metadata-number",
        ('threshold: "10"', "threshold: 10"),
        21,
        "spec.keda.triggers[0].metadata.threshold",
    ),
    (
        "unknown-trigger",
        ("      - type: cpu\n", "      - type: kafka\n"),
        22,
        "spec.keda.triggers[1].type",
    ),
]


SCHEMA_ERRORS = {"metadata-number", "unknown-trigger"}


@pytest.mark.parametrize(
    ("edit", "line", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_keda_specs_name_file_line_field_and_fix(
    write, capsys, request, edit: tuple[str, str], line: int, expected: str
) -> None:
    text = _text()
    assert edit[0] in text
    path = write(text.replace(edit[0], edit[1], 1))
    assert run(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}:{line}:" in err and expected in err, err
    if request.node.callspec.id in SCHEMA_ERRORS:
        return  # schema errors (wrong YAML type, unknown value) carry the loader's own wording
    problem = next(line for line in err.splitlines() if expected in line)
    assert problem.rstrip().endswith(")"), "every KEDA rule names its fix in parentheses"


def test_hpa_and_keda_together_are_refused(write, capsys) -> None:
    text = _text().replace(
        "  keda:\n",
        "  hpa:\n    maxReplicas: 2\n    metrics:\n      - type: Resource\n"
        "        resource: {name: cpu, target: {type: Utilization, averageUtilization: 5}}\n"
        "  keda:\n",
    )
    assert run(["validate", str(write(text))]) == 2
    assert "hpa and keda are both set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "text", "milli"),
    [
        (1.5, "1.500", 1500),
        (0.5, "500m", 500),
        (2.0, "2", 2000),
        (1000.0, "1k", 1000000),
        (1500.0, "1500", 1500000),
        (0.0625, "62m", 62),
        (-3.0, "0", 0),
        (float("nan"), "0", 0),
        (1e16, "10P", None),
        (12.345, "12.345", 12345),
    ],
)
def test_float_quantities_print_like_keda(value: float, text: str, milli: int | None) -> None:
    quantity = float_quantity(value)
    assert (quantity.text, quantity.milli) == (text, milli)


def test_milli_and_parsed_quantities_print_canonically() -> None:
    assert milli_quantity(40069.999).text == "40069m"
    assert milli_quantity(15000).text == "15"
    assert parse_quantity("0.5").text == "500m"
    assert parse_quantity("512Mi").text == "512Mi"
    assert parse_quantity("100Mi").text == "100Mi"
    assert parse_quantity("1.5").text == "1500m"
    with pytest.raises(ValueError, match="regular expression"):
        parse_quantity("1.2.3")


def test_keda_variants_plan_keda_on_the_kubernetes_platform(capsys):
    from pathlib import Path

    experiment = Path(__file__).resolve().parents[3] / "experiments" / "adapter-vs-keda.yaml"
    argv = ["run", str(experiment), "--platform", "kubernetes", "--dry-run"]
    assert run(argv) == 0
    assert "KEDA v2.20.2 for the spec.keda variants" in capsys.readouterr().out
    assert run([*argv, "--only", "adapter"]) == 0


def test_scaling_modifier_variants_are_refused_before_a_run(write, capsys):
    text = (
        _text()
        .replace(
            "    advanced:\n",
            "    advanced:\n      scalingModifiers: {formula: 'a * 2', target: '5'}\n",
        )
        .replace("      - type: prometheus\n", "      - type: prometheus\n        name: a\n")
    )
    path = write(text)
    assert run(["validate", str(path)]) == 0, capsys.readouterr().err
    assert run(["run", str(path), "--dry-run"]) == 2
    assert "scalingModifiers" in capsys.readouterr().err

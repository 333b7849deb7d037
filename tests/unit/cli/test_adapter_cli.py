"""`hpalab adapter render|lint|preview`: outputs, every lint mistake, bad inputs."""

import json
import socket
import textwrap
from pathlib import Path

import pytest
import yaml

from hpalab.cli.main import run
from hpalab.specs.adapter import AdapterConfig

REPO = Path(__file__).resolve().parents[3]
RULE = """\
rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: "^(.*)_total$"
    as: "${1}_per_second"
  metricsQuery: |
    sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)
"""


def _write(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_render_prints_a_configmap_that_round_trips(tmp_path, capsys):
    path = _write(tmp_path, RULE)
    assert run(["adapter", "render", str(path), "--name", "cm", "--namespace", "mon"]) == 0
    cm = yaml.safe_load(capsys.readouterr().out)
    assert (cm["apiVersion"], cm["kind"], cm["metadata"]["name"], cm["metadata"]["namespace"]) == (
        "v1",
        "ConfigMap",
        "cm",
        "mon",
    )
    body = cm["data"]["config.yaml"]
    assert "metricsQuery: |\n" in body  # multi-line queries stay block scalars
    assert AdapterConfig.model_validate(yaml.safe_load(body)) == AdapterConfig.model_validate(
        yaml.safe_load(RULE)
    )


def test_rendered_configmap_passes_the_kubernetes_schema(tmp_path, capsys):
    import kubernetes_validate

    assert run(["adapter", "render", str(_write(tmp_path, RULE))]) == 0
    cm = yaml.safe_load(capsys.readouterr().out)
    kubernetes_validate.validate(cm, kubernetes_validate.latest_version(), strict=True)


def test_render_an_experiment_variant(capsys):
    ramp = REPO / "experiments" / "ramp.yaml"
    assert run(["adapter", "render", str(ramp), "--variant", "target10-window2m"]) == 0
    body = yaml.safe_load(capsys.readouterr().out)["data"]["config.yaml"]
    assert "[2m]" in body


def test_lint_clean_config(tmp_path, capsys):
    assert run(["adapter", "lint", str(_write(tmp_path, RULE)), "--scrape-interval", "15s"]) == 0
    assert capsys.readouterr().out.strip() == "no warnings"


MISTAKES = {
    "no-label-matchers": (RULE.replace("{<<.LabelMatchers>>}", ""), []),
    "no-group-by": (RULE.replace(" by (<<.GroupBy>>)", ""), []),
    "counter-without-rate": (
        RULE.replace(
            "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m]))", "sum(<<.Series>>{<<.LabelMatchers>>})"
        ),
        [],
    ),
    "short-rate-window": (RULE, ["--scrape-interval", "45s"]),
    "short-relist-interval": (RULE, ["--scrape-interval", "30s", "--relist-interval", "10s"]),
    "metric-not-exposed": (RULE, ["--metric", "http_requests_total"]),
    "duplicate-metric": (
        RULE + RULE.split("\n", 1)[1].replace('pod!=""}\'', 'pod!="",job!=""}\''),
        [],
    ),
}


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_lint_catches_each_mistake(tmp_path, capsys, code):
    text, flags = MISTAKES[code]
    path = _write(tmp_path, text)
    assert run(["adapter", "lint", str(path), "--json", *flags]) == 1
    warnings = json.loads(capsys.readouterr().out)
    assert [w["code"] for w in warnings] == [code]
    assert warnings[0]["hint"]


def test_lint_reads_scrape_interval_and_metrics_from_an_experiment(tmp_path, capsys):
    ramp = (REPO / "experiments" / "ramp.yaml").read_text()
    broken = ramp.replace("name: http_requests_per_second", "name: http_requests").replace(
        "profile: ../loadprofiles/ramp.yaml", f"profile: {REPO / 'loadprofiles' / 'ramp.yaml'}"
    )
    path = _write(tmp_path, broken, "exp.yaml")
    assert run(["adapter", "lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[metric-not-exposed]" in out
    assert "1 warning" in out


def test_unknown_key_names_file_line_and_key(tmp_path, capsys):
    path = _write(tmp_path, RULE.replace("  metricsQuery: |", "  metricQuery: |"))
    assert run(["adapter", "lint", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:10:" in err
    assert "rules[0].metricQuery: unknown field" in err


def test_rule_the_adapter_would_refuse(tmp_path, capsys):
    path = _write(
        tmp_path,
        RULE.replace('as: "${1}_per_second"', "as: ''").replace("^(.*)_total$", "^(.*)_(.*)$"),
    )
    assert run(["adapter", "render", str(path)]) == 2
    assert "rules[0]" in capsys.readouterr().err


def test_overrides_may_name_custom_resources(tmp_path, capsys):
    crd = RULE.replace("pod: {resource: pod}", "rollout: {group: argoproj.io, resource: rollouts}")
    assert run(["adapter", "lint", str(_write(tmp_path, crd))]) == 0
    assert capsys.readouterr().out.strip() == "no warnings"


@pytest.mark.parametrize(
    ("text", "needle"),
    [("rules: [\n", "YAML syntax error"), ("", "file is empty"), ("rules: 3\n", "rules")],
)
def test_bad_files(tmp_path, capsys, text, needle):
    path = _write(tmp_path, text)
    assert run(["adapter", "lint", str(path)]) == 2
    assert needle in capsys.readouterr().err


def test_missing_file(tmp_path, capsys):
    assert run(["adapter", "render", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_bad_flags(tmp_path, capsys):
    path = _write(tmp_path, RULE)
    assert run(["adapter", "lint", str(path), "--scrape-interval", "soon"]) == 2
    assert run(["adapter", "render", str(path), "--variant", "x"]) == 2
    ramp = REPO / "experiments" / "ramp.yaml"
    assert run(["adapter", "render", str(ramp), "--variant", "nope"]) == 2
    assert "one of:" in capsys.readouterr().err


def test_preview_with_unreachable_prometheus(tmp_path, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = _write(tmp_path, RULE)
    assert run(["adapter", "preview", str(path), "--prometheus", f"http://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach Prometheus" in err
    assert "hint:" in err


def test_preview_refuses_a_prometheus_that_is_not_a_url(capsys):
    from pathlib import Path

    from hpalab.cli.main import run

    ramp = Path(__file__).resolve().parents[3] / "experiments" / "ramp.yaml"
    assert run(["adapter", "preview", str(ramp), "--prometheus", "notaurl"]) == 2
    assert "is not an http(s) URL" in capsys.readouterr().err


def test_a_load_profile_is_named_as_such(capsys):
    from pathlib import Path

    from hpalab.cli.main import run

    profile = Path(__file__).resolve().parents[3] / "loadprofiles" / "ramp.yaml"
    assert run(["adapter", "lint", str(profile)]) == 2
    assert "is a LoadProfile, which has no adapter rules" in capsys.readouterr().err

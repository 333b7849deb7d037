"""`hpalab doctor --platform kubernetes` against recorded responses; each failure has a fix."""

import typer
from typer.testing import CliRunner

from hpalab.cli import doctor as doctor_cli
from hpalab.platforms.kubernetes.doctor import run_checks
from tests.unit.kubernetes.conftest import EXPERIMENTS

METRIC_PATH = (
    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/hpalab/pods/*/http_requests_per_second"
)
PROXY = "/api/v1/namespaces/hpalab/services/http:prometheus-operated:9090/proxy/-/ready"


def _healthy(api):
    api.load("up_fresh_cluster")
    for path in ("v1beta1.metrics.k8s.io", "v1beta1.custom.metrics.k8s.io"):
        key = ("GET", f"/apis/apiregistration.k8s.io/v1/apiservices/{path}")
        api.routes[key] = api.routes[key][-1:]
    api.routes[("GET", METRIC_PATH)] = api.routes[("GET", METRIC_PATH)][-1:]
    api.add("GET", PROXY, {"status": 200, "body": "Prometheus Server is Ready."})


def _app():
    app = typer.Typer()
    doctor_cli.register(app)
    app.command("noop")(lambda: None)
    return app


def test_all_checks_pass_on_a_healthy_stack(api, client, smoke_spec):
    _healthy(api)
    results = run_checks(client=client, hpa_spec=smoke_spec.hpa.to_kubernetes())
    assert [(r.name, r.ok) for r in results] == [
        ("cluster", True),
        ("v1beta1.metrics.k8s.io", True),
        ("v1beta1.custom.metrics.k8s.io", True),
        ("v1beta1.external.metrics.k8s.io", True),
        ("prometheus", True),
        ("hpa metric", True),
    ]
    assert "v1.33.1" in results[0].detail


def test_each_failure_comes_with_a_fix(api, client, smoke_spec):
    api.add("GET", "/version", {"status": 200, "body": {"gitVersion": "v1.32.4"}})
    api.add(
        "GET",
        "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.custom.metrics.k8s.io",
        {
            "status": 200,
            "body": {
                "metadata": {"name": "v1beta1.custom.metrics.k8s.io"},
                "status": {
                    "conditions": [
                        {
                            "type": "Available",
                            "status": "False",
                            "reason": "FailedDiscoveryCheck",
                            "message": "failing or missing response",
                        }
                    ]
                },
            },
        },
    )
    api.add("GET", METRIC_PATH, {"status": 200, "body": {"kind": "MetricValueList", "items": []}})
    api.add("GET", PROXY, {"status": 503, "body": {"kind": "Status", "code": 503}})
    results = {
        r.name: r for r in run_checks(client=client, hpa_spec=smoke_spec.hpa.to_kubernetes())
    }
    assert results["cluster"].ok
    assert (
        not results["v1beta1.metrics.k8s.io"].ok
        and "metrics-server" in results["v1beta1.metrics.k8s.io"].fix
    )
    assert "FailedDiscoveryCheck" in results["v1beta1.custom.metrics.k8s.io"].detail
    assert "kubectl get apiservice" in results["v1beta1.custom.metrics.k8s.io"].fix
    assert not results["prometheus"].ok and "hpalab up" in results["prometheus"].fix
    assert not results["hpa metric"].ok and "kubectl get --raw" in results["hpa metric"].fix
    assert all(r.fix for r in results.values() if not r.ok)


def test_an_unreachable_cluster_is_one_failed_check(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    results = run_checks()
    assert len(results) == 1 and not results[0].ok and "kubeconfig" in results[0].detail
    assert results[0].fix


def test_the_command_prints_checks_and_exits_1_on_failure(api, server, kubeconfig):
    _healthy(api)
    runner = CliRunner()
    ok = runner.invoke(
        _app(),
        [
            "doctor",
            str(EXPERIMENTS / "ci-smoke.yaml"),
            "--platform",
            "kubernetes",
            "--kubeconfig",
            str(kubeconfig),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "ok   hpa metric" in ok.output
    api.routes[("GET", PROXY)] = [{"status": 503, "body": {}}]
    failed = runner.invoke(
        _app(), ["doctor", "--platform", "kubernetes", "--kubeconfig", str(kubeconfig)]
    )
    assert failed.exit_code == 1
    assert "FAIL prometheus" in failed.output and "fix:" in failed.output


def test_the_command_rejects_an_unknown_platform():
    result = CliRunner().invoke(_app(), ["doctor", "--platform", "nomad"])
    assert result.exit_code != 0


def test_the_local_platform_checks_its_binaries(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(_app(), ["doctor"])
    assert result.exit_code == 1
    assert (
        "FAIL prometheus: the `prometheus` binary is not on PATH" in result.output
        and "apt-get install haproxy" in result.output
    )


def test_local_doctor_finds_binaries_as_up_does(monkeypatch, capsys):
    from hpalab.cli.main import run

    monkeypatch.setenv("HPALAB_PROMETHEUS", "/nonexistent/prometheus")
    assert run(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL prometheus" in out and "apt-get install prometheus" in out


def test_local_doctor_checks_the_named_experiment(tmp_path, capsys):
    from hpalab.cli.main import run

    assert run(["doctor", str(tmp_path / "missing.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_a_kubeconfig_that_is_not_yaml_is_bad_input(tmp_path, capsys):
    from hpalab.cli.main import run

    broken = tmp_path / "kubeconfig"
    broken.write_text("garbage: [\n")
    assert run(["status", "--platform", "kubernetes", "--kubeconfig", str(broken)]) == 2
    assert "cannot load the kubeconfig" in capsys.readouterr().err


def test_an_unavailable_adapter_is_a_failed_check_not_a_crash(api, client, smoke_spec):
    # The aggregator's answer while the adapter is down is plain text, not a JSON Status.
    api.load("aggregator_unavailable")
    results = {
        r.name: r for r in run_checks(client=client, hpa_spec=smoke_spec.hpa.to_kubernetes())
    }
    metric = results["hpa metric"]
    assert not metric.ok and "HTTP 503 service unavailable" in metric.detail
    assert "adapter" in metric.fix

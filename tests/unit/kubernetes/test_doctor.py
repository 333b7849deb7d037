"""`hpalab doctor --platform kubernetes` against responses captured from a real API server: the
stack right after `hpalab up` (doctor_healthy) and with the adapter, metrics-server and
Prometheus scaled to zero (aggregator_unavailable); each failure has a fix."""

import typer
from typer.testing import CliRunner

from hpalab.cli import doctor as doctor_cli
from hpalab.platforms.kubernetes.doctor import run_checks
from tests.unit.kubernetes.conftest import EXPERIMENTS
from tests.unit.kubernetes.fakeapi import NAMESPACE, recorded

METRIC_PATH = (
    f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/pods/*/http_requests_per_second"
)
PROXY = f"/api/v1/namespaces/{NAMESPACE}/services/http:prometheus-operated:9090/proxy/-/ready"
CLI = ["--platform", "kubernetes", "--namespace", NAMESPACE]


def _app():
    app = typer.Typer()
    doctor_cli.register(app)
    app.command("noop")(lambda: None)
    return app


def _checks(client, smoke_spec):
    return {
        r.name: r
        for r in run_checks(
            client=client, namespace=NAMESPACE, hpa_spec=smoke_spec.hpa.to_kubernetes()
        )
    }


def test_all_checks_pass_on_a_healthy_stack(api, client, smoke_spec):
    api.load("doctor_healthy")
    results = run_checks(
        client=client, namespace=NAMESPACE, hpa_spec=smoke_spec.hpa.to_kubernetes()
    )
    # ci-smoke has no externalRules: the external metrics API is not registered, not checked.
    assert [(r.name, r.ok) for r in results] == [
        ("cluster", True),
        ("v1beta1.metrics.k8s.io", True),
        ("v1beta1.custom.metrics.k8s.io", True),
        ("prometheus", True),
        ("hpa metric", True),
    ]
    version = recorded("doctor_healthy")[("GET", "/version")][0]["body"]["gitVersion"]
    assert f"Kubernetes {version}" in results[0].detail
    served = recorded("doctor_healthy")[("GET", METRIC_PATH)][0]["body"]["items"]
    assert f"{len(served)} value(s)" in results[-1].detail


def test_each_failure_comes_with_a_fix(api, client, smoke_spec):
    api.load("aggregator_unavailable")
    results = _checks(client, smoke_spec)
    assert results["cluster"].ok
    metrics = results["v1beta1.metrics.k8s.io"]
    assert not metrics.ok and "metrics-server" in metrics.fix
    custom = results["v1beta1.custom.metrics.k8s.io"]
    apiservice = recorded("aggregator_unavailable")[
        ("GET", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.custom.metrics.k8s.io")
    ][0]["body"]
    (available,) = [c for c in apiservice["status"]["conditions"] if c["type"] == "Available"]
    assert not custom.ok and available["reason"] in custom.detail
    assert "kubectl get apiservice" in custom.fix
    assert not results["prometheus"].ok and "hpalab up" in results["prometheus"].fix
    assert not results["hpa metric"].ok and "adapter" in results["hpa metric"].fix
    assert all(r.fix for r in results.values() if not r.ok)


def test_a_metric_served_for_no_pod_is_a_failed_check_with_the_raw_read(api, client, smoke_spec):
    # The app scaled to zero: the adapter answers 404, no value for any pod.
    api.load("doctor_no_app_pods")
    (answer,) = recorded("doctor_no_app_pods")[("GET", METRIC_PATH)]
    assert answer["status"] == 404
    results = _checks(client, smoke_spec)
    assert [name for name, r in results.items() if not r.ok] == ["hpa metric"]
    metric = results["hpa metric"]
    assert "no value served" in metric.detail
    assert f"kubectl get --raw '{METRIC_PATH}'" in metric.fix


def test_an_unreachable_cluster_is_one_failed_check(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    results = run_checks()
    assert len(results) == 1 and not results[0].ok and "kubeconfig" in results[0].detail
    assert results[0].fix


def test_the_command_prints_checks_and_exits_1_on_failure(api, server, kubeconfig):
    api.load("doctor_healthy")
    runner = CliRunner()
    ok = runner.invoke(
        _app(),
        ["doctor", str(EXPERIMENTS / "ci-smoke.yaml"), *CLI, "--kubeconfig", str(kubeconfig)],
    )
    assert ok.exit_code == 0, ok.output
    assert "ok   hpa metric" in ok.output
    # Prometheus scaled to zero: the service proxy's answer as captured.
    api.routes[("GET", PROXY)] = recorded("aggregator_unavailable")[("GET", PROXY)]
    failed = runner.invoke(_app(), ["doctor", *CLI, "--kubeconfig", str(kubeconfig)])
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
    (answer,) = recorded("aggregator_unavailable")[("GET", METRIC_PATH)]
    assert answer["status"] == 503 and answer["content_type"].startswith("text/plain")
    metric = _checks(client, smoke_spec)["hpa metric"]
    assert not metric.ok and "HTTP 503 service unavailable" in metric.detail
    assert "adapter" in metric.fix

from pathlib import Path

from hpalab.cli.main import run

ROOT = Path(__file__).resolve().parents[3]


def test_status_without_a_lab_says_how_to_start_one(tmp_path, capsys):
    assert run(["status", "--lab-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no lab in" in err and "hpalab up" in err


def test_down_without_a_lab_is_fine(tmp_path, capsys):
    assert run(["down", "--lab-dir", str(tmp_path)]) == 0
    assert "no lab was running" in capsys.readouterr().out


def test_up_refuses_an_unsupported_platform(tmp_path, capsys):
    assert run(["up", "--lab-dir", str(tmp_path), "--platform", "nomad"]) == 2
    assert "unknown platform 'nomad'" in capsys.readouterr().err


def test_options_of_the_other_platform_are_refused(tmp_path, capsys):
    assert run(["up", "--platform", "kubernetes", "--foreground", "--port", "80"]) == 2
    assert (
        "--foreground, --port cannot be used with --platform kubernetes" in capsys.readouterr().err
    )
    assert run(["up", "--lab-dir", str(tmp_path), "--context", "kind-x"]) == 2
    assert "--context cannot be used with --platform local" in capsys.readouterr().err
    assert run(["down", "--lab-dir", str(tmp_path), "--dry-run"]) == 2
    assert run(["status", "--platform", "kubernetes", "--lab-dir", str(tmp_path)]) == 2


def test_kubernetes_up_dry_run_is_dispatched(capsys):
    experiment = ROOT / "experiments" / "ramp.yaml"
    assert run(["up", "--platform", "kubernetes", "--dry-run", str(experiment)]) == 0
    out = capsys.readouterr().out
    assert "kind: Namespace" in out and "kind: HorizontalPodAutoscaler" in out


def test_kubernetes_status_without_a_kubeconfig_is_a_prerequisite_error(monkeypatch, capsys):
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    assert run(["status", "--platform", "kubernetes"]) == 2
    assert "kubeconfig" in capsys.readouterr().err


def test_up_refuses_a_variant_without_an_experiment(tmp_path, capsys):
    assert run(["up", "--lab-dir", str(tmp_path), "--variant", "x"]) == 2
    assert "needs an EXPERIMENT" in capsys.readouterr().err


def test_up_refuses_an_unknown_variant(tmp_path, capsys):
    experiment = ROOT / "experiments" / "ci-smoke.yaml"
    code = run(["up", str(experiment), "--lab-dir", str(tmp_path), "--variant", "nope"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no variant named 'nope'" in err and "target-8" in err


def test_status_hint_names_the_lab_directory(tmp_path, capsys):
    from hpalab.cli.main import run

    assert run(["status", "--lab-dir", str(tmp_path / "none")]) == 1
    assert f"hpalab up --lab-dir {tmp_path / 'none'}" in capsys.readouterr().err


def test_one_port_for_two_listeners_is_refused_before_anything_starts(tmp_path, capsys):
    from hpalab.cli.main import run

    lab = tmp_path / "lab"
    assert run(["up", "--port", "40000", "--prometheus-port", "40000", "--lab-dir", str(lab)]) == 2
    assert "both 40000" in capsys.readouterr().err
    assert not lab.exists()

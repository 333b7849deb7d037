import os
from pathlib import Path

import pytest

from hpalab.autoscaling.hpa.readout import first_metric, metric_number
from hpalab.errors import PrerequisiteError
from hpalab.platforms.local.labstate import (
    ENV_LAB_DIR,
    LAB_FILE,
    clean_stale,
    default_lab_dir,
    ensure_lab_dir,
    identity_alive,
    process_identity,
    read_json,
    read_lab,
    write_json,
)
from hpalab.platforms.local.settings import settings_from_spec
from hpalab.specs import load_experiment

ROOT = Path(__file__).resolve().parents[3]


def test_lab_dir_comes_from_env_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_LAB_DIR, str(tmp_path / "x"))
    assert default_lab_dir("ignored") == tmp_path / "x"
    monkeypatch.delenv(ENV_LAB_DIR)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_lab_dir("demo") == tmp_path / "state" / "hpalab" / "labs" / "demo"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_lab_dir() == tmp_path / "home" / ".local/state/hpalab/labs/default"


def test_an_unwritable_lab_dir_is_a_prerequisite_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PrerequisiteError, match="cannot use") as info:
        ensure_lab_dir(blocker / "lab")
    assert "--lab-dir" in (info.value.hint or "")


def test_json_files_round_trip_and_garbage_reads_as_none(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    assert read_json(tmp_path / "a.json") == {"x": 1}
    (tmp_path / "b.json").write_text("{not json")
    assert read_json(tmp_path / "b.json") is None
    (tmp_path / "c.json").write_text("[1]")
    assert read_json(tmp_path / "c.json") is None
    assert read_json(tmp_path / "missing.json") is None


def test_identity_detects_a_recycled_pid():
    me = process_identity(os.getpid())
    assert identity_alive(me)
    assert not identity_alive([me[0], me[1] - 100.0])  # same PID, other process
    assert not identity_alive(None)
    assert process_identity(2**22 + 12345) is None


def test_a_lab_whose_process_is_gone_is_cleaned(tmp_path):
    write_json(tmp_path / LAB_FILE, {"lab_process": [os.getpid(), 1.0], "pids": {}})
    assert read_lab(tmp_path) is not None
    assert not read_lab(tmp_path).alive
    assert clean_stale(tmp_path) == []
    assert not (tmp_path / LAB_FILE).exists()
    assert clean_stale(tmp_path) is None  # nothing there any more


def test_a_running_lab_is_not_stale(tmp_path):
    write_json(tmp_path / LAB_FILE, {"lab_process": process_identity(os.getpid()), "pids": {}})
    assert read_lab(tmp_path).alive
    assert clean_stale(tmp_path) is None
    assert (tmp_path / LAB_FILE).exists()


def test_first_metric_reads_status_and_target():
    hpa = {
        "metrics": [
            {
                "type": "Pods",
                "pods": {"metric": {"name": "m"}, "target": {"averageValue": "500m"}},
            }
        ]
    }
    status = {"currentMetrics": [{"type": "Pods", "pods": {"current": {"averageValue": "1250m"}}}]}
    assert first_metric(status, hpa) == (1.25, 0.5)
    assert first_metric({}, hpa) == (None, 0.5)
    assert first_metric(status, None) == (None, None)
    assert metric_number({"averageUtilization": 80, "averageValue": "1"}) == 80.0
    assert metric_number({}) is None


def test_settings_follow_the_experiment():
    spec = load_experiment(ROOT / "experiments" / "ci-smoke.yaml").variants[0].spec
    settings = settings_from_spec(spec, relist_interval_s=3.0)
    assert settings.template.cpu_per_request_s == pytest.approx(0.001)
    assert settings.template.startup_delay_s == pytest.approx(0.5)
    assert settings.template.cpu_request_millicores == pytest.approx(200.0)
    assert settings.scrape_interval_s == 1.0
    assert settings.controller.sync_period_s == 2.0
    assert settings.controller.downscale_stabilization_window_s == 10.0
    assert settings.hpa["maxReplicas"] == 6
    assert settings.adapter["rules"][0]["name"]["as"] == "${1}_per_second"
    assert settings.relist_interval_s == 3.0


def test_settings_carry_the_kubernetes_version():
    spec = load_experiment(ROOT / "experiments" / "ci-smoke.yaml").variants[0].spec
    assert settings_from_spec(spec).controller.scaled_to_zero_condition  # newest: 1.37
    older = spec.model_copy(
        update={"controller": spec.controller.model_copy(update={"kubernetes_version": "1.34"})}
    )
    controller = settings_from_spec(older).controller
    assert not controller.configurable_tolerance
    assert not controller.scaled_to_zero_condition
    assert controller.sync_period_s == 2.0

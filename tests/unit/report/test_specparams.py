from pathlib import Path

import pytest

from hpalab.report import specparams
from hpalab.specs import load_experiment

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def ramp():
    return load_experiment(ROOT / "experiments" / "ramp.yaml")


def test_rate_window_is_read_from_the_adapter_rule():
    rule = {"metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (x)"}
    assert specparams.rate_window_s({"rules": [rule]}) == 120
    assert specparams.rate_window_s({"rules": [{"metricsQuery": "sum(x)"}]}) is None
    assert specparams.rate_window_s({}) is None


def test_pipeline_params_of_every_ramp_variant(ramp):
    windows = set()
    for variant in ramp.variants:
        params = specparams.pipeline_params(variant.spec)
        assert params is not None
        assert params.scrape_interval_s == 5 and params.sync_period_s == 15
        # 3 worker slots of 200 ms each: the capacity follows from the app, not the target
        assert params.capacity_rps == pytest.approx(15)
        assert params.hpa_target_rps in (10, 13)
        assert params.startup_delay_s == 3 and params.max_replicas == 20
        windows.add(params.rate_window_s)
    assert windows == {30, 120}


def test_slo_tolerance_and_windows(ramp):
    spec = ramp.variants[0].spec
    slo = specparams.slo(spec)
    assert (slo.latency_ms, slo.percentile, slo.error_rate) == (500, 95, 0.01)
    assert specparams.tolerance(spec) == 0.1
    assert specparams.stabilization_s(spec) == 30
    assert specparams.settings(spec)["policies"] == "default"
    # the table shows the HPA's target, not the replica's capacity
    assert specparams.settings(spec)["target"] == "10 rps/pod"


def test_behavior_policies_reach_the_band(ramp):
    data = ramp.variants[0].spec.model_dump(by_alias=True)
    data["hpa"]["behavior"] = {
        "scaleUp": {
            "stabilizationWindowSeconds": 30,
            "selectPolicy": "Min",
            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
        }
    }
    spec = type(ramp.variants[0].spec).model_validate(data, by_alias=True)
    params = specparams.pipeline_params(spec)
    assert params.scale_up_stabilization_s == 30 and params.select_policy == "Min"
    assert params.scale_up_policies[0].value == 2 and not params.legacy_limits
    assert specparams.settings(spec)["policies"] == "2 pods/60s"

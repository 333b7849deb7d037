"""Properties of the HPA engine, checked on generated inputs."""

from hypothesis import given, settings
from hypothesis import strategies as st

from hpalab.autoscaling.hpa import ControllerConfig, HPAController, MetricsSnapshot, Pod

METRIC = "rps"


def _spec(min_r: int, max_r: int, *, behavior: dict | None, target: int = 10) -> dict:
    spec = {
        "minReplicas": min_r,
        "maxReplicas": max_r,
        "metrics": [
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": METRIC},
                    "target": {"type": "AverageValue", "averageValue": str(target)},
                },
            }
        ],
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return spec


def _sync(controller, now, replicas, per_pod_milli):
    pods = [Pod(f"p{i}") for i in range(replicas)]
    values = {p.name: v for p, v in zip(pods, per_pod_milli, strict=False)}
    return controller.sync(
        now, spec_replicas=replicas, pods=pods, metrics=MetricsSnapshot(pods={METRIC: values})
    )


rules = st.fixed_dictionaries(
    {
        "stabilizationWindowSeconds": st.integers(0, 600),
        "selectPolicy": st.sampled_from(["Max", "Min", "Disabled"]),
        "policies": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["Pods", "Percent"]),
                    "value": st.integers(1, 300),
                    "periodSeconds": st.integers(1, 600),
                }
            ),
            min_size=1,
            max_size=3,
        ),
    }
)
behaviors = st.none() | st.fixed_dictionaries({"scaleUp": rules, "scaleDown": rules})


@settings(max_examples=60, deadline=None)
@given(
    min_r=st.integers(1, 5),
    extra=st.integers(0, 30),
    behavior=behaviors,
    steps=st.lists(st.tuples(st.integers(1, 40), st.integers(0, 100_000)), min_size=1, max_size=8),
)
def test_desired_replicas_stay_within_min_and_max(min_r, extra, behavior, steps):
    max_r = min_r + extra
    controller = HPAController(_spec(min_r, max_r, behavior=behavior))
    for i, (replicas, value) in enumerate(steps):
        result = _sync(controller, 15.0 * i, replicas, [value] * replicas)
        assert min_r <= result.desired_replicas <= max_r


@settings(max_examples=60, deadline=None)
@given(
    replicas=st.integers(1, 30),
    ratios=st.lists(st.floats(0.9, 1.1), min_size=1, max_size=30),
    behavior=behaviors,
)
def test_no_scale_up_when_the_metric_is_within_tolerance(replicas, ratios, behavior):
    # The average, not each pod, is compared with the tolerance band.
    target_milli = 10_000
    values = [round(target_milli * ratios[i % len(ratios)]) for i in range(replicas)]
    average = sum(values) // len(values)
    if not 0.9 <= average / target_milli <= 1.1:
        return
    controller = HPAController(_spec(1, 100, behavior=behavior), ControllerConfig(tolerance=0.1))
    result = _sync(controller, 0.0, replicas, values)
    assert result.desired_replicas <= replicas


@settings(max_examples=40, deadline=None)
@given(
    up_pods=st.integers(1, 8),
    up_period=st.sampled_from([15, 30, 60, 120]),
    down_percent=st.integers(1, 100),
    down_period=st.sampled_from([15, 30, 60, 120]),
    loads=st.lists(st.integers(0, 400_000), min_size=2, max_size=25),
)
def test_no_policy_limit_is_exceeded_in_any_period(
    up_pods, up_period, down_percent, down_period, loads
):
    behavior = {
        "scaleUp": {"policies": [{"type": "Pods", "value": up_pods, "periodSeconds": up_period}]},
        "scaleDown": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Percent", "value": down_percent, "periodSeconds": down_period}],
        },
    }
    controller = HPAController(_spec(1, 200, behavior=behavior))
    history = [(float("-inf"), 4)]  # (time of change, replicas from then on)
    replicas = 4
    for i, total in enumerate(loads):
        now = 15.0 * i
        result = _sync(controller, now, replicas, [total // replicas] * replicas)
        new = result.desired_replicas

        def at(t, history=history):
            return [r for when, r in history if when <= t][-1]

        if new > replicas:
            assert new - at(now - up_period) <= up_pods
        if new < replicas:
            start = at(now - down_period)
            assert new >= int(start * (1 - down_percent / 100))
        if new != replicas:
            history.append((now, new))
        replicas = new

import math

import numpy as np
import pytest

from hpalab.analysis.elasticity import elasticity


def test_hand_computed_trace():
    # d = 2 2 4 4, s = 2 1 2 4: under-provisioned by 1/2 at t=1 and 2/4 at t=2.
    e = elasticity(np.array([2.0, 2, 4, 4]), np.array([2.0, 1, 2, 4]), dt_s=1.0)
    assert e.theta_u_pct == pytest.approx(25.0)
    assert e.theta_o_pct == 0.0
    assert e.tau_u_pct == pytest.approx(50.0)
    assert e.tau_o_pct == 0.0
    # sgn Δs = -1 1 1, sgn Δd = 0 1 0 → mismatches at pairs 1 and 3 of 3.
    assert e.upsilon_pct == pytest.approx(100.0 / 3 * 2)
    # 3 supply adaptations, 1 demand change, over 4 s = 1/15 min.
    assert e.psi_per_min == pytest.approx(30.0)


def test_over_provisioning_and_sampling_step():
    e = elasticity(np.array([2.0, 2]), np.array([3.0, 4]), dt_s=5.0)
    assert e.theta_o_pct == pytest.approx(100.0 / 10 * (0.5 + 1.0) * 5)
    assert e.tau_o_pct == 100.0
    assert e.tau_u_pct == 0.0


def test_zero_demand_samples_are_left_out_of_accuracy_but_not_timeshare():
    e = elasticity(np.array([0.0, 2]), np.array([1.0, 1]))
    assert e.theta_u_pct == pytest.approx(50.0)  # only the d = 2 sample, T = 1 s
    assert e.theta_o_pct == 0.0
    assert e.tau_o_pct == pytest.approx(50.0)  # s > d at the d = 0 sample
    assert e.tau_u_pct == pytest.approx(50.0)


def test_all_zero_demand_gives_undefined_accuracy():
    e = elasticity(np.zeros(3), np.ones(3))
    assert math.isnan(e.theta_u_pct) and math.isnan(e.theta_o_pct)
    assert e.tau_o_pct == 100.0


def test_oscillating_supply_is_unstable_and_jittery():
    demand = np.full(7, 3.0)
    supply = np.array([3.0, 4, 3, 4, 3, 4, 3])
    e = elasticity(demand, supply)
    assert e.upsilon_pct == pytest.approx(100.0)
    assert e.psi_per_min == pytest.approx(6 / (7 / 60))
    assert e.theta_o_pct == pytest.approx(100.0 / 7 * 3 / 3)


def test_perfect_follower_scores_zero():
    d = np.array([1.0, 2, 3, 3, 2])
    e = elasticity(d, d.copy())
    assert (e.theta_u_pct, e.theta_o_pct, e.tau_u_pct, e.tau_o_pct) == (0, 0, 0, 0)
    assert e.upsilon_pct == 0.0 and e.psi_per_min == 0.0


def test_missing_samples_are_dropped_and_empty_is_nan():
    e = elasticity(np.array([2.0, np.nan, 2]), np.array([1.0, 5, 2]))
    assert e.theta_u_pct == pytest.approx(25.0)
    assert math.isnan(elasticity(np.array([np.nan]), np.array([1.0])).tau_u_pct)
    assert math.isnan(elasticity(np.array([1.0]), np.array([1.0])).upsilon_pct)


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="same length"):
        elasticity(np.ones(2), np.ones(3))

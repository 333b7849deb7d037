"""The first sync after an HPA is created or changed: real sync times against the version
model."""

from __future__ import annotations

from hpalab.autoscaling.hpa import ControllerConfig
from hpalab.fidelity.timing import check_timing

NOW = 1_000_000.0


SYNCS = [NOW + 0.1, NOW + 6.1, NOW + 12.1, NOW + 15.2, NOW + 18.1]
"""Periodic syncs every 6 s, and one at 15.2 s, 0.2 s after the change at 15 s."""


def _config(*, on_create: bool, on_change: bool) -> ControllerConfig:
    return ControllerConfig(
        sync_period_s=6.0, reconcile_on_create=on_create, reconcile_on_spec_change=on_change
    )


def _checks(*, immediate: bool):
    config = _config(on_create=immediate, on_change=immediate)
    return check_timing(config, started_s=NOW, updated_s=[NOW + 15.0], syncs_s=SYNCS)


def test_immediate_syncs_agree_with_1_37():
    checks = _checks(immediate=True)
    assert [(c.event, c.difference) for c in checks] == [("created", ""), ("changed", "")]
    assert round(checks[1].real_s or 0, 1) == 0.2


def test_immediate_syncs_disagree_with_the_model_before_1_37():
    checks = _checks(immediate=False)
    assert checks[0].difference == "first sync real 0.1 s engine 6.0 s"
    # the next periodic sync after 12.1 is due at 18.1: 3.1 s after the change
    assert round(checks[1].engine_s, 1) == 3.1
    assert checks[1].difference.startswith("sync after the change real 0.2 s engine 3.1 s")


def test_no_sync_at_all_is_a_difference():
    checks = check_timing(
        _config(on_create=True, on_change=True), started_s=NOW, updated_s=[], syncs_s=[]
    )
    assert checks[0].real_s is None
    assert checks[0].difference == "first sync real none engine 0.0 s"

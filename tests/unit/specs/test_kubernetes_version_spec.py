"""spec.controller.kubernetesVersion and featureGates: known ones only, else exit 2."""

from __future__ import annotations

import pytest

from hpalab.autoscaling.hpa.versions import controller_config
from hpalab.specs.experiment import ControllerFlags
from tests.unit.specs.test_bad_inputs import check_edit

EDITS = [
    (
        "valid-version-and-gate",
        "  repetitions: 2\n",
        '  repetitions: 2\n  controller:\n    kubernetesVersion: "1.34"\n'
        "    featureGates: {HPAConfigurableTolerance: true}\n",
        None,
        [],
    ),
    (
        "unknown-kubernetes-version",
        "  repetitions: 2\n",
        '  repetitions: 2\n  controller:\n    kubernetesVersion: "1.30"\n',
        36,
        ["spec.controller.kubernetesVersion", "unknown Kubernetes version", '"1.37"'],
    ),
    (
        "unquoted-unknown-version",
        "  repetitions: 2\n",
        "  repetitions: 2\n  controller:\n    kubernetesVersion: 1.4\n",
        36,
        ["spec.controller.kubernetesVersion", "1.33, 1.34, 1.35, 1.36, 1.37"],
    ),
    (
        "variant-with-unknown-version",
        'hpa.metrics[0].pods.target.averageValue: "20"',
        'controller.kubernetesVersion: "1.99"',
        37,
        ["variant 'target-20'", "spec.controller.kubernetesVersion", "unknown Kubernetes version"],
    ),
    (
        "ga-feature-gate-turned-off",
        "  repetitions: 2\n",
        "  repetitions: 2\n  controller:\n    featureGates: {HPAConfigurableTolerance: false}\n",
        35,
        ["spec.controller", "HPAConfigurableTolerance is GA in 1.37 and locked on"],
    ),
    (
        "unknown-feature-gate",
        "  repetitions: 2\n",
        "  repetitions: 2\n  controller:\n    featureGates: {HPAScaleFromZero: true}\n",
        35,
        ["unknown HPA feature gate 'HPAScaleFromZero'", "HPAScaleToZero"],
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "line", "expected"), EDITS, ids=[e[0] for e in EDITS]
)
def test_version_edits(capsys, write, case, old, new, line, expected):
    check_edit(capsys, write, (case, old, new, line, expected))


def test_default_is_the_newest_version_with_its_gate_defaults():
    config = controller_config(ControllerFlags())
    assert ControllerFlags().kubernetes_version == "1.37"
    assert config.configurable_tolerance and config.scaled_to_zero_condition


def test_an_unquoted_minor_version_is_read_as_the_version():
    flags = ControllerFlags.model_validate({"kubernetesVersion": 1.34, "tolerance": 0.05})
    config = controller_config(flags)
    assert flags.kubernetes_version == "1.34"
    assert (config.tolerance, config.configurable_tolerance) == (0.05, False)
    assert not config.scaled_to_zero_condition

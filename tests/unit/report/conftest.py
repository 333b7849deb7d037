import shutil

import pytest

from hpalab.report.synthetic import SyntheticVariant, write_synthetic_run

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def synthetic_run_dir(tmp_path_factory):
    """A small synthetic run (3 variants × 2 repetitions × 4 min), built once."""
    variants = (
        SyntheticVariant("baseline"),
        SyntheticVariant("fast-sync", sync_period_s=5),
        SyntheticVariant(XSS, rate_window_s=30),
    )
    return write_synthetic_run(
        tmp_path_factory.mktemp("runs"), variants=variants, repetitions=2, duration_s=240
    )


@pytest.fixture
def run_dir(synthetic_run_dir, tmp_path):
    """A private copy of the synthetic run, free to modify."""
    target = tmp_path / synthetic_run_dir.name
    shutil.copytree(synthetic_run_dir, target)
    return target

"""`hpalab cluster` refuses bad arguments with exit 2 before starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpalab.cli.main import run


@pytest.fixture(autouse=True)
def clusters_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HPALAB_CLUSTER_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "--name", "Bad Name"], "bad cluster name"),
        (["up", "--hpa-tolerance", "1.5"], "outside [0, 1)"),
        (["up", "--hpa-sync-period", "soon"], "--hpa-sync-period 'soon'"),
        (["up", "--downscale-stabilization", "0s"], "must be positive"),
        (["up", "--kubernetes-version", "1.30.0"], "builds Kubernetes v1.37.2"),
        (["kubeconfig", "--name", "nothere"], "no cluster named 'nothere'"),
        (["restart-controller-manager", "--name", "nothere"], "no cluster named 'nothere'"),
    ],
)
def test_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], clusters_home: Path
) -> None:
    code = run(["cluster", *args])
    err = capsys.readouterr()
    assert message in err.out + err.err
    assert "Traceback" not in err.out + err.err
    assert code in (1, 2)
    if args[0] == "up":
        assert code == 2
        assert list(clusters_home.iterdir()) == []  # nothing was started or written


def test_down_of_an_unknown_cluster_is_a_no_op(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["cluster", "down", "--name", "ghost"]) == 0
    assert "nothing of it is left" in capsys.readouterr().out


def test_a_state_directory_below_tmp_is_refused_before_anything_starts(
    clusters_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("`cluster up` refuses non-root first")
    assert run(["cluster", "up", "--name", "t"]) == 2
    err = capsys.readouterr().err
    assert "below /tmp" in err and "HPALAB_CLUSTER_DIR" in err
    assert not any(clusters_home.iterdir()), "nothing was made"


def test_down_all_with_no_cluster_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["cluster", "down", "--all"]) == 0
    assert "no hpalab cluster exists" in capsys.readouterr().out

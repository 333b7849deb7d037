"""``hpalab load`` refuses bad input before starting anything (exit 2, with a hint)."""

import socket
from pathlib import Path

import pytest

from hpalab.cli.main import run

ROOT = Path(__file__).resolve().parents[3]
PROFILE = str(ROOT / "loadprofiles" / "step.yaml")
EXPERIMENT = str(ROOT / "experiments" / "ramp.yaml")


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.mark.parametrize(
    "args,message",
    [
        (["--url", "ftp://127.0.0.1:1"], "not an http(s) URL"),
        (["--url", "http://127.0.0.1:1/app"], "without a path"),
        (["--url", "http://127.0.0.1:1", "--duration", "abc"], "bad --duration"),
        (["--url", "http://127.0.0.1:1", "--duration", "0s"], "must be > 0"),
        (["--url", "http://127.0.0.1:1", "--variant", "x"], "needs an experiment"),
        (["--url", "http://127.0.0.1:99999"], "not a TCP port"),
        (["--url", "http://127.0.0.1:0"], "not a TCP port"),
        (["--url", "http://[::1"], "not an http(s) URL"),
    ],
)
def test_bad_arguments_exit_2_with_a_hint(capsys, args, message):
    assert run(["load", PROFILE, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "hint:" in err


def test_refused_connection_is_explained(capsys):
    assert run(["load", PROFILE, "--url", f"http://127.0.0.1:{closed_port()}"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err and "start the app first" in err


def test_missing_profile_is_a_spec_error(capsys, tmp_path):
    assert run(["load", str(tmp_path / "nope.yaml"), "--url", "http://127.0.0.1:1"]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_invalid_profile_lists_its_problem(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: b}\n"
        "spec: {stages: [{type: hold, rps: -5, duration: 1s}]}\n"
    )
    assert run(["load", str(bad), "--url", "http://127.0.0.1:1"]) == 2
    assert "bad.yaml:4" in capsys.readouterr().err


def test_unknown_variant_lists_the_variants(capsys):
    assert run(["load", EXPERIMENT, "--url", "http://127.0.0.1:1", "--variant", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no variant named 'nope'" in err and "variants:" in err


@pytest.mark.parametrize("workers", ["-1", "65", "x"])
def test_bad_worker_count_exits_2(workers):
    assert run(["load", PROFILE, "--url", "http://127.0.0.1:1", "--workers", workers]) == 2

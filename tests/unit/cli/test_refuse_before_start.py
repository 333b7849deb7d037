"""Every argument of ``up``, ``run`` and ``load`` is checked before anything starts.

Refused commands exit 2 with a message and leave no process and no lab directory behind.
"""

from __future__ import annotations

import socket
from pathlib import Path

import psutil
import pytest

from hpalab.cli.main import run

SMOKE = Path(__file__).resolve().parents[3] / "experiments" / "ci-smoke.yaml"


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _refused(capsys, argv: list[str]) -> str:
    before = _children()
    code = run(argv)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2, output
    assert "Traceback" not in output
    assert _children() <= before, "a refused command started a process"
    return output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "'--port'"),
        (["--port", "0"], "'--port'"),
        (["--port", "-1"], "'--port'"),
        (["--prometheus-port", "-5"], "'--prometheus-port'"),
        (["--prometheus-port", "70000"], "'--prometheus-port'"),
        (["--port", "8123", "--prometheus-port", "8123"], "both 8123"),
    ],
    ids=["port-high", "port-zero", "port-negative", "prom-negative", "prom-high", "same-port"],
)
def test_up_refuses_bad_ports_before_starting(capsys, tmp_path, args, message):
    lab = tmp_path / "lab"
    output = _refused(capsys, ["up", "--lab-dir", str(lab), *args])
    assert message in output
    assert not lab.exists()


def test_up_refuses_a_port_in_use_before_starting(capsys, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        lab = tmp_path / "lab"
        output = _refused(capsys, ["up", "--lab-dir", str(lab), "--prometheus-port", str(port)])
    assert f"port {port} on 127.0.0.1 for Prometheus (--prometheus-port) is already" in output
    assert not lab.exists()


@pytest.mark.parametrize("command", ["up", "status", "down"])
def test_lab_names_cannot_leave_the_state_directory(capsys, monkeypatch, tmp_path, command):
    monkeypatch.delenv("HPALAB_LAB_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    output = _refused(capsys, [command, "--name", "../../etc"])
    assert "is not a lab name" in output
    assert not (tmp_path / "hpalab").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "nope"], "--only names unknown variants: nope"),
        (["--repetitions", "0"], "'--repetitions'"),
        (["--platform", "docker"], "not one of local, kubernetes"),
    ],
    ids=["unknown-variant", "zero-repetitions", "unknown-platform"],
)
def test_run_refuses_bad_arguments_before_starting(capsys, tmp_path, args, message):
    out = tmp_path / "reports"
    output = _refused(capsys, ["run", str(SMOKE), "--out", str(out), *args])
    assert message in output
    assert not out.exists()


def test_run_refuses_an_out_that_is_a_file_before_starting(capsys, tmp_path):
    out = tmp_path / "reports"
    out.write_text("not a directory")
    output = _refused(capsys, ["run", str(SMOKE), "--out", str(out)])
    assert "is a file, not a directory" in output


def test_run_refuses_an_out_it_cannot_write_before_starting(capsys, tmp_path, monkeypatch):
    # root may write anywhere, so the permission answer is what the test controls
    import os

    monkeypatch.setattr(os, "access", lambda path, mode: path != tmp_path)
    output = _refused(capsys, ["run", str(SMOKE), "--out", str(tmp_path / "reports")])
    assert f"{tmp_path} is not writable" in output
    assert not (tmp_path / "reports").exists()

"""The registry of labs, ``hpalab down --all`` and the parent-death signal of children."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.lifetime import die_with_parent
from hpalab.platforms.local import registry
from hpalab.platforms.local.labstate import (
    ENV_LAB_ID,
    ENV_STATE_DIR,
    LAB_FILE,
    process_identity,
    registry_dir,
    state_dir,
    write_json,
)
from hpalab.platforms.local.processes import pid_alive, wait_gone
from tests.unit.orphans import assert_child_dies_with_parent

DEAD = [2**22 + 4321, 1.0]  # a lab process that no longer exists


@pytest.fixture
def state(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "state"))
    monkeypatch.delenv("HPALAB_LAB_DIR", raising=False)
    return tmp_path / "state"


@pytest.fixture
def orphan(tmp_path):
    """A process of a killed lab: it carries the lab's id, its parent is long gone."""
    started = []

    def start(lab_id: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, ENV_LAB_ID: lab_id}
        proc = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _lab(tmp_path: Path, name: str, lab_id: str, *, kind: str, process=None) -> Path:
    lab_dir = tmp_path / name
    lab_dir.mkdir()
    record = {"lab_id": lab_id, "lab_process": process or DEAD, "pids": {}}
    write_json(lab_dir / LAB_FILE, record)
    registry.register(lab_dir, record, kind=kind)
    return lab_dir


def test_the_state_directory_is_configurable(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "s"))
    assert state_dir() == tmp_path / "s"
    assert registry_dir() == tmp_path / "s" / "registry"
    monkeypatch.delenv(ENV_STATE_DIR)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "x"))
    assert state_dir() == tmp_path / "x" / "hpalab"


def test_stale_labs_are_found_killed_and_forgotten(state, tmp_path, orphan):
    run_dir = _lab(tmp_path, "hpalab-run-abc", "run1", kind="run")
    lab_dir = _lab(tmp_path, "lab", "lab1", kind="up")
    (lab_dir / "lab.log").write_text("kept")
    left = orphan("run1")
    alive_dir = _lab(tmp_path, "alive", "live1", kind="up", process=process_identity(os.getpid()))
    cleaned = registry.clean_stale()
    assert {(c.lab_dir, c.kind) for c in cleaned} == {(run_dir, "run"), (lab_dir, "up")}
    assert next(c for c in cleaned if c.kind == "run").killed == [left.pid]
    assert wait_gone([left.pid], timeout_s=5) == []
    assert not run_dir.exists(), "a run's working directory goes with it"
    assert (lab_dir / "lab.log").read_text() == "kept", "a lab's logs stay"
    assert not (lab_dir / LAB_FILE).exists()
    assert [e.lab_dir for e in registry.entries()] == [alive_dir], "a live lab is left alone"


def test_a_directory_taken_by_a_new_lab_is_not_touched(state, tmp_path, orphan):
    lab_dir = _lab(tmp_path, "lab", "old", kind="up")
    newer = {"lab_id": "new", "lab_process": process_identity(os.getpid()), "pids": {}}
    write_json(lab_dir / LAB_FILE, newer)
    bystander = orphan("new")
    registry.clean_stale()
    assert pid_alive(bystander.pid), "the new lab's processes are not the old lab's"
    assert (lab_dir / LAB_FILE).exists()
    assert registry.entries() == []


def test_only_run_directories_are_ever_removed(state, tmp_path):
    precious = _lab(tmp_path, "precious", "x", kind="run")
    registry.clean_stale()
    assert precious.exists()


def test_down_all_stops_every_lab_and_says_so(state, tmp_path, orphan, capsys):
    run_dir = _lab(tmp_path, "hpalab-run-1", "r1", kind="run")
    left = orphan("r1")
    assert run(["down", "--all"]) == 0
    out = capsys.readouterr().out
    assert f"cleaned up a run that had been killed: {run_dir}" in out
    assert f"killed leftover processes: {left.pid}" in out
    assert wait_gone([left.pid], timeout_s=5) == []
    assert run(["down", "--all"]) == 0
    assert "no lab was running" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args", [["--name", "x"], ["--platform", "kubernetes"]], ids=["name", "kubernetes"]
)
def test_down_all_refuses_options_that_name_one_stack(state, capsys, args):
    assert run(["down", "--all", *args]) == 2
    assert "error:" in capsys.readouterr().err


def test_an_unwritable_state_directory_is_refused_before_a_run(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(ENV_STATE_DIR, str(blocker / "state"))
    smoke = Path(__file__).resolve().parents[3] / "experiments" / "ci-smoke.yaml"
    assert run(["run", str(smoke), "--out", str(tmp_path / "out")]) == 2
    assert "set HPALAB_STATE_DIR" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_child_dies_with_its_parent():
    """A parent killed with SIGKILL takes its die_with_parent child with it."""
    assert_child_dies_with_parent(
        "import subprocess, sys, time\n"
        "from hpalab.lifetime import die_with_parent\n"
        "child = subprocess.Popen(['sleep', '60'], preexec_fn=die_with_parent())\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )


def test_die_with_parent_is_armed_on_linux():
    assert (die_with_parent() is not None) == sys.platform.startswith("linux")


class _Stop(Exception):
    """Stands in for everything after the sweep: nothing is started in these tests."""


@pytest.mark.parametrize(
    ("argv", "seam"),
    [
        (["run", "SMOKE", "--out", "OUT"], "hpalab.orchestration.runner.run_experiment"),
        (["up", "--lab-dir", "OUT"], "hpalab.platforms.local.lab.start_detached"),
    ],
    ids=["run", "up"],
)
def test_the_next_run_or_up_cleans_up_a_killed_lab(
    state, tmp_path, orphan, capsys, monkeypatch, argv, seam
):
    run_dir = _lab(tmp_path, "hpalab-run-old", "old-run", kind="run")
    left = orphan("old-run")

    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(seam, stop)
    smoke = Path(__file__).resolve().parents[3] / "experiments" / "ci-smoke.yaml"
    names = {"SMOKE": str(smoke), "OUT": str(tmp_path / "out")}
    argv = [names.get(a, a) for a in argv]
    with pytest.raises(_Stop):
        run(argv)
    err = capsys.readouterr().err
    assert f"cleaned up a run that had been killed: {run_dir}; killed {left.pid}" in err
    assert wait_gone([left.pid], timeout_s=5) == []
    assert registry.entries() == []


def test_down_of_one_lab_also_forgets_its_entry(state, tmp_path, capsys):
    lab_dir = _lab(tmp_path, "lab", "one", kind="up")
    assert run(["down", "--lab-dir", str(lab_dir)]) == 0
    assert "cleaned up a lab that had been killed" in capsys.readouterr().out
    assert registry.entries() == []

"""Your own program, locustfile and user model in a spec: bad inputs are exit 2 at file:line
with a fix, and the replicas' command is built as written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.platforms.local.replicas import ReplicaTemplate
from tests.unit.specs.test_bad_inputs import VALID, check_edit

APP = "  repetitions: 2\n  app:\n    command: [server, --port, '{port}']\n"

# (id, replace this, with this, expected line, expected substrings)
EDITS = [
    (
        "command-with-sample-app-fields",
        "  repetitions: 2\n",
        APP + "    cpuPerRequest: 5ms\n    concurrency: 4\n",
        35,
        ["spec.app", "cpuPerRequest, concurrency configure the sample app", "remove them"],
    ),
    (
        "command-empty",
        "  repetitions: 2\n",
        "  repetitions: 2\n  app:\n    command: []\n",
        36,
        ["spec.app.command", "at least 1"],
    ),
    (
        "readiness-path-without-slash",
        "  repetitions: 2\n",
        APP + "    readinessPath: healthz\n",
        37,
        ["spec.app.readinessPath", "^/"],
    ),
    (
        "command-with-app-slowdown",
        "  repetitions: 2\n",
        APP + "  events:\n    - {type: appSlowdown, at: 10s, duration: 5s, latency: 50ms}\n",
        5,
        ["appSlowdown is injected by the sample app", "remove the event"],
    ),
]


@pytest.mark.parametrize("edit", EDITS, ids=[e[0] for e in EDITS])
def test_bad_input_is_reported_with_place_and_fix(capsys, write, edit):
    check_edit(capsys, write, edit)


def test_a_command_with_its_paths_is_valid(capsys, write):
    text = VALID.replace(
        "  repetitions: 2\n",
        APP + "    readinessPath: /healthz\n    metricsPath: /stats\n    startupTimeout: 5s\n",
    )
    assert run(["validate", str(write(text))]) == 0, capsys.readouterr().err


def test_the_command_gets_port_pod_and_python_and_its_environment():
    template = ReplicaTemplate(command=("{python}", "app.py", "--listen=:{port}", "--id", "{pod}"))
    assert template.argv(port=8081, pod="shop-1") == [
        sys.executable,
        "app.py",
        "--listen=:8081",
        "--id",
        "shop-1",
    ]
    env = template.environment(port=8081, pod="shop-1")
    assert env is not None
    assert (env["PORT"], env["POD_NAME"]) == ("8081", "shop-1")
    assert "PATH" in env
    assert ReplicaTemplate().environment(port=1, pod="p") is None


LOAD = "  load:\n"
CLOSED = "  load:\n    model: closed\n    thinkTime: 1s\n"
GOOD_LOCUSTFILE = """\
from locust import HttpUser, between, task


class Shopper(HttpUser):
    wait_time = between(1, 2)

    @task(3)
    def browse(self):
        self.client.get("/")
"""

LOAD_EDITS = [
    (
        "closed-without-think-time",
        LOAD,
        "  load:\n    model: closed\n",
        28,
        ["the closed model needs a think time", "thinkTime"],
    ),
    (
        "users-in-the-open-model",
        "      - type: ramp\n",
        "      - type: hold\n        users: 3\n        duration: 5s\n      - type: ramp\n",
        31,
        ["spec.load.stages[0].users", "a hold stage in users", "model: closed"],
    ),
    (
        "endpoints-and-locustfile",
        LOAD,
        "  load:\n    locustfile: shop.py\n    endpoints: [{path: /cart}]\n",
        28,
        ["endpoints and locustfile are both set", "remove endpoints"],
    ),
    (
        "user-class-without-locustfile",
        LOAD,
        "  load:\n    userClass: Shopper\n",
        28,
        ["userClass needs a locustfile"],
    ),
    (
        "closed-with-zero-think-time",
        LOAD,
        "  load:\n    model: closed\n    thinkTime: 0s\n",
        28,
        ["thinkTime must be > 0 in the closed model"],
    ),
    ("zero-think-time-of-older-lock-files", LOAD, "  load:\n    thinkTime: 0s\n", None, []),
    (
        "think-time-in-the-open-model",
        LOAD,
        "  load:\n    thinkTime: 1s\n",
        28,
        ["thinkTime is for the closed model"],
    ),
]


@pytest.mark.parametrize("edit", LOAD_EDITS, ids=[e[0] for e in LOAD_EDITS])
def test_bad_load_model_is_reported_with_place_and_fix(capsys, write, edit):
    check_edit(capsys, write, edit)


def test_a_closed_model_with_rps_stages_is_reported(capsys, write):
    text = VALID.replace(LOAD, CLOSED, 1).replace(
        "      - type: ramp\n",
        "      - type: hold\n        rps: 5\n        duration: 5s\n      - type: ramp\n",
        1,
    )
    path = write(text)
    expected = ["spec.load.stages[0].rps: a hold stage in requests/s", "write users: instead"]
    _assert_reported(capsys, path, 33, expected)


def _assert_reported(capsys, path, line, expected, *, file=None):
    code = run(["validate", str(path)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2, output
    assert "Traceback" not in output
    assert f"{file or path}:{line}:" in output, output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"


def _with_locustfile(write, locustfile: str, extra: str = ""):
    write(locustfile, "shop.py")
    return write(VALID.replace(LOAD, f"{LOAD}    locustfile: shop.py\n{extra}", 1))


def test_a_locustfile_with_a_syntax_error_is_reported_at_its_line(capsys, write, tmp_path):
    broken = GOOD_LOCUSTFILE.replace("    def browse(self):", "    def browse(self)")
    path = _with_locustfile(write, broken)
    _assert_reported(capsys, path, 8, ["SyntaxError"], file=tmp_path / "shop.py")


def test_a_locustfile_that_raises_on_import_is_reported_at_its_line(capsys, write, tmp_path):
    path = _with_locustfile(write, GOOD_LOCUSTFILE + "\nsettings = load_settings()\n")
    _assert_reported(capsys, path, 11, ["NameError", "load_settings"], file=tmp_path / "shop.py")


def test_a_user_class_that_is_not_there_is_reported_at_user_class(capsys, write):
    path = _with_locustfile(write, GOOD_LOCUSTFILE, "    userClass: Shoper\n")
    _assert_reported(capsys, path, 30, ["spec.load.userClass", "no User class 'Shoper'", "Shopper"])


def test_a_missing_locustfile_is_reported_at_locustfile(capsys, write):
    path = write(VALID.replace(LOAD, f"{LOAD}    locustfile: nope.py\n", 1))
    _assert_reported(capsys, path, 29, ["spec.load.locustfile", "locustfile not found"])


def test_a_good_locustfile_validates_in_both_models(capsys, write):
    assert run(["validate", str(_with_locustfile(write, GOOD_LOCUSTFILE))]) == 0
    text = VALID.replace(LOAD, "  load:\n    model: closed\n    locustfile: shop.py\n", 1)
    assert run(["validate", str(write(text))]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("example", "expected"),
    [("closed.yaml", "open model only"), ("experiment.yaml", "not your own program")],
)
def test_the_simulator_refuses_what_it_does_not_model(capsys, tmp_path, example, expected):
    shop = Path(__file__).resolve().parents[3] / "examples" / "shop"
    assert run(["simulate", str(shop / example), "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args", [["run", "--dry-run"], ["up", "--dry-run"], ["validate"]], ids=lambda a: a[0]
)
def test_a_cluster_cannot_run_your_own_program(capsys, args):
    shop = Path(__file__).resolve().parents[3] / "examples" / "shop" / "experiment.yaml"
    assert run([args[0], str(shop), "--platform", "kubernetes", *args[1:]]) == 2
    err = capsys.readouterr().err
    assert f"{shop}:47:" in err and "spec.app.command" in err, err


def test_a_taskset_task_is_refused_with_a_fix(capsys, write):
    taskset = GOOD_LOCUSTFILE.replace(
        "from locust import HttpUser, between, task",
        "from locust import HttpUser, TaskSet, between, task\n\n\nclass Browse(TaskSet):\n"
        "    @task\n    def page(self):\n        self.client.get('/')",
    ).replace(
        "    wait_time = between(1, 2)\n", "    wait_time = between(1, 2)\n    tasks = [Browse]\n"
    )
    path = _with_locustfile(write, taskset)
    _assert_reported(capsys, path, 29, ["spec.load.locustfile", "TaskSet task (Browse)"])


def test_the_report_says_which_load_model_ran():
    from hpalab.report.specparams import load_model
    from hpalab.specs import load_spec

    shop = Path(__file__).resolve().parents[3] / "examples" / "shop"
    closed, open_ = load_spec(shop / "closed.yaml"), load_spec(shop / "experiment.yaml")
    assert load_model(closed.experiment.spec) == (  # type: ignore[union-attr]
        "closed (users, think: wait_time, tasks of locustfile.py)"
    )
    assert load_model(open_.experiment.spec) == "open (requests/s, tasks of locustfile.py)"  # type: ignore[union-attr]


def test_a_closed_model_with_a_profile_file_in_rps_is_reported(capsys, write):
    write(
        "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: p}\nspec:\n"
        "  stages: [{type: hold, rps: 5, duration: 10s}]\n",
        "p.yaml",
    )
    stages = (
        "    stages:\n      - type: ramp\n        from: 1\n        to: 50\n        duration: 1m\n"
    )
    path = write(VALID.replace(LOAD + stages, CLOSED + "    profile: p.yaml\n", 1))
    expected = ["spec.load.profile", "p.yaml: stages[0]: a hold stage in requests/s"]
    _assert_reported(capsys, path, 31, expected)

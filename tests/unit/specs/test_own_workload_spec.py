"""Your own program, locustfile and user model in a spec: bad inputs are exit 2 at file:line
with a fix, and the replicas' command is built as written."""

from __future__ import annotations

import sys

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

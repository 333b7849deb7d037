"""Load jobs: from specs, cut or extended, through JSON, with bad URLs refused."""

import json
from pathlib import Path

import pytest

from hpalab.errors import UsageError
from hpalab.load.job import (
    LoadJob,
    check_url,
    job_from_experiment,
    job_from_profile,
    profile_start,
)
from hpalab.specs import LoadedExperiment, load_spec
from hpalab.specs.loadsettings import Endpoint
from hpalab.specs.profiles import ProfileSpec

ROOT = Path(__file__).resolve().parents[3]


def profile(stages, arrivals=None):
    data = {"stages": stages, **({"arrivals": arrivals} if arrivals else {})}
    return ProfileSpec.model_validate_json(json.dumps(data))


ALL_STAGES = [
    {"type": "hold", "rps": 10, "duration": "2s"},
    {"type": "ramp", "to": 50, "duration": "4s"},
    {"type": "step", "rps": 80, "duration": "2s"},
    {"type": "spike", "rps": 200, "peakDuration": "1s", "duration": "3s"},
    {"type": "sine", "mean": 60, "amplitude": 20, "period": "4s", "duration": "4s"},
    {"type": "trace", "file": "t.csv", "points": [[0, 30], [2, 90], [4, 10]]},
]


def test_json_round_trip_keeps_everything():
    job = LoadJob(
        url="http://127.0.0.1:9",
        profile=profile(ALL_STAGES, {"process": "poisson", "seed": 4}),
        endpoints=(Endpoint(path="/a", weight=3), Endpoint(path="/b", method="POST")),
        seed=9,
        workers=2,
        timeout_s=2.5,
        max_users=77,
        report_port=1234,
        t0_grid=(1796330000.25, 15.0),
    )
    assert LoadJob.from_json(job.to_json()) == job


@pytest.mark.parametrize(
    ("earliest", "grid", "start"),
    [
        (100.0, None, 100.0),
        (100.0, (40.0, 15.0), 100.0),  # on the grid already
        (100.5, (40.0, 15.0), 115.0),
        (100.0, (1000.0, 15.0), 100.0),  # a grid point ahead of the earliest start
        (99.0, (7.25, 2.0), 99.25),
    ],
)
def test_the_profile_starts_at_the_first_grid_instant_it_can(earliest, grid, start):
    assert profile_start(earliest, grid) == pytest.approx(start)


@pytest.mark.parametrize("cut", [1.0, 3.5, 7.0, 9.5, 12.0, 14.5, 17.0])
def test_cutting_keeps_the_rate_of_every_stage_type(cut):
    job = LoadJob(url="http://x", profile=profile(ALL_STAGES))
    full, short = job.curve(), job.with_duration(cut).curve()
    assert short.duration_s == pytest.approx(cut)
    for tenth in range(int(cut * 10)):
        t = tenth / 10
        assert short.rate_at(t) == pytest.approx(full.rate_at(t)), t


def test_extending_holds_the_last_rate():
    job = LoadJob(
        url="http://x", profile=profile([{"type": "ramp", "from": 0, "to": 40, "duration": "4s"}])
    )
    longer = job.with_duration(10).curve()
    assert longer.duration_s == 10
    assert longer.rate_at(7.0) == pytest.approx(40)


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_bad_duration_is_a_usage_error(seconds):
    job = LoadJob(url="http://x", profile=profile(ALL_STAGES[:1]))
    with pytest.raises(UsageError):
        job.with_duration(seconds)


def test_profile_seed_wins_over_the_job_seed():
    assert LoadJob(url="http://x", profile=profile(ALL_STAGES[:1]), seed=5).arrival_seed == 5
    seeded = profile(ALL_STAGES[:1], {"process": "poisson", "seed": 42})
    assert LoadJob(url="http://x", profile=seeded, seed=5).arrival_seed == 42


def test_user_cap_defaults_per_load_process():
    spec = profile(ALL_STAGES[:1])
    assert LoadJob(url="http://x", profile=spec).user_cap == 1000
    assert LoadJob(url="http://x", profile=spec, workers=3).user_cap == 3000
    assert LoadJob(url="http://x", profile=spec, max_users=5).user_cap == 5


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1", "127.0.0.1:8080", "http://", "http://h:1/path", "http://h/?q=1"]
)
def test_bad_urls_are_usage_errors(url):
    with pytest.raises(UsageError) as caught:
        check_url(url)
    assert caught.value.hint


def test_good_url_loses_its_trailing_slash():
    assert check_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


def test_job_from_experiment_takes_endpoints_timeout_seed_and_workers():
    loaded = load_spec(ROOT / "experiments" / "ramp.yaml")
    assert isinstance(loaded, LoadedExperiment)
    job = job_from_experiment(loaded, url="http://127.0.0.1:1", workers=2)
    load = loaded.experiment.spec.load
    assert job.endpoints == tuple(load.endpoints)
    assert job.timeout_s == load.timeout
    assert job.seed == loaded.experiment.spec.seed
    assert job.workers == 2
    assert job.profile == loaded.profile


def test_the_closed_model_and_a_locustfile_reach_the_job(tmp_path):
    experiment = tmp_path / "exp" / "closed.yaml"
    experiment.parent.mkdir()
    text = (ROOT / "experiments" / "ci-smoke.yaml").read_text()
    text = text.replace("        rps: 4\n", "        users: 4\n").replace(
        "  load:\n",
        "  load:\n    model: closed\n    thinkTime: 500ms\n"
        "    locustfile: ../shop.py\n    userClass: Shopper\n",
    )
    experiment.write_text(text)
    loaded = load_spec(experiment)
    assert isinstance(loaded, LoadedExperiment)
    job = LoadJob.from_json(job_from_experiment(loaded, url="http://127.0.0.1:1").to_json())
    assert (job.model, job.think_time_s, job.user_class) == ("closed", 0.5, "Shopper")
    assert job.locustfile == str(tmp_path / "shop.py")
    assert job.profile.stages[0].in_users  # type: ignore[union-attr]


def test_job_from_profile_file():
    loaded = load_spec(ROOT / "loadprofiles" / "step.yaml")
    job = job_from_profile(loaded, url="http://localhost:8080")  # type: ignore[arg-type]
    assert job.curve().duration_s == 210
    assert job.endpoints == (Endpoint(),)


def test_without_a_driver_a_load_process_writes_its_records_to_stdout(capfd):
    from hpalab.load.worker.runtime import Runtime

    job = job_from_profile(
        profile([{"type": "hold", "rps": 2, "duration": "2s"}]), url="http://h:1"
    )
    assert job.report_port == 0
    runtime = Runtime(job, worker=1)
    runtime.connect()
    runtime.recorder.sent(0.1, 0.0)
    runtime.recorder.ended(0.2, 100.0, 200)
    runtime.flush(1)
    runtime.bye()
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert [line["type"] for line in lines] == ["hello", "second", "bye"]
    assert lines[1]["worker"] == 1 and lines[1]["sent"] == 1 and lines[1]["responses"] == 1


def test_a_profile_of_users_alone_is_refused():
    users = profile([{"type": "hold", "users": 5, "duration": "2s"}])
    with pytest.raises(UsageError) as caught:
        job_from_profile(users, url="http://127.0.0.1:1")
    assert "users" in caught.value.message

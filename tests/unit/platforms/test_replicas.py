import re

import pytest

from hpalab.platforms.local.frontdoor import parse_stat
from hpalab.platforms.local.frontdoor import render_config as render_haproxy
from hpalab.platforms.local.metrics import CpuMeter
from hpalab.platforms.local.replicas import (
    Backoff,
    ProbeSettings,
    Replica,
    ReplicaTemplate,
    pod_name,
    removal_order,
)


def test_pod_names_look_like_deployment_pods():
    template = ReplicaTemplate(cpu_per_request_s=0.002)
    name = pod_name(template)
    assert re.fullmatch(r"sample-app-[0-9a-f]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    assert name.split("-")[2] == template.template_hash()
    assert ReplicaTemplate(cpu_per_request_s=0.003).template_hash() != template.template_hash()


def test_argv_runs_the_sample_app_with_the_template():
    argv = ReplicaTemplate(latency_s=0.02).argv(port=8081, pod="p")
    assert argv[1:3] == ["-m", "hpalab.sampleapp"]
    assert argv[argv.index("--latency") + 1] == "0.02"
    assert argv[argv.index("--port") + 1] == "8081"


def test_backoff_restarts_at_once_then_doubles_up_to_the_cap():
    backoff = Backoff(base_s=10, cap_s=300)
    assert [backoff.delay_s(n) for n in range(7)] == [0, 10, 20, 40, 80, 160, 300]


@pytest.mark.parametrize(
    "kwargs",
    [{"period_s": 0}, {"timeout_s": -1}, {"success_threshold": 0}, {"failure_threshold": 0}],
)
def test_probe_settings_reject_nonsense(kwargs):
    with pytest.raises(ValueError, match="probe"):
        ProbeSettings(**kwargs)


def _replica(name, *, created, ready_at=None, restarts=0):
    return Replica(name=name, port=1, created_at=created, ready_at=ready_at, restarts=restarts)


def test_removal_prefers_unready_then_newest_ready():
    # proc is None for all, so "not running" ties; readiness and age decide.
    old_ready = _replica("old", created=1, ready_at=2)
    new_ready = _replica("new", created=5, ready_at=6)
    unready = _replica("unready", created=0)
    crashy = _replica("crashy", created=1, ready_at=2, restarts=3)
    order = [r.name for r in removal_order([old_ready, new_ready, unready, crashy])]
    assert order == ["unready", "new", "crashy", "old"]


def test_haproxy_config_has_slots_and_admin_socket(tmp_path):
    text = render_haproxy(port=8080, socket_path=tmp_path / "s.sock", slots=16)
    assert "bind 127.0.0.1:8080" in text
    assert "server-template slot 1-16 127.0.0.1:9 disabled" in text
    assert f"stats socket {tmp_path / 's.sock'} mode 600 level admin" in text
    with pytest.raises(ValueError, match="slot"):
        render_haproxy(port=8080, socket_path=tmp_path, slots=0)


def test_parse_stat_keeps_backend_servers_only():
    text = (
        "# pxname,svname,qcur,qmax,scur,status,\n"
        "load,FRONTEND,,,3,OPEN,\n"
        "pods,slot1,0,0,2,no check,\n"
        "pods,slot2,1,0,0,MAINT,\n"
        "pods,BACKEND,0,0,2,UP,\n"
    )
    stats = parse_stat(text)
    assert set(stats) == {"slot1", "slot2"}
    assert stats["slot1"]["scur"] == "2"
    assert stats["slot2"]["status"] == "MAINT"


def test_cpu_meter_averages_over_the_window_and_resets_on_restart():
    meter = CpuMeter(window_s=10)
    meter.record("a", pid=1, cpu_s=0.0, now=100.0)
    assert meter.usage() == {}  # one sample is no rate
    meter.record("a", pid=1, cpu_s=1.0, now=105.0)
    meter.record("a", pid=1, cpu_s=3.0, now=115.0)
    usage = meter.usage()["a"]
    # the window starts at the newest sample at least 10 s old (t=105)
    assert usage.millicores == pytest.approx(200.0)
    assert usage.timestamp == 115.0
    assert usage.window_s == pytest.approx(10.0)
    meter.record("a", pid=2, cpu_s=0.1, now=116.0)  # new process: new counters
    assert "a" not in meter.usage()
    meter.sample({}, now=117.0)  # gone pods are forgotten
    meter.record("b", pid=3, cpu_s=5.0, now=120.0)
    meter.record("b", pid=3, cpu_s=4.0, now=121.0)  # never negative
    assert meter.usage()["b"].millicores == 0.0


def test_cpu_meter_rejects_a_zero_window():
    with pytest.raises(ValueError, match="window"):
        CpuMeter(window_s=0)

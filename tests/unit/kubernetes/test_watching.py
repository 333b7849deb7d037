"""Watches on pods, the HPA and events: timestamped events from recorded watch streams."""

import json
import time

from hpalab.platforms.kubernetes.watching import (
    HpaTracker,
    PodTracker,
    Watch,
    event_to_platform,
    pod_status,
)
from tests.unit.kubernetes.fakeapi import RECORDINGS

RECORDING = json.loads((RECORDINGS / "watch_scale_up.json").read_text())
ROUTES = {(r["method"], r["path"]): r["responses"] for r in RECORDING["routes"]}
POD_STREAM = ROUTES[("GET", "/api/v1/namespaces/hpalab/pods?watch")][0]["stream"]


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def _until(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_pod_status_reads_phase_readiness_and_api_timestamps():
    ready = pod_status(POD_STREAM[5]["object"])
    assert ready.ready and ready.phase == "Running"
    assert ready.started_at is not None and ready.ready_at - ready.started_at == 1.0
    pending = pod_status(POD_STREAM[0]["object"])
    assert not pending.ready and pending.phase == "Pending" and pending.started_at is None
    deleting = json.loads(json.dumps(POD_STREAM[5]["object"]))
    deleting["metadata"]["deletionTimestamp"] = "2026-11-26T21:43:00Z"
    assert pod_status(deleting).phase == "Terminating"


def test_pod_tracker_emits_each_lifecycle_step_once_in_order():
    events = []
    tracker = PodTracker(events.append, Ticks())
    for event in POD_STREAM:
        if event["type"] != "BOOKMARK":
            tracker.update(event["type"], event["object"])
    b = "sampleapp-6f7c9d8b54-7h5tm"
    kinds_b = [e.kind for e in events if e.object == b]
    assert kinds_b == ["pod_created", "pod_started", "pod_ready"]
    assert [e.t for e in events] == sorted(e.t for e in events)
    assert all(e.t % 0.25 == 0 for e in events)  # sub-second local arrival times
    terminating = json.loads(json.dumps(POD_STREAM[5]["object"]))
    terminating["metadata"]["deletionTimestamp"] = "2026-11-26T21:43:00Z"
    tracker.update("MODIFIED", terminating)
    tracker.update("DELETED", terminating)
    assert [e.kind for e in events if e.object == b][-2:] == ["pod_terminating", "pod_deleted"]
    assert b not in tracker.pods


def test_pod_tracker_counts_a_restart_as_a_crash_and_a_lost_probe_as_unready():
    events = []
    tracker = PodTracker(events.append, Ticks())
    ready = POD_STREAM[5]["object"]
    tracker.update("ADDED", ready)
    crashed = json.loads(json.dumps(ready))
    crashed["status"]["containerStatuses"][0]["restartCount"] = 1
    crashed["status"]["conditions"][-1]["status"] = "False"
    tracker.update("MODIFIED", crashed)
    assert [e.kind for e in events][-2:] == ["pod_unready", "pod_crashed"]


def test_hpa_tracker_records_each_status_change_once_and_no_rescale():
    events = []
    tracker = HpaTracker(events.append, Ticks())
    initial = ROUTES[("GET", "/apis/autoscaling/v2/namespaces/hpalab/horizontalpodautoscalers")][0][
        "body"
    ]["items"][0]
    tracker.update("ADDED", initial)
    for event in ROUTES[
        ("GET", "/apis/autoscaling/v2/namespaces/hpalab/horizontalpodautoscalers?watch")
    ][0]["stream"]:
        tracker.update(event["type"], event["object"])
    # Rescales come from the controller's Events only (see the next test), never twice.
    assert [e.kind for e in events] == ["hpa_status", "hpa_status", "hpa_status"]
    assert (
        events[1].detail["desired"] == 3
        and events[1].detail["conditions"]["ScalingActive"] == "True"
    )
    assert tracker.status["currentReplicas"] == 3


def test_kubernetes_events_become_rescales_and_warnings_others_are_dropped():
    stream = ROUTES[("GET", "/api/v1/namespaces/hpalab/events?watch")][0]["stream"]
    converted = [event_to_platform(e["object"], 5.0) for e in stream]
    assert converted[0].kind == "hpa_rescale" and "New size: 3" in converted[0].detail["reason"]
    assert (
        converted[1].kind == "warning"
        and converted[1].object == "pod/prometheus-adapter-5d9c7b8f6-m2xlw"
    )
    assert converted[2] is None


def test_a_watch_follows_bookmarks_and_relists_after_410_gone(api, server, client):
    api.load("watch_scale_up")
    events, errors = [], []
    tracker = PodTracker(events.append, Ticks())
    watch = Watch(
        client,
        "/api/v1/namespaces/hpalab/pods",
        on_event=tracker.update,
        on_list=tracker.reset,
        on_error=errors.append,
        label_selector="app.kubernetes.io/name=sampleapp",
        retry_s=0.05,
    )
    watch.start()
    try:
        assert _until(lambda: watch.relists >= 2)
    finally:
        watch.stop()
        watch.join(timeout=5)
    assert not watch.is_alive()
    watches = [
        r
        for r in api.calls("GET", "/api/v1/namespaces/hpalab/pods")
        if r.query.get("watch") == "true"
    ]
    assert watches[0].query["resourceVersion"] == "3010"  # from the list
    assert watches[1].query["resourceVersion"] == "3036"  # the last event, after the bookmark
    assert watches[0].query["allowWatchBookmarks"] == "true"
    assert watches[0].query["labelSelector"] == "app.kubernetes.io/name=sampleapp"
    assert errors == []
    assert sum(1 for e in events if e.kind == "pod_ready") == 2  # the relist repeats nothing
    assert sorted(tracker.pods) == [
        "sampleapp-6f7c9d8b54-7h5tm",
        "sampleapp-6f7c9d8b54-q9wzl",
        "sampleapp-6f7c9d8b54-x2kqp",
    ]


def test_a_watch_reports_errors_and_retries(api, server, client):
    api.add(
        "GET",
        "/api/v1/namespaces/hpalab/pods",
        {
            "status": 403,
            "body": {
                "kind": "Status",
                "message": 'pods is forbidden: User "dev" cannot list resource "pods"',
                "code": 403,
            },
        },
    )
    errors = []
    watch = Watch(
        client,
        "/api/v1/namespaces/hpalab/pods",
        on_event=lambda *_: None,
        on_list=lambda _: None,
        on_error=errors.append,
        retry_s=0.05,
    )
    watch.start()
    try:
        assert _until(lambda: len(errors) >= 2)
    finally:
        watch.stop()
        watch.join(timeout=5)
    assert "forbidden" in errors[0]


def test_a_broken_stream_is_reported_and_resumed_from_the_last_version(api, server, client):
    path = "/api/v1/namespaces/hpalab/pods"
    api.add("GET", path, ROUTES[("GET", path)][0])
    api.add(
        "GET",
        path + "?watch",
        {"status": 200, "stream": [POD_STREAM[0], '{"type": "MODIFIED", "obj'], "hold_s": 0},
        {"status": 200, "stream": [], "hold_s": 0.3},
    )
    events, errors = [], []
    tracker = PodTracker(events.append, Ticks())
    watch = Watch(
        client,
        path,
        on_event=tracker.update,
        on_list=tracker.reset,
        on_error=errors.append,
        retry_s=0.05,
    )
    watch.start()
    try:
        assert _until(lambda: len([r for r in api.calls("GET", path) if r.query.get("watch")]) >= 2)
    finally:
        watch.stop()
        watch.join(timeout=5)
    assert "broke off" in errors[0]
    watches = [r for r in api.calls("GET", path) if r.query.get("watch")]
    assert (
        watches[1].query["resourceVersion"]
        == POD_STREAM[0]["object"]["metadata"]["resourceVersion"]
    )
    assert watch.relists == 1  # resumed, not re-listed

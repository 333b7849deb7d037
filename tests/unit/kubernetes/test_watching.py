"""Watches on pods, the HPA and events: timestamped events from watch streams captured from a
real API server during one trial of `hpalab run --platform kubernetes` (watch_scale_up)."""

import json
import time

from hpalab.platforms.kubernetes.watching import (
    HpaTracker,
    PodTracker,
    Watch,
    event_to_platform,
    pod_status,
)
from tests.unit.kubernetes.fakeapi import NAMESPACE, recorded

ROUTES = recorded("watch_scale_up")
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
HPAS = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers"
EVENTS = f"/api/v1/namespaces/{NAMESPACE}/events"


def _streamed(path):
    """Every event of every captured watch of ``path``, in order."""
    return [e for r in ROUTES[("GET", path + "?watch")] for e in r["stream"]]


POD_EVENTS = [e for e in _streamed(PODS) if e["type"] != "BOOKMARK"]
# The same pods while `kubectl scale` took the app back to one replica after the trial.
SCALE_DOWN = [
    e
    for e in recorded("watch_scale_down")[("GET", PODS + "?watch")][0]["stream"]
    if e["type"] != "BOOKMARK"
]


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


def _ready(pod):
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod["status"].get("conditions") or []
    )


def _first(predicate, events=POD_EVENTS):
    return next(e["object"] for e in events if predicate(e))


def test_pod_status_reads_phase_readiness_and_api_timestamps():
    ready = pod_status(_first(lambda e: _ready(e["object"])))
    assert ready.ready and ready.phase == "Running"
    assert ready.started_at is not None and ready.ready_at >= ready.started_at
    pending = pod_status(_first(lambda e: e["type"] == "ADDED"))
    assert not pending.ready and pending.phase == "Pending" and pending.started_at is None
    deleting = _first(lambda e: e["object"]["metadata"].get("deletionTimestamp"), SCALE_DOWN)
    status = pod_status(deleting)
    assert status.phase == "Terminating" and status.terminating_at is not None


def test_pod_tracker_emits_each_lifecycle_step_once_in_order():
    events = []
    tracker = PodTracker(events.append, Ticks())
    tracker.reset(ROUTES[("GET", PODS)][0]["body"]["items"])  # the first list fills it silently
    for event in POD_EVENTS + SCALE_DOWN:
        tracker.update(event["type"], event["object"])
    created = [e["object"]["metadata"]["name"] for e in POD_EVENTS if e["type"] == "ADDED"]
    assert created
    steps = ["pod_created", "pod_started", "pod_ready", "pod_terminating", "pod_deleted"]
    for name in created:
        kinds = [e.kind for e in events if e.object == name]
        assert kinds == [k for k in steps if k in kinds], (name, kinds)
    assert [e.t for e in events] == sorted(e.t for e in events)
    assert all(e.t % 0.25 == 0 for e in events)  # sub-second local arrival times
    deleted = {e["object"]["metadata"]["name"] for e in SCALE_DOWN if e["type"] == "DELETED"}
    assert deleted == set(created) and not deleted & set(tracker.pods)
    assert [e.kind for e in events if e.object == created[0]] == steps


def test_pod_tracker_counts_a_restart_as_a_crash_and_a_lost_probe_as_unready():
    events = []
    tracker = PodTracker(events.append, Ticks())
    ready = _first(lambda e: _ready(e["object"]))
    tracker.update("ADDED", ready)
    # A crash, as the kubelet would report it (no container crashed in the captured trial).
    crashed = json.loads(json.dumps(ready))
    crashed["status"]["containerStatuses"][0]["restartCount"] += 1
    for condition in crashed["status"]["conditions"]:
        if condition["type"] == "Ready":
            condition["status"] = "False"
    tracker.update("MODIFIED", crashed)
    assert [e.kind for e in events][-2:] == ["pod_unready", "pod_crashed"]


def test_hpa_tracker_records_each_status_change_once_and_no_rescale():
    events = []
    tracker = HpaTracker(events.append, Ticks())
    for item in ROUTES[("GET", HPAS)][0]["body"]["items"]:
        tracker.update("ADDED", item)
    streamed = _streamed(HPAS)
    for event in streamed:
        if event["type"] != "BOOKMARK":
            tracker.update(event["type"], event["object"])
    # Rescales come from the controller's Events only (see the next test), never twice.
    assert {e.kind for e in events} == {"hpa_status"}
    seen = [(e.detail["desired"], e.detail["metrics"]) for e in events]
    assert max(d for d, _ in seen) > 1  # the scale-up
    last = [e for e in streamed if e["type"] != "BOOKMARK"][-1]
    assert tracker.status == ({} if last["type"] == "DELETED" else last["object"]["status"])


def test_kubernetes_events_become_rescales_and_warnings_others_are_dropped():
    objects = [e["object"] for e in _streamed(EVENTS) if e["type"] != "BOOKMARK"]
    converted = [(o, event_to_platform(o, 5.0)) for o in objects]
    rescales = [c for o, c in converted if o.get("reason") == "SuccessfulRescale"]
    assert rescales and all(c.kind == "hpa_rescale" for c in rescales)
    assert all(c.object == "horizontalpodautoscaler/sampleapp" for c in rescales)
    assert any("New size: " in c.detail["reason"] for c in rescales)
    for o, c in converted:
        if o.get("type") == "Warning":
            assert c.kind in ("warning", "hpa_rescale")
        elif o.get("reason") != "SuccessfulRescale":
            assert c is None, o


def test_a_watch_follows_bookmarks_and_relists_after_410_gone(api, server, client):
    # The first captured list and watch, then a watch from a version the server no longer
    # keeps (captured: the 410), then a list again.
    (expired,) = recorded("watch_expired")[("GET", PODS + "?watch")]
    listed = ROUTES[("GET", PODS)][0]
    first = ROUTES[("GET", PODS + "?watch")][0]
    api.add("GET", PODS, listed)
    api.add("GET", PODS + "?watch", first, expired)
    events, errors = [], []
    tracker = PodTracker(events.append, Ticks())
    watch = Watch(
        client,
        PODS,
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
    watches = [r for r in api.calls("GET", PODS) if r.query.get("watch") == "true"]
    assert watches[0].query["resourceVersion"] == listed["body"]["metadata"]["resourceVersion"]
    # resumed from the last version seen, a bookmark's included
    last = first["stream"][-1]["object"]["metadata"]["resourceVersion"]
    assert watches[1].query["resourceVersion"] == last
    assert watches[0].query["allowWatchBookmarks"] == "true"
    assert watches[0].query["labelSelector"] == "app.kubernetes.io/name=sampleapp"
    assert errors == []
    assert sorted(tracker.pods) == sorted(p["metadata"]["name"] for p in listed["body"]["items"])


def test_a_watch_reports_errors_and_retries(api, server, client):
    api.add("GET", PODS, *recorded("forbidden_pods")[("GET", PODS)])  # a user without rights
    errors = []
    watch = Watch(
        client,
        PODS,
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
    # A connection that breaks off mid-event: a network fault no API server can be made to
    # send, so this stream is cut by hand from a captured one.
    path = PODS
    api.add("GET", path, ROUTES[("GET", path)][0])
    api.add(
        "GET",
        path + "?watch",
        {"status": 200, "stream": [POD_EVENTS[0], '{"type": "MODIFIED", "obj'], "hold_s": 0},
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
        == POD_EVENTS[0]["object"]["metadata"]["resourceVersion"]
    )
    assert watch.relists == 1  # resumed, not re-listed

"""Watches on HPAs, pods and events, turned into timestamped platform events and a live cache.

Each watch runs in its own thread: list (to learn the resourceVersion), then watch from there;
on ``410 Gone`` (the version expired) it lists again; on a dropped connection it resumes from the
last version seen (bookmarks keep it fresh). Timestamps are the local wall clock when the change
arrives, to the millisecond; the API's own timestamps (whole seconds) are kept in ``detail``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hpalab.errors import PlatformError
from hpalab.platforms.base import PlatformEvent, PodStatus
from hpalab.platforms.kubernetes.client import ApiStatusError, KubeClient
from hpalab.platforms.kubernetes.waiting import condition

Emit = Callable[[PlatformEvent], None]


def _ts(text: str | None) -> float | None:
    """An RFC 3339 API timestamp as seconds since the epoch."""
    if not text:
        return None
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pod_status(pod: dict[str, Any]) -> PodStatus:
    """A pod as ``kubectl get pod`` shows it, with its lifecycle timestamps."""
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    ready_cond = condition(pod, "Ready") or {}
    ready = ready_cond.get("status") == "True"
    containers = status.get("containerStatuses") or []
    restarts = sum(int(c.get("restartCount", 0)) for c in containers)
    phase = status.get("phase", "Pending")
    if meta.get("deletionTimestamp"):
        phase = "Terminating"
    elif any(
        (c.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
        for c in containers
    ):
        phase = "CrashLoopBackOff"
    started = [_ts((c.get("state") or {}).get("running", {}).get("startedAt")) for c in containers]
    return PodStatus(
        name=meta.get("name", ""),
        phase=phase,
        ready=ready,
        restarts=restarts,
        created_at=_ts(meta.get("creationTimestamp")),
        started_at=next((s for s in started if s is not None), None),
        ready_at=_ts(ready_cond.get("lastTransitionTime")) if ready else None,
        terminating_at=_ts(meta.get("deletionTimestamp")),
    )


class PodTracker:
    """Pod events from successive pod states: created, started, ready, unready, terminating,
    deleted, crashed."""

    def __init__(self, emit: Emit, clock: Callable[[], float] = time.time) -> None:
        self.pods: dict[str, PodStatus] = {}
        self._primed = False
        self._emit = emit
        self._clock = clock

    def update(self, kind: str, pod: dict[str, Any]) -> None:
        """Apply one watch event (``ADDED``, ``MODIFIED``, ``DELETED``) for a pod."""
        now = self._clock()
        new = pod_status(pod)
        old = self.pods.get(new.name)
        if kind == "DELETED":
            self.pods.pop(new.name, None)
            self._emit(PlatformEvent(now, "pod_deleted", new.name))
            return
        self.pods[new.name] = new
        if old is None:
            self._emit(PlatformEvent(now, "pod_created", new.name, {"api_time": new.created_at}))
        if new.started_at and (old is None or not old.started_at):
            self._emit(PlatformEvent(now, "pod_started", new.name, {"api_time": new.started_at}))
        if new.ready and (old is None or not old.ready):
            self._emit(PlatformEvent(now, "pod_ready", new.name, {"api_time": new.ready_at}))
        if old is not None and old.ready and not new.ready and new.phase != "Terminating":
            self._emit(PlatformEvent(now, "pod_unready", new.name))
        if new.phase == "Terminating" and (old is None or old.phase != "Terminating"):
            self._emit(PlatformEvent(now, "pod_terminating", new.name))
        if old is not None and new.restarts > old.restarts:
            self._emit(PlatformEvent(now, "pod_crashed", new.name, {"restarts": new.restarts}))

    def reset(self, pods: list[dict[str, Any]]) -> None:
        """Replace the cache after a list: the first fills it silently (those pods existed
        before observation began); later ones emit what changed while the watch was down."""
        if not self._primed:
            self._primed = True
            self.pods = {status.name: status for status in map(pod_status, pods)}
            return
        names = {p.get("metadata", {}).get("name") for p in pods}
        for gone in set(self.pods) - names:
            self.update("DELETED", {"metadata": {"name": gone}})
        for pod in pods:
            self.update("MODIFIED", pod)


class HpaTracker:
    """The HPA's status as the controller writes it, one ``hpa_status`` event per change.

    The controller's syncs are not observable from outside the cluster: it writes the status
    only when something in it changed. Rescales are recorded from the controller's
    ``SuccessfulRescale`` Events (with its reason), not here, so each is recorded once."""

    def __init__(self, emit: Emit, clock: Callable[[], float] = time.time) -> None:
        self.status: dict[str, Any] = {}
        self.name = ""
        self._emit = emit
        self._clock = clock

    def update(self, kind: str, hpa: dict[str, Any]) -> None:
        """Apply one watch event for the HPA."""
        if kind == "DELETED":
            self.status = {}
            return
        now = self._clock()
        self.name = hpa.get("metadata", {}).get("name", "")
        old, new = self.status, dict(hpa.get("status") or {})
        self.status = new
        changed = old.get("desiredReplicas") != new.get("desiredReplicas")
        if (
            changed
            or old.get("lastScaleTime") != new.get("lastScaleTime")
            or old.get("currentMetrics") != new.get("currentMetrics")
        ):
            able = condition(hpa, "AbleToScale") or {}
            detail = {
                "desired": new.get("desiredReplicas"),
                "current": new.get("currentReplicas"),
                "reason": able.get("reason", ""),
                "conditions": {c["type"]: c.get("status") for c in new.get("conditions") or []},
                "metrics": new.get("currentMetrics") or [],
            }
            self._emit(PlatformEvent(now, "hpa_status", f"hpa/{self.name}", detail))


def event_to_platform(event: dict[str, Any], now: float) -> PlatformEvent | None:
    """A Kubernetes Event worth recording: the HPA's rescales (with the controller's reason)
    and warnings about the stack's objects."""
    involved = event.get("involvedObject", {})
    reason, message = event.get("reason", ""), event.get("message", "")
    target = f"{involved.get('kind', '').lower()}/{involved.get('name', '')}"
    api_time = _ts(event.get("eventTime") or event.get("lastTimestamp"))
    if involved.get("kind") == "HorizontalPodAutoscaler" and reason == "SuccessfulRescale":
        return PlatformEvent(now, "hpa_rescale", target, {"reason": message, "api_time": api_time})
    if event.get("type") == "Warning":
        return PlatformEvent(
            now, "warning", target, {"reason": reason, "message": message, "api_time": api_time}
        )
    return None


class Watch(threading.Thread):
    """List, then watch one collection until stopped, resuming after drops and ``410 Gone``."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        *,
        on_event: Callable[[str, dict[str, Any]], None],
        on_list: Callable[[list[dict[str, Any]]], None],
        on_error: Callable[[str], None],
        label_selector: str | None = None,
        retry_s: float = 1.0,
        timeout_s: int = 60,
    ) -> None:
        super().__init__(daemon=True, name=f"watch {path}")
        self.client, self.path, self.selector = client, path, label_selector
        self.on_event, self.on_list, self.on_error = on_event, on_list, on_error
        self.retry_s, self.timeout_s = retry_s, timeout_s
        self.stopped = threading.Event()
        self.resource_version: str | None = None
        self.relists = 0

    def relist(self) -> None:
        """List the collection and remember the version to watch from."""
        query = {"labelSelector": self.selector} if self.selector else None
        body = self.client.get(self.path, query=query) or {}
        self.resource_version = body.get("metadata", {}).get("resourceVersion")
        self.relists += 1
        self.on_list(list(body.get("items", [])))

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                if self.resource_version is None:
                    self.relist()
                self._follow()
            except ApiStatusError as error:
                if error.status == 410:
                    self.resource_version = None
                    continue
                self.on_error(str(error))
                self.stopped.wait(self.retry_s)
            except PlatformError as error:
                self.on_error(str(error))
                self.stopped.wait(self.retry_s)

    def _follow(self) -> None:
        events = self.client.watch(
            self.path,
            resource_version=self.resource_version,
            timeout_s=self.timeout_s,
            label_selector=self.selector,
        )
        for event in events:
            kind, body = event.get("type", ""), event.get("object", {})
            if kind == "ERROR":
                if body.get("code") == 410:
                    self.resource_version = None
                    return
                raise PlatformError(
                    f"watch {self.path}: {body.get('message')}", hint="it is retried"
                )
            version = body.get("metadata", {}).get("resourceVersion")
            if version:
                self.resource_version = version
            if kind != "BOOKMARK":
                self.on_event(kind, body)
            if self.stopped.is_set():
                return

    def stop(self) -> None:
        """Stop after the current event (or within the watch's timeout)."""
        self.stopped.set()

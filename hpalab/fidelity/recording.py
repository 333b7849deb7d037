"""What happened on the cluster during a scenario, from watches: every state of the pods, of
the Deployment (the scale subresource's spec and status replicas) and of the HPA's status,
each with the wall-clock time it arrived, so the state at any instant can be read back."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hpalab.platforms.kubernetes.client import KubeClient
from hpalab.platforms.kubernetes.watching import Watch

Obj = dict[str, Any]


@dataclass(slots=True)
class Change:
    """One watched object as it was from ``t_s`` on (``None`` once deleted)."""

    t_s: float
    kind: str
    name: str
    body: Obj | None


@dataclass
class Recording:
    """Every change of the watched objects, in arrival order."""

    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, name: str, body: Obj | None) -> None:
        with self._lock:
            self.changes.append(Change(time.time(), kind, name, body))

    def state_at(self, kind: str, t_s: float) -> dict[str, Obj]:
        """The objects of ``kind`` (by name) as they were at ``t_s``."""
        out: dict[str, Obj] = {}
        with self._lock:
            changes = list(self.changes)
        for change in changes:
            if change.t_s > t_s:
                break
            if change.kind != kind:
                continue
            if change.body is None:
                out.pop(change.name, None)
            else:
                out[change.name] = change.body
        return out

    def latest(self, kind: str) -> dict[str, Obj]:
        return self.state_at(kind, float("inf"))


def pods_in_order(pods: dict[str, Obj]) -> list[Obj]:
    """Pods in creation order (the order per-pod overrides count in), then by name."""
    return sorted(
        pods.values(),
        key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"]),
    )


class Recorder:
    """Watches pods, Deployments and HPAs of one namespace into a :class:`Recording`."""

    KINDS: ClassVar[dict[str, str]] = {
        "pod": "/api/v1/namespaces/{ns}/pods",
        "deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
        "hpa": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
    }

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.recording = Recording()
        self._watches = [
            Watch(
                client,
                path.format(ns=namespace),
                on_event=self._event(kind),
                on_list=self._listed(kind),
                on_error=self.recording.errors.append,
                timeout_s=30,
            )
            for kind, path in self.KINDS.items()
        ]

    def _event(self, kind: str) -> Any:
        def on_event(event: str, body: Obj) -> None:
            name = body.get("metadata", {}).get("name", "")
            self.recording.add(kind, name, None if event == "DELETED" else body)

        return on_event

    def _listed(self, kind: str) -> Any:
        def on_list(items: list[Obj]) -> None:
            known = self.recording.latest(kind)
            for item in items:
                self.recording.add(kind, item["metadata"]["name"], item)
            names = {i["metadata"]["name"] for i in items}
            for gone in set(known) - names:
                self.recording.add(kind, gone, None)

        return on_list

    def __enter__(self) -> Recorder:
        for watch in self._watches:
            watch.start()
        return self

    def __exit__(self, *_: object) -> None:
        for watch in self._watches:
            watch.stop()

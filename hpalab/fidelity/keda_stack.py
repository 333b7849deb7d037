"""The real KEDA on a kubernetes-platform stack of ``hpalab cluster``, and the engine beside it.

For each ScaledObject: apply it to the stack's sample app, read the HPA KEDA's operator made,
have the API server default the engine's HPA the same way (a dry-run create), read each External
metric through the aggregated API as the HPA controller does and ask the same Prometheus the
same query for the engine, then (when asked) watch the app's replicas for activation and
deactivation while the engine's operator loop runs on that Prometheus' answers at its poll
times. The ScaledObject is deleted afterwards, and the app put back to one replica.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import quote

from hpalab.autoscaling.keda.values import PrometheusReadError, read_response, reading
from hpalab.errors import PlatformError, UsageError
from hpalab.fidelity import keda_compare
from hpalab.fidelity.keda_objects import FidelityObject
from hpalab.platforms.kubernetes import keda
from hpalab.platforms.kubernetes.client import KubeClient, collection_path
from hpalab.platforms.kubernetes.objects import APP, PROMETHEUS_PORT, StackOptions
from hpalab.platforms.kubernetes.waiting import Waiter

HPA_TIMEOUT_S = 90.0
SAMPLE_EVERY_S = 0.5
DRY_RUN_NAME = "hpalab-fidelity-engine"
FIRST_POLL_S = 0.5
"""When the engine's first poll is, after the apply: KEDA's operator reconciles the new
ScaledObject and polls at once, a moment after its creation (so its creation age is > 0)."""


class KedaStack:
    """KEDA next to the stack of ``hpalab up --platform kubernetes --namespace NS``."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.ns = namespace
        self.options = StackOptions(namespace=namespace, instance=namespace)
        self.clock, self.sleep = clock, sleep

    @property
    def prometheus(self) -> str:
        return f"http://prometheus-operated.{self.ns}.svc:{PROMETHEUS_PORT}"

    def _deployment(self) -> str:
        return f"/apis/apps/v1/namespaces/{self.ns}/deployments/{APP}"

    def check(self) -> None:
        if self.client.get(self._deployment()) is None:
            raise UsageError(
                f"no kubernetes-platform stack in namespace {self.ns}",
                hint=f"`hpalab up --platform kubernetes --namespace {self.ns}` first",
            )

    @contextmanager
    def holding(self, out: TextIO) -> Iterator[None]:
        """KEDA installed and serving the external metrics API; given back afterwards."""
        waiter = Waiter(self.client, self.options)
        keda.ensure_installed(self.client, waiter, self.options, out=out)
        hpa = f"{collection_path('autoscaling/v2', 'HorizontalPodAutoscaler', self.ns)}/{APP}"
        found = self.client.get(hpa)
        if found is not None and not found["metadata"].get("ownerReferences"):
            self.client.delete(hpa)  # hpalab's own HPA would fight KEDA's over the app
        keda.hold_external_metrics(self.client, waiter, self.options)
        try:
            yield
        finally:
            keda.release_external_metrics(self.client, self.ns)
            self._scale(1)

    def _scale(self, replicas: int) -> None:
        self.client.call(
            "PATCH",
            f"{self._deployment()}/scale",
            body={"spec": {"replicas": replicas}},
            content_type="application/merge-patch+json",
        )

    def _replicas(self) -> int:
        scale = self.client.get(f"{self._deployment()}/scale") or {}
        return int(scale.get("spec", {}).get("replicas", 0))

    def run(self, item: FidelityObject) -> keda_compare.ObjectComparison:
        """Apply ``item``, compare, delete it."""
        result = keda_compare.ObjectComparison(item.name)
        path = f"{collection_path('keda.sh/v1alpha1', 'ScaledObject', self.ns)}/{item.name}"
        if self.client.delete(path):
            keda.wait_gone(self.client, path)
        self._scale(1)
        if item.watch_s:
            self._align(item.polling_interval_s)
        started = self.clock()
        self.client.apply(item.body(self.ns))
        try:
            engine = item.engine_hpa()
            if engine.hpa is not None:
                real = self._wait_hpa(engine.hpa["name"])
                keda_compare.compare_hpa(real, self._defaulted(engine.hpa), result)
            if item.watch_s:
                self._watch(item, started, result)
            else:
                self._values(item, engine.external_metric_names, result)
        finally:
            self.client.delete(path)
            keda.wait_gone(self.client, path)
        return result

    def _align(self, interval_s: float) -> None:
        """Wait until the polls will fall midway between multiples of the polling interval in
        wall time, where a watched query changes (``time() % 60 < bool 30`` at :00 and :30).

        KEDA's loop polls at its own phase, a moment after the apply; the engine polls at
        ``FIRST_POLL_S`` after it. A query that changed between the two would make them read
        different values and put their transitions a whole interval apart."""
        wait = (interval_s / 2 - FIRST_POLL_S - self.clock()) % interval_s
        self.sleep(wait)

    def _wait_hpa(self, name: str) -> dict[str, Any]:
        path = f"{collection_path('autoscaling/v2', 'HorizontalPodAutoscaler', self.ns)}/{name}"
        deadline = self.clock() + HPA_TIMEOUT_S
        while (found := self.client.get(path)) is None:
            if self.clock() > deadline:
                raise PlatformError(
                    f"KEDA made no HPA {name} in {HPA_TIMEOUT_S:.0f} s",
                    hint="`kubectl -n keda logs deploy/keda-operator` shows why",
                )
            self.sleep(0.5)
        return found

    def _defaulted(self, hpa: dict[str, Any]) -> dict[str, Any]:
        """The engine's HPA as the API server would store it (a dry-run create)."""
        body = {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {
                "name": DRY_RUN_NAME,  # KEDA's HPA has the engine's name already
                "namespace": self.ns,
                "labels": hpa["labels"],
                **({"annotations": hpa["annotations"]} if hpa["annotations"] else {}),
            },
            "spec": {
                k: v
                for k, v in hpa.items()
                if k not in ("name", "labels", "annotations") and v is not None
            },
        }
        path = collection_path("autoscaling/v2", "HorizontalPodAutoscaler", self.ns)
        response = self.client.request("POST", path, query={"dryRun": "All"}, body=body)
        if response.status >= 300:
            raise PlatformError(
                f"the API server refused the engine's HPA: {response.data.decode()[:300]}",
                hint="a bug in the KEDA engine's HPA; please report it",
            )
        defaulted = dict(json.loads(response.data))
        defaulted["metadata"]["name"] = hpa["name"]
        return defaulted

    def prometheus_value(self, query: str, *, at: float | None = None) -> tuple[int, str]:
        """(status, body) of the instant query through the API server's service proxy."""
        path = f"/api/v1/namespaces/{self.ns}/services/prometheus-operated:web/proxy/api/v1/query"
        params = {"query": query, **({"time": f"{at:.3f}"} if at is not None else {})}
        response = self.client.request("GET", path, query=params)
        return response.status, response.data.decode()

    def _engine_value(self, trigger: dict[str, Any], *, at: float | None = None) -> float | None:
        metadata = trigger.get("metadata") or {}
        status, body = self.prometheus_value(str(metadata["query"]), at=at)
        ignore = str(metadata.get("ignoreNullValues", "true")).lower() == "true"
        try:
            return read_response(status, body, ignore_null_values=ignore, query=metadata["query"])
        except PrometheusReadError:
            return None

    def _values(
        self, item: FidelityObject, names: list[str], result: keda_compare.ObjectComparison
    ) -> None:
        triggers = [t for t in item.spec["triggers"] if t.get("type") not in ("cpu", "memory")]
        for name, trigger in zip(names, triggers, strict=False):
            if trigger.get("type") != "prometheus":
                continue
            selector = quote(f"scaledobject.keda.sh/name={item.name}")
            path = (
                f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{self.ns}/{name}"
                f"?labelSelector={selector}"
            )
            served = self.client.get(path) or {}
            items = served.get("items") or []
            real = str(items[0]["value"]) if items else "<none>"
            value = self._engine_value(trigger)
            threshold = float((trigger.get("metadata") or {}).get("activationThreshold", 0))
            engine = (
                "<error>"
                if value is None
                else reading(value, activation_threshold=threshold).metric.text
            )
            keda_compare.compare_value(name, real, engine, result)

    def _watch(
        self, item: FidelityObject, started: float, result: keda_compare.ObjectComparison
    ) -> None:
        samples: list[tuple[float, int]] = [(0.0, 1)]
        while (now := self.clock()) - started < item.watch_s:
            samples.append((now - started, self._replicas()))
            self.sleep(SAMPLE_EVERY_S)
        interval = item.polling_interval_s
        polls = []
        triggers = item.prometheus_triggers()
        for k in range(int(item.watch_s // interval) + 1):
            t_s = FIRST_POLL_S + k * interval
            values = tuple(self._engine_value(t, at=started + t_s) for t in triggers)
            polls.append(keda_compare.Poll(t_s, values))
        thresholds = [
            float((t.get("metadata") or {}).get("activationThreshold", 0)) for t in triggers
        ]
        engine = keda_compare.engine_transitions(
            item.spec, polls, activation_thresholds=thresholds, replicas=1
        )
        # a transition the engine puts in the last interval may fall after the watch ends, so
        # only those up to the last engine poll before it count; the real one follows the
        # engine's by a fraction of an interval (aligned polls)
        cut = max(p.t_s for p in polls if p.t_s <= item.watch_s - interval)
        keda_compare.compare_transitions(
            [t for t in keda_compare.real_transitions(samples) if t[1] <= cut + interval / 2],
            [t for t in engine if t[1] <= cut],
            polling_interval_s=interval,
            result=result,
        )

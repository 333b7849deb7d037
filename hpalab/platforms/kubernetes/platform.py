"""``KubernetesPlatform``: the experiment on a real cluster, observed through watches.

``start`` deploys the stack (or finds it deployed) and starts three watches: the app's pods,
the HPA, and the namespace's events. ``observe`` reads the scale subresource and polls the value
the adapter serves for the HPA's metric; everything else comes from the watch caches. ``stop``
ends the watches and port-forwards and deletes the HPA, so the app stops scaling; the stack stays
for the next run (``hpalab down`` removes it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpalab.autoscaling.hpa.queueing import sync_delay_s
from hpalab.autoscaling.hpa.versions import controller_config
from hpalab.errors import PlatformError
from hpalab.platforms.base import Platform, PlatformEvent, Snapshot
from hpalab.platforms.kubernetes import fingerprinting, keda, lifecycle, profile
from hpalab.platforms.kubernetes.client import KubeClient, collection_path, load_api_client
from hpalab.platforms.kubernetes.faults import KubeFaults, Node
from hpalab.platforms.kubernetes.metrics_api import MetricProbe
from hpalab.platforms.kubernetes.objects import APP, StackOptions, selector
from hpalab.platforms.kubernetes.portforward import PortForward, kubectl_options
from hpalab.platforms.kubernetes.render_adapter import AdapterTLS
from hpalab.platforms.kubernetes.render_app import deployment
from hpalab.platforms.kubernetes.stack import Wait, variant_steps
from hpalab.platforms.kubernetes.waiting import Waiter
from hpalab.platforms.kubernetes.watching import (
    HpaTracker,
    PodTracker,
    Watch,
    event_to_platform,
)
from hpalab.specs import ExperimentSpec


class KubernetesPlatform(Platform):
    """The stack on the cluster of a kubeconfig context."""

    name = "kubernetes"

    def __init__(
        self,
        spec: ExperimentSpec,
        *,
        context: str | None = None,
        namespace: str = "hpalab",
        kubeconfig: Path | None = None,
        manifests_dir: Path | None = None,
        app_image: str | None = None,
        load_url: str | None = None,
        prometheus_url: str | None = None,
        deploy: bool = True,
        client: KubeClient | None = None,
        waiter: Waiter | None = None,
        clock: Callable[[], float] = time.time,
        controller_hook: Callable[[Any], dict[str, Any]] | None = None,
        node: Node | None = None,
    ) -> None:
        """``load_url`` / ``prometheus_url``: where this machine reaches the app and Prometheus
        (default: their NodePorts on 127.0.0.1, as kind maps them). ``prometheus_url=
        "port-forward"`` runs ``kubectl port-forward`` instead. ``deploy=False`` expects the
        stack already up (``hpalab up``). ``controller_hook`` applies a variant's
        ``spec.controller`` to the cluster (an ``hpalab cluster``) and returns the flags set;
        without one, they are read where visible or recorded as assumed. ``node`` acts on the
        node's network (``hpalab cluster``), for ``prometheusOutage`` and ``networkDelay``."""
        self.spec = spec
        self.options = StackOptions(namespace=namespace, instance=namespace, app_image=app_image)
        self.context, self.kubeconfig, self.manifests_dir = context, kubeconfig, manifests_dir
        self._load_url, self._prometheus_url = load_url, prometheus_url
        self._deploy = deploy
        self._client, self._waiter = client, waiter
        self._clock = clock
        self._controller_hook = controller_hook
        self._node = node
        self._faults: KubeFaults | None = None
        self._probe = MetricProbe(clock, self._emit)
        self._events: list[PlatformEvent] = []
        self._event_counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.pods = PodTracker(self._emit, clock)
        self.hpa = HpaTracker(self._emit, clock)
        self._watches: list[Watch] = []
        self._forward: PortForward | None = None
        self._flags: dict[str, Any] = {}
        self._hpa_created_at: float | None = None
        self._tls: AdapterTLS | None = None
        self.profile = profile.Profile()
        """What kind of cluster it is (read from its nodes by ``start``)."""
        self.log = io.StringIO()
        self.hpa_name = APP
        """The HPA whose decisions are recorded (and the one ``stop`` removes)."""

    # -- plumbing -------------------------------------------------------------------------

    @property
    def client(self) -> KubeClient:
        if self._client is None:
            api = load_api_client(context=self.context, config_file=self.kubeconfig)
            self._client = KubeClient(api)
        return self._client

    def _emit(self, event: PlatformEvent) -> None:
        with self._lock:
            self._events.append(event)

    def _waiter_for(self, spec: ExperimentSpec) -> Waiter:
        if self._waiter is not None:
            self._waiter.hpa_spec = spec.hpa.to_kubernetes()
            return self._waiter
        return Waiter(self.client, self.options, hpa_spec=spec.hpa.to_kubernetes())

    @property
    def faults(self) -> KubeFaults:
        if self._faults is None:
            self._faults = KubeFaults(
                self.client,
                self.options.namespace,
                self._pod_selector(),
                ["kubectl", *kubectl_options(self.context, self.kubeconfig)],
                node=self._node,
            )
        return self._faults

    def start_fault(self, event: Any) -> dict[str, Any]:
        return self.faults.start(event)

    def end_fault(self, event: Any) -> dict[str, Any]:
        return self.faults.end(event)

    def _pod_selector(self) -> str:
        return ",".join(f"{k}={v}" for k, v in selector(self.options, APP).items())

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.profile = profile.detect(self.client)
        self.options = self.profile.options(
            namespace=self.options.namespace, app_image=self.options.app_image
        )
        self._keep_deployed_image()
        if self._deploy:
            result = lifecycle.deploy(
                self.spec,
                self.options,
                client=self.client,
                waiter=self._waiter_for(self.spec),
                manifests_dir=self.manifests_dir,
                kubelet_insecure_tls=self.profile.kubelet_insecure_tls,
                with_hpa=False,
                with_grafana=self.profile.grafana,
                out=self.log,
            )
            self._tls = result.tls
        else:
            self._tls = lifecycle.current_tls(self.client, self.options)
        self._start_watches()

    def _keep_deployed_image(self) -> None:
        """Without an explicit image, keep the one ``hpalab up --app-image`` deployed, so a run
        does not switch a built image back to the ConfigMap default."""
        if self.options.app_image is not None:
            return
        path = f"/apis/apps/v1/namespaces/{self.options.namespace}/deployments/{APP}"
        found = self.client.get(path)
        if found is None:
            return
        pod = found.get("spec", {}).get("template", {}).get("spec", {})
        image = (pod.get("containers") or [{}])[0].get("image")
        if image and image != self.options.python_image:
            self.options = dataclasses.replace(self.options, app_image=image)

    def _start_watches(self, *, retry_s: float = 1.0) -> None:
        ns = self.options.namespace
        hpa_path = collection_path("autoscaling/v2", "HorizontalPodAutoscaler", ns)
        specs: list[
            tuple[
                str,
                str | None,
                Callable[[str, dict[str, Any]], None],
                Callable[[list[dict[str, Any]]], None],
            ]
        ] = [
            (
                f"/api/v1/namespaces/{ns}/pods",
                self._pod_selector(),
                self.pods.update,
                self.pods.reset,
            ),
            (hpa_path, None, self._on_hpa, self._hpa_listed),
            (f"/api/v1/namespaces/{ns}/events", None, self._on_event, lambda _items: None),
        ]
        for path, label_selector, on_event, on_list in specs:
            watch = Watch(
                self.client,
                path,
                on_event=on_event,
                on_list=on_list,
                on_error=self._on_watch_error,
                label_selector=label_selector,
                retry_s=retry_s,
            )
            watch.start()
            self._watches.append(watch)

    def _hpa_listed(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self._on_hpa("MODIFIED", item)

    def _on_hpa(self, kind: str, body: dict[str, Any]) -> None:
        # Only the app's HPA: another one in the namespace must not pass for its decisions.
        if body.get("metadata", {}).get("name") == self.hpa_name:
            self.hpa.update(kind, body)

    def _on_event(self, kind: str, body: dict[str, Any]) -> None:
        # A repeated Event comes back MODIFIED with a higher count: each repeat is recorded.
        metadata = body.get("metadata", {})
        uid = metadata.get("uid") or metadata.get("name", "")
        count = int(body.get("count") or (body.get("series") or {}).get("count") or 1)
        if kind not in ("ADDED", "MODIFIED") or self._event_counts.get(uid, 0) >= count:
            return
        self._event_counts[uid] = count
        if event := event_to_platform(body, self._clock()):
            self._emit(event)

    def _on_watch_error(self, message: str) -> None:
        self._emit(PlatformEvent(self._clock(), "collector_error", "watch", {"message": message}))

    def stop(self) -> None:
        self._stop_observing()
        if self._client is not None:
            path = collection_path(
                "autoscaling/v2", "HorizontalPodAutoscaler", self.options.namespace
            )
            # Stopping must not fail; `hpalab down` cleans up the rest.
            with contextlib.suppress(PlatformError):
                self._client.delete(f"{path}/{APP}")
                if self.spec.keda is not None:
                    keda.release_external_metrics(self._client, self.options.namespace)

    def _stop_observing(self) -> None:
        """Clear the faults, end the watches and port-forwards."""
        if self._faults is not None:
            # Stopping must not fail; `hpalab down` removes what is left.
            with contextlib.suppress(PlatformError):
                self._faults.clear()
        for watch in self._watches:
            watch.stop()
        self._watches.clear()
        if self._forward is not None:
            self._forward.stop()
            self._forward = None

    def apply_variant(self, spec: ExperimentSpec) -> None:
        """Render and apply the variant (app, Prometheus, adapter config that rolls the adapter,
        HPA) and wait until the HPA is ScalingActive with a metric."""
        self.spec = spec
        if self._controller_hook is not None:
            self._flags = self._controller_hook(spec.controller)
        waiter = self._waiter_for(spec)
        steps = variant_steps(spec, self.options, self._tls)
        if spec.keda is None:
            lifecycle.drop_unused_apiservices(self.client, spec)
        else:  # KEDA's ScaledObject makes the HPA, and KEDA serves its External metrics
            steps = keda.variant_steps(steps, spec, self.options)
        keda.prepare_variant(self.client, spec, waiter, self.options, out=self.log)
        lifecycle.apply_steps(self.client, steps, waiter, out=self.log)
        if self._controller_hook is not None:
            return
        self._flags, mismatches = fingerprinting.flag_record(self.client, spec)
        for text in mismatches:
            self._emit(
                PlatformEvent(
                    self._clock(), "warning", "kube-controller-manager", {"message": text}
                )
            )

    def reset(self) -> None:
        """Delete the HPA (its recommendation history goes with it), return to the initial
        replicas, wait for all of them Ready, and create the HPA again."""
        client, ns = self.client, self.options.namespace
        if self._faults is not None:
            self._faults.clear()
        hpa_path = collection_path("autoscaling/v2", "HorizontalPodAutoscaler", ns)
        keda.remove_scaled_object(client, ns)  # with its HPA and KEDA's state of it
        client.delete(f"{hpa_path}/{APP}")
        deleted_at = self._clock()
        waiter = self._waiter_for(self.spec)
        client.apply(deployment(self.spec, self.options))
        waiter.wait(Wait("rollout", APP, ns), timeout_s=self.spec.phases.settle_timeout)
        self.wait_until_forgotten(deleted_at, waiter)
        client.apply(keda.autoscaler(self.spec, self.options))
        # KEDA's operator creates the HPA of a ScaledObject, at a time not seen from here
        self._hpa_created_at = None if self.spec.keda is not None else self._clock()
        waiter.wait(Wait("metric", APP, ns))
        waiter.wait(Wait("hpa", APP, ns))

    def wait_until_forgotten(self, deleted_at: float, waiter: Waiter) -> None:
        """Wait until the HPA controller has dropped the deleted HPA's history.

        Deleting an HPA does not clear its recommendations and scale events: the controller
        only forgets the key's rate limit, and drops the history when a worker next takes the
        key and finds the HPA gone, at the latest one sync period after its last sync. An HPA
        created again before that inherits the history: after a trial at 10 replicas, the
        default 5-minute scale-down window would scale the next trial up from 1 to 10."""
        remaining = deleted_at + self._sync_period() + 1.0 - self._clock()
        if remaining > 0:
            waiter.sleep(remaining)

    def _sync_period(self) -> float:
        return float(self._flags.get("sync_period") or self.spec.controller.sync_period)

    def sync_anchor(self) -> tuple[float, float] | None:
        """The HPA's creation by the last reset: the controller syncs a new HPA at once from
        1.37 (one period later before), then every sync period."""
        if self._hpa_created_at is None:
            return None
        first = sync_delay_s(controller_config(self.spec.controller), "add")
        return self._hpa_created_at + first, self._sync_period()

    # -- observation ----------------------------------------------------------------------

    @property
    def load_url(self) -> str:
        return self._load_url or self.profile.node_url(self.options.app_node_port)

    @property
    def prometheus_url(self) -> str:
        if self._prometheus_url == "port-forward":
            if self._forward is None:
                self._forward = PortForward(
                    namespace=self.options.namespace,
                    target="svc/prometheus-operated",
                    remote_port=9090,
                    context=self.context,
                    kubeconfig=self.kubeconfig,
                )
                self._forward.start()
            return self._forward.url
        return self._prometheus_url or self.profile.node_url(self.options.prometheus_node_port)

    def observe(self) -> Snapshot:
        now = self._clock()
        scale = self.client.get(self.scale_path()) or {}
        spec_replicas = int(scale.get("spec", {}).get("replicas", 0))
        pods = tuple(sorted(self.pods.pods.values(), key=lambda p: p.name))
        if self._faults is not None:
            self._faults.catch_up(p.name for p in pods if p.phase == "Running")
        ready = sum(1 for p in pods if p.ready and p.phase != "Terminating")
        status = dict(self.hpa.status)
        value, target = self._probe.read(
            self.client,
            self.spec.hpa.to_kubernetes()["metrics"][0],  # type: ignore[index]
            namespace=self.options.namespace,
            pod_selector=self._pod_selector(),
            status=status,
            replicas=spec_replicas,
        )
        return Snapshot(
            t=now,
            spec_replicas=spec_replicas,
            desired_replicas=int(status.get("desiredReplicas", spec_replicas)),
            ready_replicas=ready,
            pods=pods,
            hpa=status,
            metric_value=value,
            metric_target=target,
        )

    def scale_path(self) -> str:
        return f"/apis/apps/v1/namespaces/{self.options.namespace}/deployments/{APP}/scale"

    def drain_events(self) -> list[PlatformEvent]:
        with self._lock:
            out, self._events = self._events, []
        return sorted(out, key=lambda e: e.t)

    def fingerprint(self) -> dict[str, Any]:
        client = self.client
        nodes = client.list("/api/v1/nodes")
        kubelets = sorted(
            {n.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "") for n in nodes}
        )
        if not self._flags and self._controller_hook is not None:
            self._flags = self._controller_hook(self.spec.controller)
        elif not self._flags:
            self._flags, _ = fingerprinting.flag_record(client, self.spec)
        return {
            "platform": "kubernetes",
            "kubernetes_version": fingerprinting.server_version(client),
            "server": client.server,
            "nodes": len(nodes),
            "kubelet_versions": kubelets,
            "controller_flags": self._flags,
            "adapter_image": self.options.adapter_image,
            "prometheus_version": self.options.prometheus_version,
            "app_image": self.options.app_image
            or f"{self.options.python_image} (source from ConfigMap)",
            "namespace": self.options.namespace,
        }

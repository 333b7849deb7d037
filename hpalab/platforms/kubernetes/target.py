"""``TargetPlatform``: the experiment on a workload hpalab did not create (``spec.target``).

It deploys nothing. Before the first change it saves what it will change (:mod:`.saving`);
per variant it writes the adapter's rules into the adapter's ConfigMap (rolling the
Deployments that mount it) and sets the HPA; between trials it deletes the HPA, scales the
workload back to the replicas it had, waits for all of them Ready and sets the HPA again; when
the run ends, however it ends, it restores what it saved.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes import profile, saving
from hpalab.platforms.kubernetes.existing import path_of, service_port, target_hpa_spec
from hpalab.platforms.kubernetes.objects import MANAGED_BY
from hpalab.platforms.kubernetes.platform import KubernetesPlatform
from hpalab.platforms.kubernetes.portforward import PortForward
from hpalab.platforms.kubernetes.stack import Wait
from hpalab.specs import ExperimentSpec
from hpalab.specs.target import TargetSpec

CONFIG_ANNOTATION = "hpalab.dev/adapter-config"
"""On the adapter's pod template: the hash of the rules it must load (changing it rolls it)."""


def match_labels_selector(workload: dict[str, Any]) -> str:
    """The workload's ``spec.selector`` as a label selector string."""
    selector = workload.get("spec", {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        values = ",".join(expr.get("values") or [])
        op = expr.get("operator")
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({values})")
        elif op == "Exists":
            parts.append(expr["key"])
        elif op == "DoesNotExist":
            parts.append(f"!{expr['key']}")
    return ",".join(parts)


def mounts_configmap(deployment: dict[str, Any], name: str) -> bool:
    volumes = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("volumes") or []
    return any((v.get("configMap") or {}).get("name") == name for v in volumes)


class TargetPlatform(KubernetesPlatform):
    """An existing Deployment or StatefulSet on the cluster of a kubeconfig context."""

    def __init__(self, spec: ExperimentSpec, **kwargs: Any) -> None:
        if spec.target is None:
            raise PlatformError("TargetPlatform needs spec.target", hint="a bug in hpalab")
        self.target: TargetSpec = spec.target
        super().__init__(spec, namespace=spec.target.namespace, deploy=False, **kwargs)
        self.hpa_name = self.target.hpa or self.target.name
        self._run_dir: Path | None = None
        self._selector = ""
        self._baseline_replicas = 1
        self._saved_hpa: dict[str, Any] | None = None
        self._load_forward: PortForward | None = None
        self._restored = False

    # -- paths ----------------------------------------------------------------------------

    def _workload_path(self) -> str:
        t = self.target
        return path_of(t.kind, t.namespace, t.name)

    def scale_path(self) -> str:
        return self._workload_path() + "/scale"

    def _hpa_path(self) -> str:
        return path_of("HorizontalPodAutoscaler", self.target.namespace, self.hpa_name)

    def _pod_selector(self) -> str:
        return self._selector

    def _adapter_deployments(self) -> list[str]:
        ref = self.target.adapter_config_map
        if ref is None:
            return []
        listed = self.client.list(path_of("Deployment", ref.namespace))
        return [
            path_of("Deployment", ref.namespace, d["metadata"]["name"])
            for d in listed
            if mounts_configmap(d, ref.config_map)
        ]

    # -- lifecycle ------------------------------------------------------------------------

    def use_run_dir(self, path: Path) -> None:
        self._run_dir = path

    def start(self) -> None:
        if self._run_dir is None:
            raise PlatformError("no run directory to save the cluster's objects in", hint="a bug")
        self.profile = profile.detect(self.client)
        workload = self.client.get(self._workload_path())
        if workload is None:
            t = self.target
            raise PlatformError(
                f"{t.kind} {t.namespace}/{t.name} is gone", hint="check the --context"
            )
        self._selector = match_labels_selector(workload)
        ref = self.target.adapter_config_map
        paths = [self.scale_path(), self._hpa_path()]
        if ref is not None:
            paths += [
                path_of("ConfigMap", ref.namespace, ref.config_map),
                *self._adapter_deployments(),
            ]
        record = saving.save(self.client, self._run_dir, paths, context=self.context)
        by_path = {e["path"]: e["object"] for e in record["objects"]}
        self._baseline_replicas = int(by_path[self.scale_path()]["spec"].get("replicas") or 1)
        self._saved_hpa = by_path[self._hpa_path()]
        self._start_watches()

    def stop(self) -> None:
        self._stop_observing()
        if self._load_forward is not None:
            self._load_forward.stop()
            self._load_forward = None
        if self._run_dir is None or self._restored or self._client is None:
            return
        if saving.saved_path(self._run_dir).is_file():
            done = saving.restore(self._client, self._run_dir)
            self._restored = True
            self.log.write("\n".join(done or ["nothing to restore"]) + "\n")

    def apply_variant(self, spec: ExperimentSpec) -> None:
        """Write the variant's adapter rules (rolling the adapter when they changed) and set
        its HPA."""
        self.spec = spec
        if self._controller_hook is not None:
            self._flags = self._controller_hook(spec.controller)
        ref = self.target.adapter_config_map
        if ref is not None:
            self._write_adapter_rules(spec, ref.namespace, ref.config_map, ref.key)
        self._set_hpa(spec)

    def _write_adapter_rules(self, spec: ExperimentSpec, ns: str, name: str, key: str) -> None:
        path = path_of("ConfigMap", ns, name)
        current = self.client.get(path) or {}
        text = yaml.safe_dump(spec.adapter, sort_keys=False)
        if yaml.safe_load((current.get("data") or {}).get(key) or "") == spec.adapter:
            return  # the same rules: no restart
        self.client.call("PATCH", path, body={"data": {key: text}}, content_type=saving.MERGE_PATCH)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        patch = {"spec": {"template": {"metadata": {"annotations": {CONFIG_ANNOTATION: digest}}}}}
        waiter = self._waiter_for(spec)
        for deployment in self._adapter_deployments():
            self.client.call("PATCH", deployment, body=patch, content_type=saving.MERGE_PATCH)
            waiter.wait(Wait("rollout", deployment.rsplit("/", 1)[-1], ns))

    def _hpa_body(self, spec: ExperimentSpec) -> dict[str, Any]:
        saved = (self._saved_hpa or {}).get("metadata", {})
        labels = dict(saved.get("labels") or {MANAGED_BY: "hpalab"})
        metadata: dict[str, Any] = {
            "name": self.hpa_name,
            "namespace": self.target.namespace,
            "labels": labels,
        }
        if saved.get("annotations"):
            metadata["annotations"] = dict(saved["annotations"])
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata,
            "spec": target_hpa_spec(self.target, spec),
        }

    def _set_hpa(self, spec: ExperimentSpec) -> None:
        """Replace the HPA (not a merge: a field the variant drops is gone)."""
        body = self._hpa_body(spec)
        current = self.client.get(self._hpa_path())
        if current is None:
            self.client.call(
                "POST", path_of("HorizontalPodAutoscaler", self.target.namespace), body=body
            )
            return
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self.client.call("PUT", self._hpa_path(), body=body)

    def reset(self) -> None:
        """Delete the HPA (and its history), scale the workload back to the replicas it had,
        wait until all are Ready and the controller is done, and set the HPA again."""
        if self._faults is not None:
            self._faults.clear()
        self.client.delete(self._hpa_path())
        deleted_at = self._clock()
        body = {"spec": {"replicas": self._baseline_replicas}}
        self.client.call("PATCH", self.scale_path(), body=body, content_type=saving.MERGE_PATCH)
        waiter = self._waiter_for(self.spec)
        kind = "rollout" if self.target.kind == "Deployment" else "statefulset"
        waiter.wait(
            Wait(kind, self.target.name, self.target.namespace),
            timeout_s=self.spec.phases.settle_timeout,
        )
        self.wait_until_forgotten(deleted_at, waiter)
        self._set_hpa(self.spec)
        self._hpa_created_at = self._clock()
        waiter.wait(Wait("hpa", self.hpa_name, self.target.namespace))

    # -- observation ----------------------------------------------------------------------

    @property
    def load_url(self) -> str:
        t = self.target
        if t.url is not None:
            return t.url.rstrip("/")
        assert t.service is not None  # the model requires one of the two
        service = self.client.get(path_of("Service", t.namespace, t.service.name)) or {}
        port = service_port(service, t.service.port) or {}
        if service.get("spec", {}).get("type") in ("NodePort", "LoadBalancer"):
            return f"http://{self._node_address()}:{int(port['nodePort'])}"
        if self._load_forward is None:
            self._load_forward = PortForward(
                namespace=t.namespace,
                target=f"svc/{t.service.name}",
                remote_port=int(port.get("port", 80)),
                context=self.context,
                kubeconfig=self.kubeconfig,
            )
            self._load_forward.start()
        return self._load_forward.url

    def _node_address(self) -> str:
        """Where this machine reaches a NodePort: the profile's node address, else the first
        node's ExternalIP, else its InternalIP."""
        if self.profile.node_address:
            return self.profile.node_address
        addresses = [a for n in self.client.list("/api/v1/nodes") for a in n["status"]["addresses"]]
        for kind in ("ExternalIP", "InternalIP"):
            found = [a["address"] for a in addresses if a.get("type") == kind]
            if found:
                return str(found[0])
        raise PlatformError(
            "no node of the cluster has an address to reach the NodePort on",
            hint="give spec.target.url (an Ingress or load balancer) instead of the Service",
        )

    @property
    def prometheus_url(self) -> str:
        ref = self.target.prometheus
        if self._forward is None:
            self._forward = PortForward(
                namespace=ref.namespace,
                target=f"svc/{ref.service}",
                remote_port=ref.port,
                context=self.context,
                kubeconfig=self.kubeconfig,
            )
            self._forward.start()
        return self._forward.url

    def fingerprint(self) -> dict[str, Any]:
        out = super().fingerprint()
        for key in ("adapter_image", "prometheus_version", "app_image"):
            out.pop(key, None)
        t = self.target
        out["target"] = f"{t.kind} {t.namespace}/{t.name}"
        out["hpa"] = f"{t.namespace}/{self.hpa_name}"
        if t.adapter_config_map is not None:
            ref = t.adapter_config_map
            out["adapter_config_map"] = f"{ref.namespace}/{ref.config_map}"
        return out

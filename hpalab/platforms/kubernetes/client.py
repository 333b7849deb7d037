"""A thin layer over the official ``kubernetes`` client: raw REST paths, server-side apply,
watch streams, and errors turned into hpalab errors.

Every request goes through the official client's connection pool and authorization header, so
the kubeconfig's authentication (tokens, client certificates, exec plugins) is the official
client's, while hpalab decides paths, query parameters, bodies and content types itself. Those
two parts of the client have kept their shape since kubernetes 29 (the generated
``ApiClient.call_api`` has not), so any client version from the pyproject floor up works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
import yaml

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.platforms.kubernetes.objects import FIELD_MANAGER, Obj

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


@dataclass(frozen=True, slots=True)
class Kind:
    """Where the API serves one kind: its plural and whether it lives in a namespace."""

    plural: str
    namespaced: bool


KINDS: dict[tuple[str, str], Kind] = {
    ("v1", "Namespace"): Kind("namespaces", False),
    ("v1", "ServiceAccount"): Kind("serviceaccounts", True),
    ("v1", "ConfigMap"): Kind("configmaps", True),
    ("v1", "Secret"): Kind("secrets", True),
    ("v1", "Service"): Kind("services", True),
    ("v1", "Endpoints"): Kind("endpoints", True),
    ("v1", "Pod"): Kind("pods", True),
    ("apps/v1", "Deployment"): Kind("deployments", True),
    ("apps/v1", "StatefulSet"): Kind("statefulsets", True),
    ("batch/v1", "Job"): Kind("jobs", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): Kind("horizontalpodautoscalers", True),
    ("policy/v1", "PodDisruptionBudget"): Kind("poddisruptionbudgets", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): Kind("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): Kind("clusterrolebindings", False),
    ("rbac.authorization.k8s.io/v1", "Role"): Kind("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): Kind("rolebindings", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): Kind(
        "customresourcedefinitions", False
    ),
    ("apiregistration.k8s.io/v1", "APIService"): Kind("apiservices", False),
    ("monitoring.coreos.com/v1", "Prometheus"): Kind("prometheuses", True),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): Kind("servicemonitors", True),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): Kind(
        "validatingwebhookconfigurations", False
    ),
    ("keda.sh/v1alpha1", "ScaledObject"): Kind("scaledobjects", True),
}


def collection_path(api_version: str, kind: str, namespace: str | None = None) -> str:
    """``/apis/apps/v1/namespaces/ns/deployments``; all namespaces when ``namespace`` is None."""
    info = KINDS.get((api_version, kind))
    if info is None:
        raise PlatformError(
            f"hpalab does not know where the API serves {kind} ({api_version})",
            hint="remove the object from the manifests directory or report it as a bug",
        )
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if info.namespaced and namespace:
        return f"{root}/namespaces/{quote(namespace)}/{info.plural}"
    return f"{root}/{info.plural}"


def object_path(body: Obj) -> str:
    """The URL path of one object, from its ``apiVersion``, ``kind`` and ``metadata``."""
    meta = body.get("metadata", {})
    info = KINDS.get((body.get("apiVersion", ""), body.get("kind", "")))
    namespace = meta.get("namespace") if info and info.namespaced else None
    if info and info.namespaced and not namespace:
        raise PlatformError(f"{body['kind']}/{meta.get('name')} has no namespace", hint="set one")
    base = collection_path(body["apiVersion"], body["kind"], namespace)
    return f"{base}/{quote(meta['name'])}"


def describe(body: Obj) -> str:
    """``Deployment hpalab/sampleapp``: how logs and errors name an object."""
    meta = body.get("metadata", {})
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{body.get('kind')} {where}{meta.get('name')}"


class ApiStatusError(PlatformError):
    """The API server answered with an error status."""

    def __init__(self, status: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


def load_api_client(*, context: str | None, config_file: str | Path | None = None) -> Any:
    """An ``ApiClient`` for the kubeconfig's ``context`` (its current context when ``None``).

    Raises:
        PrerequisiteError: no kubeconfig, or the context does not exist.
    """
    from kubernetes import config as kube_config
    from kubernetes.config.config_exception import ConfigException

    try:
        return kube_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(config_file) if config_file else None, context=context
        )
    except (ConfigException, OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise PrerequisiteError(
            f"cannot load the kubeconfig: {error}",
            hint="point KUBECONFIG at a cluster's kubeconfig (kind: `kind create cluster`) or "
            "pass --context; `hpalab up --dry-run` needs no cluster",
        ) from error


class KubeClient:
    """Raw REST calls with the official client's configuration and authentication."""

    def __init__(self, api_client: Any, *, timeout_s: float = 30.0) -> None:
        self.api = api_client
        self.timeout_s = timeout_s
        self._discovery: dict[str, Obj | None] = {}

    @property
    def server(self) -> str:
        """The API server URL from the kubeconfig."""
        return str(self.api.configuration.host)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout_s: float | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """One HTTP request; returns urllib3's response (``status``, ``headers``, ``data``).

        With ``stream`` the body is left unread, for the caller to ``stream()`` and then
        ``release_conn()``. Only the configuration's connection pool (TLS, client certificates,
        proxy) and its authorization header are used, which every client version since 29 has
        in the same shape, so no generated-code API is relied on.
        """
        config = self.api.configuration
        url = config.host + path + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type}
        headers["User-Agent"] = "hpalab"
        try:
            # auth_settings() runs the kubeconfig's refresh hook (exec plugins, expiring tokens).
            for auth in config.auth_settings().values():
                if auth.get("in") == "header" and auth.get("value"):
                    headers[auth["key"]] = auth["value"]
        except Exception as error:  # the refresh hook runs user-configured plugins
            raise PlatformError(
                f"cannot authenticate to the API server at {self.server}: {error}",
                hint="check the kubeconfig's user (exec plugin, token); "
                "`kubectl --context ... get ns` shows the same error",
            ) from error
        payload = json.dumps(body).encode() if body is not None else None
        read_timeout = timeout_s or self.timeout_s
        try:
            response: urllib3.BaseHTTPResponse = self.api.rest_client.pool_manager.request(
                method,
                url,
                body=payload,
                headers=headers,
                preload_content=not stream,
                timeout=urllib3.Timeout(connect=10.0, read=read_timeout),
                retries=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise PlatformError(
                f"cannot reach the API server at {self.server}: {error}",
                hint="check the cluster is running and `kubectl --context ... get ns` works",
            ) from error
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Obj | None:
        """A JSON request: the decoded body, ``None`` on 404, :class:`ApiStatusError` otherwise.

        Error bodies that are not JSON (the aggregator answers an unavailable APIService with a
        plain-text 503) become an :class:`ApiStatusError` carrying the text.
        """
        response = self.request(method, path, **kwargs)
        if response.status == 404:
            return None
        if response.status >= 400:
            raise status_error(response, f"{method} {path}")
        decoded = _json_body(response)
        if decoded is None:
            raise PlatformError(
                f"{method} {path}: HTTP {response.status} answered with "
                f"{response.headers.get('Content-Type') or 'no content type'}, not JSON: "
                f"{_excerpt(response.data)}",
                hint="something between hpalab and the API server (a proxy?) answered; "
                "check the kubeconfig's server URL",
            )
        return decoded

    def get(self, path: str, *, query: dict[str, str] | None = None) -> Obj | None:
        """GET one object or list; ``None`` when it does not exist."""
        return self.call("GET", path, query=query)

    def discovery(self, root: str) -> Obj | None:
        """The ``APIResourceList`` of ``root`` (``/api/v1``, ``/apis/apps/v1``), read once per
        client; ``None`` when the group version is not served."""
        if root not in self._discovery:
            self._discovery[root] = self.get(root)
        return self._discovery[root]

    def list(self, path: str, *, label_selector: str | None = None) -> list[Obj]:
        """The items of a list; a missing API group (404) lists as empty."""
        query = {"labelSelector": label_selector} if label_selector else None
        found = self.get(path, query=query)
        return list(found.get("items", [])) if found else []

    def apply(self, body: Obj) -> Obj:
        """Server-side apply of ``body`` with field manager ``hpalab``, taking over conflicting
        fields (``force``): hpalab is the owner of what it renders."""
        result = self.call(
            "PATCH",
            object_path(body),
            query={"fieldManager": FIELD_MANAGER, "force": "true"},
            body=body,
            content_type=APPLY_CONTENT_TYPE,
        )
        return result or {}

    def delete(self, path: str, *, propagation: str = "Background") -> bool:
        """Delete one object; ``False`` when it was already gone. ``propagation`` is the
        API's ``propagationPolicy``: ``Background`` returns at once, ``Foreground`` keeps the
        object until its dependents (ReplicaSets, pods) are gone."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        return self.call("DELETE", path, body=body) is not None

    def watch(
        self,
        path: str,
        *,
        resource_version: str | None = None,
        timeout_s: int = 300,
        label_selector: str | None = None,
    ) -> Iterator[Obj]:
        """The events of a watch (``{"type": ..., "object": ...}``), until the server ends it.

        Bookmarks are requested so a restarted watch resumes where it stopped.
        """
        query = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": str(timeout_s)}
        if resource_version:
            query["resourceVersion"] = resource_version
        if label_selector:
            query["labelSelector"] = label_selector
        # The server ends the stream after timeout_s; reads may wait that long between events.
        response = self.request("GET", path, query=query, timeout_s=timeout_s + 15, stream=True)
        try:
            if response.status >= 400:
                raise status_error(response, f"watch {path}")
            yield from _lines(response)
        except (ValueError, OSError, urllib3.exceptions.HTTPError) as error:
            raise PlatformError(f"watch {path} broke off: {error}", hint="it is resumed") from error
        finally:
            response.release_conn()


def _lines(raw: Any) -> Iterator[Obj]:
    """Newline-delimited JSON objects from a streamed response."""
    buffer = b""
    for chunk in raw.stream(4096, decode_content=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if buffer.strip():
        yield json.loads(buffer)


def _json_body(response: urllib3.BaseHTTPResponse) -> Obj | None:
    """The body decoded as JSON (``{}`` when empty); ``None`` when it is not JSON."""
    data = response.data
    if not data:
        return {}
    if "json" not in (response.headers.get("Content-Type") or "json"):
        return None
    try:
        decoded = json.loads(data)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _excerpt(data: bytes, limit: int = 200) -> str:
    text = data.decode(errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


def status_error(response: urllib3.BaseHTTPResponse, what: str) -> ApiStatusError:
    """The error for an HTTP error status: the API's ``Status`` message when the body is one,
    else the body's text (as the aggregator and proxies send it)."""
    decoded = _json_body(response)
    if decoded is not None:
        message = decoded.get("message") or f"HTTP {response.status}"
    else:
        message = f"HTTP {response.status} {_excerpt(response.data) or '(empty body)'}"
    return ApiStatusError(
        response.status, f"{what}: {message}", hint=_hint_for(response.status, message)
    )


def _hint_for(status: int, message: str = "") -> str:
    if status == 403 and "is being terminated" in message:
        return (
            "the namespace is still being deleted (Terminating) after a `hpalab down`; wait "
            "until `kubectl get ns NAME` says NotFound (`hpalab down` waits unless --no-wait)"
        )
    if status in (401, 403):
        return "the kubeconfig's user lacks permission; hpalab needs cluster-admin to install"
    if status == 503:
        return (
            "an aggregated API is unavailable (its APIService's backend is down); "
            "`kubectl get apiservice` shows which, `hpalab doctor --platform kubernetes` why"
        )
    if status == 409:
        return "another field manager owns the field; `hpalab down` and `up` again"
    if status == 422:
        return "the API server rejected the object; run `hpalab up --dry-run` and check it"
    return "see the message; `kubectl get events -A` may say more"
